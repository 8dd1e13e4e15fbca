"""Fixtures for device tests: simulated devices on loopback and a strict event loop."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason, StateChange
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.simulator.device import SimulatedDevice

DEV_ID = "bf0123456789abcdefgh"
KEY = "0123456789abcdef"
#: Every protocol version, plus 3.3 firmware of the device22 kind.
VERSIONS = ["3.1", "3.2", "3.3", "3.3-device22", "3.4", "3.5"]
#: A slow callback (over this many seconds) fails the test: nothing may block the loop.
SLOW_CALLBACK = 0.05


class _SlowCallbacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # The rule is about the library's callbacks. A test body's own step (say, creating 200
        # tasks at once, each with a debug-mode traceback) is the test's cost, not ours.
        if message.startswith("Executing") and "coro=<test_" not in message:
            self.records.append(message)


@pytest.fixture(autouse=True)
async def strict_loop() -> AsyncIterator[None]:
    """Asyncio debug mode, slow callbacks fail the test, and no task may outlive it."""
    # A full collection of the test process's heap (hypothesis, tinytuya, fixtures) can take
    # tens of milliseconds; freezing what exists now keeps GC pauses out of the measurement.
    gc.collect()
    gc.freeze()
    loop = asyncio.get_running_loop()
    loop.set_debug(True)
    loop.slow_callback_duration = SLOW_CALLBACK
    handler = _SlowCallbacks()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        gc.unfreeze()
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not leftover, f"tasks left running: {leftover}"
    assert not handler.records, f"slow callbacks: {handler.records}"


def port_of(sim: SimulatedDevice) -> int:
    """The port a started simulated device listens on."""
    assert sim.port is not None, "the simulated device was never started"
    return sim.port


def next_state(
    dev: DeviceAsync, state: ConnectionState, reason: DisconnectReason | None = None
) -> asyncio.Future[StateChange]:
    """Resolved by the next change to ``state`` (with ``reason``, if given) that ``dev`` reports."""
    future: asyncio.Future[StateChange] = asyncio.get_running_loop().create_future()

    def listener(change: StateChange) -> None:
        if change.state is state and (reason is None or change.reason is reason) and not future.done():
            future.set_result(change)

    remove = dev.add_state_listener(listener)
    future.add_done_callback(lambda _: remove())
    return future


def split_version(version: str) -> tuple[str, bool]:
    """``"3.3-device22"`` -> ``("3.3", True)``."""
    number, _, kind = version.partition("-")
    return number, kind == "device22"


SimFactory = Callable[..., Awaitable[SimulatedDevice]]
DeviceFactory = Callable[..., DeviceAsync]


@pytest.fixture
async def simulate() -> AsyncIterator[SimFactory]:
    """Start simulated devices on 127.0.0.1 (ephemeral ports); all stopped at teardown."""
    started: list[SimulatedDevice] = []

    async def make(version: str = "3.3", **kwargs: Any) -> SimulatedDevice:
        number, device22 = split_version(version)
        kwargs.setdefault("dps", {"1": False, "2": 50, "3": "auto"})
        kwargs.setdefault("clock", lambda: 1_700_000_000.0)
        sim = SimulatedDevice(
            kwargs.pop("dev_id", DEV_ID),
            kwargs.pop("key", KEY),
            version=number,
            device22=device22 or kwargs.pop("device22", False),
            **kwargs,
        )
        await sim.start(host="127.0.0.1", port=0)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()


@pytest.fixture
async def connect_to() -> AsyncIterator[DeviceFactory]:
    """Build DeviceAsync objects for simulated devices; all closed at teardown."""
    made: list[DeviceAsync] = []

    def make(sim: SimulatedDevice, cls: type[DeviceAsync] = DeviceAsync, **kwargs: Any) -> DeviceAsync:
        kwargs.setdefault("connection_timeout", 2)
        kwargs.setdefault("connection_retry_limit", 1)
        kwargs.setdefault("connection_retry_delay", 0)
        number, _ = split_version(sim.version)
        device = cls(
            kwargs.pop("dev_id", sim.dev_id),
            "127.0.0.1",
            kwargs.pop("local_key", sim.local_key),
            version=kwargs.pop("version", number),
            port=port_of(sim),
            **kwargs,
        )
        made.append(device)
        return device

    yield make
    for device in made:
        await device.close()
