"""Fixtures for the simulator tests: started devices that are always stopped, leak checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tinytuya_asyncio.simulator import SimulatedDevice

from .helpers import DEV22_ID, DEV_ID, KEY

DeviceFactory = Callable[..., Any]


@pytest.fixture
async def make_device() -> AsyncIterator[DeviceFactory]:
    """Start simulated devices on 127.0.0.1 (ephemeral ports); all are stopped afterwards,
    and the test fails if a task of the simulator is left behind."""
    started: list[SimulatedDevice] = []

    async def factory(version: float | str = 3.3, **kwargs: Any) -> SimulatedDevice:
        kwargs.setdefault("dps", {"1": False, "2": 0})
        dev_id = kwargs.pop("dev_id", DEV22_ID if kwargs.get("device22") else DEV_ID)
        dev = SimulatedDevice(dev_id, kwargs.pop("key", KEY), version=version, **kwargs)
        await dev.start(host="127.0.0.1", port=0)
        started.append(dev)
        return dev

    yield factory
    for dev in started:
        await dev.stop()
    current = asyncio.current_task()
    assert {t for t in asyncio.all_tasks() if t is not current and not t.done()} == set()
