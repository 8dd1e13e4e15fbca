"""Run the same calls on tinytuya's sync class and on ours, against twin simulated devices.

A scenario is a list of :class:`Call`. The sync class runs it in a thread (it blocks), ours
on the loop; each side talks to its own simulated device, built from the same data points
and clock. :func:`compare` then asserts what each call returned (or which exception it
raised), the requests each device received, and the devices' final data points.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.devices.conftest import DEV_ID, KEY, port_of, split_version
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.simulator import SimulatedDevice

#: Sync replies that never come (an ack-only write on a persistent socket) cost this long.
TIMEOUT = 0.5


@dataclass(frozen=True)
class Call:
    """One method call with its arguments, made the same way on both classes."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        given = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.name}({', '.join(given)})"


def call(name: str, *args: Any, **kwargs: Any) -> Call:
    return Call(name, args, kwargs)


@dataclass(frozen=True)
class Raised:
    """The outcome of a call that raised: compared by exception type only."""

    kind: type[BaseException]


Outcome = Any  # the returned value, or Raised


def sent(sim: SimulatedDevice) -> list[tuple[int, Any]]:
    """What a device received, with the clock's ``t`` fields removed."""
    out: list[tuple[int, Any]] = []
    for cmd, body in sim.stats.received:
        parsed = json.loads(body) if body else None
        if isinstance(parsed, dict):
            parsed.pop("t", None)
            if isinstance(parsed.get("data"), dict):
                parsed["data"].pop("t", None)
        out.append((cmd, parsed))
    return out


def _options(sim: SimulatedDevice, persist: bool) -> dict[str, Any]:
    number, _ = split_version(sim.version)
    return {
        "version": number,
        "port": port_of(sim),
        "persist": persist,
        "connection_timeout": TIMEOUT,
        "connection_retry_limit": 1,
        "connection_retry_delay": 0,
    }


def run_sync(
    cls: Callable[..., Any],
    sim: SimulatedDevice,
    calls: Sequence[Call],
    *,
    persist: bool,
    inspect: Callable[[Any], Any] = lambda dev: None,
) -> tuple[list[Outcome], Any]:
    """Run ``calls`` on tinytuya's ``cls`` (blocking: call it in a thread); then ``inspect(dev)``."""
    options = _options(sim, persist)
    options["version"] = float(options["version"])
    dev = cls(DEV_ID, "127.0.0.1", KEY, **options)
    outcomes: list[Outcome] = []
    try:
        for step in calls:
            try:
                outcomes.append(getattr(dev, step.name)(*step.args, **step.kwargs))
            except Exception as exc:
                outcomes.append(Raised(type(exc)))
        return outcomes, inspect(dev)
    finally:
        dev.close()


async def run_async(
    cls: type[DeviceAsync],
    sim: SimulatedDevice,
    calls: Sequence[Call],
    *,
    persist: bool,
    inspect: Callable[[Any], Any] = lambda dev: None,
) -> tuple[list[Outcome], Any]:
    """Run ``calls`` on our ``cls``, awaiting what is awaitable; then ``inspect(dev)``."""
    # tinytuya sends no heartbeat on its own.
    dev = cls(DEV_ID, "127.0.0.1", KEY, heartbeat_interval=None, **_options(sim, persist))
    outcomes: list[Outcome] = []
    try:
        for step in calls:
            try:
                result = getattr(dev, step.name)(*step.args, **step.kwargs)
                outcomes.append(await result if asyncio.iscoroutine(result) else result)
            except Exception as exc:
                outcomes.append(Raised(type(exc)))
        return outcomes, inspect(dev)
    finally:
        await dev.close()


async def run_twins(
    sync_cls: Callable[..., Any],
    async_cls: type[DeviceAsync],
    twins: tuple[SimulatedDevice, SimulatedDevice],
    calls: Sequence[Call],
    *,
    persist: bool,
    inspect: Callable[[Any], Any] = lambda dev: None,
) -> tuple[tuple[list[Outcome], Any], tuple[list[Outcome], Any]]:
    """Both runs, sync first (on the first twin), then ours (on the second)."""
    expected = await asyncio.to_thread(run_sync, sync_cls, twins[0], calls, persist=persist, inspect=inspect)
    actual = await run_async(async_cls, twins[1], calls, persist=persist, inspect=inspect)
    return expected, actual


def compare(
    calls: Sequence[Call],
    expected: Sequence[Outcome],
    actual: Sequence[Outcome],
    twins: tuple[SimulatedDevice, SimulatedDevice],
) -> None:
    """Same outcome for every call, same requests received, same data points in the end."""
    for step, want, got in zip(calls, expected, actual, strict=True):
        assert got == want, f"{step}: sync gave {want!r}, async gave {got!r}"
    sync_twin, async_twin = twins
    assert sent(async_twin) == sent(sync_twin)
    assert async_twin.dps == sync_twin.dps
