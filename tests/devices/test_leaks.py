"""After close(), nothing of ours is left: no task, no socket, no timer (checked, not assumed)."""

from __future__ import annotations

import asyncio
import contextlib
import os

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory
from tests.loops import live_timers
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.state import ConnectionState


def _open_sockets() -> int:
    """Sockets this process holds (loops may open other descriptors of their own lazily)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed while we looked
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def _other_tasks() -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count sockets")
@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_nothing_left_after_close(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    before = _open_sockets()
    sim = await simulate(version)
    dev = connect_to(
        sim,
        persist=True,
        connection_timeout=0.2,
        heartbeat_interval=0.02,
        backoff=Backoff(floor=0.01, cap=0.02),
    )
    assert await dev.status() is not None
    stream = dev.updates()
    await sim.push({"1": True})
    assert (await anext(stream)).changed == {"1": True}
    reconnected = asyncio.get_running_loop().create_future()
    dev.add_state_listener(
        lambda c: (
            reconnected.set_result(None)
            if c.state is ConnectionState.CONNECTED and not reconnected.done()
            else None
        )
    )
    await sim.stop()
    await sim.start()  # the supervisor and its timers are busy now
    async with asyncio.timeout(5):
        await reconnected
    assert live_timers()  # heartbeat timer armed: the check below can see timers
    sim.faults.silent = True
    assert (await dev.status(nowait=False) or {}).get("Err") is not None

    await dev.close()
    await dev.close()
    await sim.stop()
    assert dev.state is ConnectionState.CLOSED
    assert not live_timers()
    assert not _other_tasks()
    assert _open_sockets() == before
