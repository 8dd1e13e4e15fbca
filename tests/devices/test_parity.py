"""The async classes return what tinytuya's sync classes return, and send the same JSON.

Each scenario runs through ``tinytuya.Device`` (in a thread) against one simulated device
and through ``DeviceAsync`` against an identical twin (same state, same clock), then the
results and the requests each device received are compared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import tinytuya

from tests.devices.conftest import DEV_ID, KEY, VERSIONS, SimFactory, port_of, split_version
from tests.devices.parity import sent
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.simulator import SimulatedDevice

TIMEOUT = 0.5  # heartbeat(nowait=False) and product() wait this long in tinytuya

#: (name, sync call, async call): the same method with the same arguments.
Step = tuple[str, Callable[[Any], Any], Callable[[DeviceAsync], Awaitable[Any]]]


def _step(name: str, *args: Any, **kwargs: Any) -> Step:
    return (
        f"{name}{args}{kwargs}",
        lambda dev: getattr(dev, name)(*args, **kwargs),
        lambda dev: getattr(dev, name)(*args, **kwargs),
    )


SCENARIO: list[Step] = [
    _step("status"),
    _step("set_value", 2, 77),
    _step("turn_on"),
    _step("turn_off", 1),
    _step("set_status", True, 1),
    _step("set_multiple_values", {"1": False, "3": "eco"}),
    _step("updatedps", [2]),
    _step("set_timer", 30),
    _step("heartbeat"),
    _step("heartbeat", nowait=False),
    _step("detect_available_dps"),
    _step("status"),
    _step("product"),
    # Last: on a persistent socket tinytuya leaves these replies unread, and its next
    # request would return them (see test_nowait_replies_are_not_returned_later).
    _step("set_value", 3, "auto", nowait=True),
    _step("status", nowait=True),
]


def _run_sync(sim: SimulatedDevice, persist: bool) -> list[Any]:
    number, _ = split_version(sim.version)
    dev = tinytuya.Device(
        DEV_ID,
        "127.0.0.1",
        KEY,
        version=float(number),
        port=port_of(sim),
        persist=persist,
        connection_timeout=TIMEOUT,
        connection_retry_limit=1,
        connection_retry_delay=0,
    )
    try:
        return [call(dev) for _, call, _ in SCENARIO]
    finally:
        dev.close()


async def _run_async(sim: SimulatedDevice, persist: bool) -> list[Any]:
    number, _ = split_version(sim.version)
    dev = DeviceAsync(
        DEV_ID,
        "127.0.0.1",
        KEY,
        version=number,
        port=port_of(sim),
        persist=persist,
        connection_timeout=TIMEOUT,
        connection_retry_limit=1,
        connection_retry_delay=0,
        heartbeat_interval=None,  # tinytuya sends none on its own
    )
    try:
        return [await call(dev) for _, _, call in SCENARIO]
    finally:
        await dev.close()


@pytest.mark.parametrize("persist", [False, True])
@pytest.mark.parametrize("version", VERSIONS)
async def test_same_results_and_same_requests_as_tinytuya(
    version: str, persist: bool, simulate: SimFactory
) -> None:
    sync_twin = await simulate(version, push_on_control=True)
    async_twin = await simulate(version, push_on_control=True)

    expected = await asyncio.to_thread(_run_sync, sync_twin, persist)
    actual = await _run_async(async_twin, persist)

    for (name, _, _), want, got in zip(SCENARIO, expected, actual, strict=True):
        assert got == want, f"{name}: sync returned {want!r}, async returned {got!r}"
    assert async_twin.dps == sync_twin.dps
    assert sent(async_twin) == sent(sync_twin)


async def test_nowait_replies_are_not_returned_later(simulate: SimFactory) -> None:
    """A deliberate difference: tinytuya answers the next request with a reply left unread."""
    sync_twin = await simulate("3.3")
    async_twin = await simulate("3.3")

    def sync_calls() -> list[Any]:
        dev = tinytuya.Device(DEV_ID, "127.0.0.1", KEY, version=3.3, port=port_of(sync_twin), persist=True)
        dev.set_socketTimeout(TIMEOUT)
        try:
            return [dev.status(nowait=True), dev.heartbeat(nowait=False)]
        finally:
            dev.close()

    stale = await asyncio.to_thread(sync_calls)
    assert stale[1] is not None
    assert "dps" in stale[1]  # the status reply, for a heartbeat

    async with DeviceAsync(
        DEV_ID,
        "127.0.0.1",
        KEY,
        version=3.3,
        port=port_of(async_twin),
        persist=True,
        connection_timeout=TIMEOUT,
    ) as dev:
        assert await dev.status(nowait=True) is None
        assert await dev.heartbeat(nowait=False) is None  # its own (empty) answer
