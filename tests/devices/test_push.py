"""Push updates: callbacks, ``async for`` streams, overflow, receive(), and pushes mid-request."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tests.devices.conftest import VERSIONS, DeviceFactory, SimFactory
from tinytuya_asyncio.devices import DeviceUpdate
from tinytuya_asyncio.devices.updates import UPDATE_FIELDS, new_update
from tinytuya_asyncio.metrics import CounterSink


@pytest.mark.parametrize("version", VERSIONS)
async def test_subscribe_receives_pushes_until_unsubscribed(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    seen: list[DeviceUpdate] = []
    arrived = asyncio.Event()

    def on_update(update: DeviceUpdate) -> None:
        seen.append(update)
        arrived.set()

    unsubscribe = dev.subscribe(on_update)
    await dev.connect()
    await sim.wait_for_clients(1)
    assert await sim.push({"1": True, "2": 51}) == 1
    async with asyncio.timeout(5):
        await arrived.wait()
    (update,) = seen
    assert update.device_id == dev.id
    assert update.cid is None
    assert update.pushed
    assert update.changed == {"1": True, "2": 51}
    assert update.dps["1"] is True
    assert update.result["dps"] == {"1": True, "2": 51}

    unsubscribe()
    stream = dev.updates()
    await sim.push({"2": 52})
    async with asyncio.timeout(5):
        assert (await anext(stream)).changed == {"2": 52}
    assert len(seen) == 1  # the callback was not called again


async def test_updates_report_replies_that_change_state(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.4")
    dev = connect_to(sim, persist=True)
    stream = dev.updates()
    await dev.status()  # first sight of every DP: all of them "changed"
    first = await anext(stream)
    assert not first.pushed
    assert first.changed == sim.dps
    await dev.status()  # nothing new: no update
    await dev.set_value(2, 3)  # the STATUS push answering it is an update
    second = await anext(stream)
    assert second.changed == {"2": 3}
    assert stream.pending == 0


async def test_streams_end_when_the_device_closes(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    await dev.connect()
    stream = dev.updates()  # registered now, so nothing pushed from here on is missed
    received: list[dict[str, object]] = []

    async def consume() -> None:
        async for update in stream:
            received.append(update.changed)
            if len(received) == 2:
                await dev.close()

    consumer = asyncio.create_task(consume())
    await sim.wait_for_clients(1)
    await sim.push({"1": True})
    await sim.push({"1": False})
    async with asyncio.timeout(5):
        await consumer  # the loop ended by itself once the device closed
    assert received == [{"1": True}, {"1": False}]


async def test_slow_consumer_overflow_is_reported_not_blocking(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.5")
    sink = CounterSink()
    dev = connect_to(sim, persist=True, metrics=sink)
    await dev.status()  # every DP known: the status below changes nothing
    stream = dev.updates(maxsize=2)
    last = dev.updates(maxsize=100)
    await sim.wait_for_clients(1)
    for value in range(1, 6):
        await sim.push({"2": value})
    async with asyncio.timeout(5):
        while (await anext(last)).changed != {"2": 5}:
            pass
    # The reader never waited for the slow stream: a request still goes through.
    assert (await dev.status())["dps"]["2"] == 5  # type: ignore[index]
    kept = [await anext(stream), await anext(stream)]
    assert [u.changed["2"] for u in kept] == [4, 5]
    assert kept[0].dropped == 3
    assert kept[1].dropped == 0
    assert sink.counts["update_dropped"] == 3


@pytest.mark.parametrize("version", VERSIONS)
async def test_receive_returns_pushes_like_sync(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True, connection_timeout=0.2)
    assert await dev.receive() is None  # nothing pushed within connection_timeout
    await sim.wait_for_clients(1)
    await sim.push({"1": True})
    pushed = await dev.receive()
    assert pushed is not None
    assert pushed["dps"] == {"1": True}


async def test_receive_without_persist_opens_and_closes(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, connection_timeout=0.2)
    assert await dev.receive() is None
    await sim.wait_for_clients(0)
    assert not dev._link.connected


@pytest.mark.parametrize("version", VERSIONS)
async def test_push_during_a_request_is_not_taken_for_its_reply(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    if version == "3.3-device22":
        await dev.detect_available_dps()
    await dev.connect()
    await sim.wait_for_clients(1)
    pushes: list[DeviceUpdate] = []
    dev.subscribe(pushes.append)
    # The status request is written first; the device writes its push before reading it.
    status, reached = await asyncio.gather(dev.status(), sim.push({"3": "eco"}))
    assert reached == 1
    assert status is not None
    assert status["dps"] == sim.dps  # the full reply, not the one-DP push
    assert [p.changed for p in pushes if p.pushed] == [{"3": "eco"}]


@pytest.mark.parametrize("version", VERSIONS)
async def test_two_tasks_share_one_device(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    if version in ("3.2", "3.3-device22"):
        await dev.detect_available_dps()  # or the first status() probes DPs first
    status, changed, again = await asyncio.gather(dev.status(), dev.set_value(2, 66), dev.status())
    assert status is not None
    assert changed is not None
    assert again is not None
    assert changed["dps"] == {"2": 66}
    assert status["dps"]["2"] == 50
    assert again["dps"]["2"] == 66
    assert sim.stats.connections == 1


def test_the_cheap_update_factory_makes_what_the_class_would() -> None:
    assert tuple(f.name for f in dataclasses.fields(DeviceUpdate)) == UPDATE_FIELDS
    dps = {"1": True}
    made = new_update("bf01", "c1", {"1": True}, dps, {"dps": dps}, pushed=False)
    assert made == DeviceUpdate("bf01", "c1", {"1": True}, dps, {"dps": dps}, pushed=False, dropped=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.dropped = 1  # type: ignore[misc]
