"""Rate limits and backpressure, checked on what the device received and when.

``min_interval`` spaces the commands a device receives; ``max_waiting`` bounds the requests
queued for it, and a caller beyond the bound gets tinytuya's 902 at its deadline without
its request ever reaching the device. Each test fails when the limit is taken out.
"""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory
from tests.devices.test_faults import bounded, err
from tests.metrics.recording import RecordingSink
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.simulator import SimulatedDevice

#: The device records arrivals on the loop's clock, so each carries the loop's latency
#: between a write and its delivery (well under a millisecond on loopback); this much is
#: allowed for it, against an interval a hundred times larger.
ARRIVAL_SLACK = 0.01


def _spacing(sim: SimulatedDevice) -> list[float]:
    return [later - earlier for earlier, later in pairwise(sim.stats.received_at)]


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_min_interval_spaces_every_command_the_device_receives(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    interval = 0.15
    sim = await simulate(version)
    dev = connect_to(sim, persist=True, min_interval=interval)
    assert dev.min_interval == interval
    results = await bounded(
        asyncio.gather(dev.status(), dev.set_value(1, True), dev.status(), dev.turn_off(nowait=True))
    )
    assert [err(r) for r in results] == [None, None, None, None]
    await sim.wait_for_requests(tuya.CONTROL if version == "3.3" else tuya.CONTROL_NEW, 2)
    gaps = _spacing(sim)
    assert len(gaps) == 3
    assert min(gaps) >= interval - ARRIVAL_SLACK, gaps


async def test_min_interval_holds_across_a_reconnect(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    interval = 0.15
    sim = await simulate("3.4")
    dev = connect_to(sim, min_interval=interval)  # not persistent: a connection per request
    for _ in range(3):
        assert err(await bounded(dev.status())) is None
    gaps = _spacing(sim)
    assert len(gaps) == 2
    assert min(gaps) >= interval - ARRIVAL_SLACK, gaps


async def test_no_interval_by_default_on_a_device(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    assert dev.min_interval == 0
    assert dev.max_waiting is None
    await bounded(asyncio.gather(*(dev.status() for _ in range(5))))
    assert len(sim.stats.received_at) == 5  # tinytuya's behaviour: as fast as the device answers


async def test_callers_beyond_max_waiting_get_902_at_their_deadline_and_never_reach_the_device(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.3")
    sim.faults.silent = True  # the first request holds the device for all its retries
    timeout = 0.2
    dev = connect_to(sim, connection_timeout=timeout, connection_retry_limit=4, max_waiting=1)
    holder = asyncio.create_task(dev.status())
    await sim.wait_for_requests(tuya.DP_QUERY, 1)
    queued = asyncio.create_task(dev.status())
    await asyncio.sleep(0)
    beyond = [asyncio.create_task(dev.status()) for _ in range(3)]
    rejected = await bounded(asyncio.gather(*beyond))
    assert not holder.done()  # they failed at their own deadline, not the holder's
    for result in rejected:
        assert result is not None
        assert err(result) == str(tuya.ERR_TIMEOUT)
        assert "busy" in result["Payload"]
    sim.faults.clear()
    results = await bounded(asyncio.gather(holder, queued))
    assert [err(r) for r in results] == [None, None]
    requests = [cmd for cmd, _ in sim.stats.received if cmd == tuya.DP_QUERY]
    assert len(requests) <= 4 + 1  # the holder's attempts and the queued one: none of the rejected


async def test_a_caller_beyond_max_waiting_waits_for_a_place_when_one_comes_in_time(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.3")
    sim.faults.reply_delay = 0.05
    dev = connect_to(sim, persist=True, connection_timeout=5, max_waiting=1)
    results = await bounded(asyncio.gather(*(dev.status() for _ in range(6))))
    assert [err(r) for r in results] == [None] * 6  # backpressure: they waited, none failed
    assert sim.stats.requests[tuya.DP_QUERY] == 6


async def test_limits_can_change_at_run_time_and_belong_to_the_gateway(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.3")
    gateway = connect_to(sim)
    child = type(gateway)("child0000000000000001", cid="c1", parent=gateway)
    gateway.min_interval = 0.5
    gateway.max_waiting = 3
    assert (child.min_interval, child.max_waiting) == (0.5, 3)
    with pytest.raises(LocalProtocolError, match="gateway"):
        child.min_interval = 0
    with pytest.raises(ValueError, match="negative"):
        gateway.min_interval = -1
    with pytest.raises(ValueError, match="negative"):
        gateway.max_waiting = -1


async def test_close_interrupts_a_wait_between_commands(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.3")
    events = RecordingSink()
    dev = connect_to(sim, persist=True, min_interval=30, metrics=events)
    assert err(await bounded(dev.status())) is None
    waiting = asyncio.create_task(dev.status())  # its turn is 30 s away
    await events.wait_for("rate_limited")
    await bounded(dev.close())
    result = await bounded(waiting)
    assert result is not None
    assert err(result) == str(tuya.ERR_PAYLOAD)
    assert "link closed while waiting between commands" in result["Payload"]
    assert len(sim.stats.received_at) == 1  # the second status never reached the device
