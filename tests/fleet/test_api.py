"""The Fleet's API piece by piece: objects of any class, limits on by default, the merged
stream's overflow, failures kept per device, removal undoing what the fleet attached."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.metrics.recording import RecordingSink
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import DeviceAsync, XenonDeviceAsync
from tinytuya_asyncio.fleet import DEFAULT_MAX_WAITING, DEFAULT_MIN_INTERVAL, Fleet, devices_from
from tinytuya_asyncio.scanner import DevicesFileError
from tinytuya_asyncio.simulator import SimulatedDevice, Simulator

DEVICE_OPTIONS: dict[str, Any] = {
    "connection_timeout": 1.0,
    "connection_retry_limit": 1,
    "connection_retry_delay": 0,
}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(seed=5) as simulator:
        await simulator.add_many(4, versions="3.3,3.5")
        await simulator.add_gateway(children=2, version="3.3")
        yield simulator


def _device(simulated: SimulatedDevice, cls: type[XenonDeviceAsync] = DeviceAsync) -> XenonDeviceAsync:
    return cls(
        simulated.dev_id,
        "127.0.0.1",
        simulated.local_key,
        version=simulated.version,
        port=simulated.port or 0,
        persist=True,
        **DEVICE_OPTIONS,
    )


def err(result: object) -> str | None:
    return result.get("Err") if isinstance(result, dict) else None


async def test_objects_of_any_class_with_gateway_children(sim: Simulator) -> None:
    plain = _device(sim.devices[0], XenonDeviceAsync)  # no turn_on(): an error dict, not a crash
    devices = [plain, *(_device(s) for s in sim.devices[1:4])]
    gateway = _device(sim.devices[4])
    child_ids = list(sim.devices[4].state.children)
    children = [DeviceAsync(f"child{n:015d}", cid=cid, parent=gateway) for n, cid in enumerate(child_ids)]
    async with Fleet([*devices, gateway, *children], min_interval=0) as fleet:
        assert all(state.state is ConnectionState.CONNECTED for state in fleet.states().values())
        results = await fleet.turn_on()
        assert err(results[plain.id]) == str(tuya.ERR_FUNCTION)
        assert all(err(results[d.id]) is None for d in [*devices[1:], gateway, *children])
        assert all(dps["1"] is True for dps in sim.devices[4].state.children.values())
    assert all(d.connection_state is ConnectionState.CLOSED for d in [*devices, gateway])


async def test_limits_are_on_by_default_and_space_what_the_device_receives(sim: Simulator) -> None:
    simulated = sim.devices[0]
    device = _device(simulated)
    assert (device.min_interval, device.max_waiting) == (0, None)  # a device alone: tinytuya's
    async with Fleet([device]) as fleet:
        assert (device.min_interval, device.max_waiting) == (DEFAULT_MIN_INTERVAL, DEFAULT_MAX_WAITING)
        await fleet.status()
        await fleet.status()
    arrivals = list(simulated.stats.received_at)
    assert len(arrivals) == 2
    assert arrivals[1] - arrivals[0] >= DEFAULT_MIN_INTERVAL - 0.01  # the loop's latency at most


async def test_the_merged_stream_reports_what_a_slow_consumer_lost(sim: Simulator) -> None:
    events = RecordingSink()
    devices = [_device(s) for s in sim.devices[:2]]
    async with Fleet(devices, metrics=events, min_interval=0) as fleet:
        stream = fleet.updates(maxsize=2)
        pushes = 0
        for n in range(3):
            for simulated in sim.devices[:2]:
                await simulated.push({"19": n})
                pushes += 1
                await events.wait_for("push", pushes)  # one at a time: arrivals in this order
        first = await anext(stream)
        assert first.dropped == 4  # four were dropped before the oldest still queued
        assert (first.device_id, first.changed) == (sim.devices[0].dev_id, {"19": 2})
        second = await anext(stream)
        assert (second.device_id, second.dropped) == (sim.devices[1].dev_id, 0)
    assert not events.problems, events.problems
    dropped = [e for e in events.named("update_dropped") if e["source"] == "fleet"]
    assert [e["device"] for e in dropped] == [sim.devices[0].dev_id, sim.devices[1].dev_id] * 2
    assert await anext(stream, None) is None  # closed with the fleet


async def test_the_merged_stream_holds_what_a_stream_per_device_would(sim: Simulator) -> None:
    events = RecordingSink()
    devices = [_device(s) for s in sim.devices[:2]]
    async with Fleet(devices, metrics=events, min_interval=0) as fleet:
        stream = fleet.updates()  # 100 per device: 200 here
        for n in range(150):  # more than one device's worth, all unread
            await sim.devices[n % 2].push({"19": n})
        await events.wait_for("push", 150)
        first = await anext(stream)
        assert (first.dropped, first.changed) == (0, {"19": 0})
        stream.close()
    assert not events.named("update_dropped")


async def test_a_counting_fleet_counts_its_streams_drops(sim: Simulator) -> None:
    events = RecordingSink()
    async with Fleet([_device(sim.devices[0])], counters=True, metrics=events, min_interval=0) as fleet:
        stream = fleet.updates(maxsize=1)
        for n in range(3):
            await sim.devices[0].push({"19": n})
            await events.wait_for("push", n + 1)
        assert fleet.counters is not None
        assert fleet.counters.device(sim.devices[0].dev_id).dropped == 2
        stream.close()


async def test_one_failure_never_loses_the_others(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    devices = [_device(s) for s in sim.devices[:3]]
    broken = devices[1].id

    async def flaky(device: XenonDeviceAsync) -> object:
        if device.id == broken:
            raise RuntimeError("a bug in the application's callback")
        return await device.status()

    async with Fleet(devices, min_interval=0) as fleet:
        with caplog.at_level(logging.ERROR, logger="tinytuya_asyncio.fleet"):
            results = await fleet.run(flaky, ids=[*fleet.ids, "bf00notinthefleet000"])
        assert err(results[broken]) == str(tuya.ERR_STATE)
        assert "a bug" in results[broken]["Payload"]
        assert err(results["bf00notinthefleet000"]) == str(tuya.ERR_PARAMS)
        assert [err(results[d.id]) for d in devices if d.id != broken] == [None, None]
        assert any("fleet operation failed" in r.getMessage() for r in caplog.records)


async def test_an_operation_that_ends_cancelled_on_its_own_is_one_devices_failure(sim: Simulator) -> None:
    devices = [_device(s) for s in sim.devices[:3]]

    async def op(device: XenonDeviceAsync) -> object:
        if device is devices[0]:
            gone = asyncio.create_task(asyncio.sleep(10))
            gone.cancel()
            await gone  # something the operation awaited was cancelled elsewhere
        return "ok"

    fleet = Fleet(devices, min_interval=0, concurrency=1)
    results = await fleet.run(op)
    assert err(results[devices[0].id]) == str(tuya.ERR_STATE)
    assert [results[d.id] for d in devices[1:]] == ["ok", "ok"]  # the worker went on


async def test_an_operation_may_call_its_fleet_without_waiting_for_its_own_slot(sim: Simulator) -> None:
    devices = [_device(s) for s in sim.devices[:3]]
    async with Fleet(devices, min_interval=0, concurrency=1) as fleet:

        async def op(device: XenonDeviceAsync) -> object:
            if device is devices[0]:
                await fleet.remove(devices[2].id)  # "drop the device that misbehaves"
                assert (await fleet.status(ids=[devices[1].id]))[devices[1].id]["dps"]
            return "ok"

        async with asyncio.timeout(10):  # a deadlock would hang here
            results = await fleet.run(op)
    assert results[devices[0].id] == results[devices[1].id] == "ok"
    assert err(results[devices[2].id]) == str(tuya.ERR_PARAMS)  # removed before its turn
    assert devices[2].connection_state is ConnectionState.CLOSED


async def test_devices_removed_or_closed_during_a_run_are_left_alone(sim: Simulator) -> None:
    devices = [_device(s) for s in sim.devices[:3]]
    first_running, release = asyncio.Event(), asyncio.Event()

    async def op(device: XenonDeviceAsync) -> object:
        if device is devices[0]:
            first_running.set()
            await release.wait()
        return await device.status()

    fleet = Fleet(devices, min_interval=0, concurrency=1)
    run = asyncio.create_task(fleet.run(op))
    await first_running.wait()
    await fleet.remove(devices[1].id)  # its turn has not come: it must not be reopened
    closing = asyncio.create_task(fleet.close())  # waits for the run's one slot
    release.set()
    results = await run
    await closing
    assert err(results[devices[1].id]) == str(tuya.ERR_PARAMS)
    assert err(results[devices[2].id]) == str(tuya.ERR_PAYLOAD)  # the fleet closed first
    assert "the fleet was closed" in results[devices[2].id]["Payload"]
    assert [d.connection_state for d in devices] == [ConnectionState.CLOSED] * 3
    assert not any(d._link.reconnecting for d in devices)


async def test_a_raising_state_listener_does_not_silence_the_others(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    heard: list[str] = []

    def broken(dev_id: str, change: object) -> None:
        raise RuntimeError("a bug in the application's listener")

    async with Fleet([_device(sim.devices[0])], min_interval=0) as fleet:
        fleet.add_state_listener(broken)
        fleet.add_state_listener(lambda dev_id, change: heard.append(dev_id))
        with caplog.at_level(logging.ERROR, logger="tinytuya_asyncio.fleet"):
            await fleet.close()
    assert heard == [sim.devices[0].dev_id]
    assert any("state listener failed" in r.getMessage() for r in caplog.records)


async def test_a_cancelled_operation_leaves_no_worker_behind(sim: Simulator) -> None:
    simulated = sim.devices[0]
    simulated.faults.reply_delay = 5
    async with Fleet([_device(simulated)], min_interval=0) as fleet:
        task = asyncio.create_task(fleet.status())
        await simulated.wait_for_requests(tuya.DP_QUERY if simulated.version == "3.3" else tuya.DP_QUERY_NEW)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        simulated.faults.clear()
    assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]


async def test_removal_undoes_what_the_fleet_attached(sim: Simulator) -> None:
    own, fleet_sink = RecordingSink(), RecordingSink()
    device = _device(sim.devices[0])
    device.metrics = own
    async with Fleet([device], metrics=fleet_sink, counters=True, min_interval=0) as fleet:
        await fleet.status()
        assert fleet_sink.named("request")
        assert not own.named("request")
        kept = await fleet.remove(device.id, close=False)
        assert kept is device
        assert device.metrics is own
        assert err(await device.status()) is None  # still open, still usable
        assert own.named("request")
        assert fleet.counters is not None
        assert fleet.counters.total().requests == 1  # what it did in the fleet still counts
        assert len(fleet.counters) == 0
    await device.close()


async def test_every_operation_shape(sim: Simulator) -> None:
    devices = [_device(s) for s in sim.devices[:3]]
    seen: list[tuple[str, ConnectionState]] = []
    fleet = Fleet(devices, min_interval=0, concurrency=1)
    unsubscribe = fleet.add_state_listener(lambda dev_id, change: seen.append((dev_id, change.state)))
    callbacks: list[str] = []
    fleet.subscribe(lambda update: callbacks.append(update.device_id))
    async with fleet:
        on = await fleet.set_value(1, True)
        assert all(r["dps"] == {"1": True} for r in on.values())
        off = await fleet.turn_off(ids=[devices[0].id])
        assert list(off) == [devices[0].id]
        assert sim.devices[0].dps["1"] is False
        assert callbacks  # the replies' news, through the fleet's subscribers
        assert repr(fleet) == "<Fleet 3 devices open>"
        assert devices[1].id in fleet
        assert fleet[devices[1].id] is devices[1]
    unsubscribe()
    assert (devices[2].id, ConnectionState.CONNECTED) in seen
    assert repr(fleet) == "<Fleet 3 devices closed>"


async def test_devices_files_and_their_children(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(DevicesFileError):
        await Fleet.load(tmp_path / "missing.json")
    entries: list[dict[str, Any]] = [
        {"id": "bf00gateway000000001", "key": "0123456789abcdef", "ip": "", "version": "3.4"},
        {"id": "bf00child00000000001", "node_id": "a4c1", "parent": "bf00gateway000000001", "sub": True},
        {"id": "bf00orphan0000000001", "node_id": "a4c2", "parent": "bf00elsewhere0000001", "sub": True},
    ]
    with caplog.at_level(logging.WARNING):
        devices = devices_from(entries)
    gateway, child = devices
    assert gateway.auto_ip  # no address: found by its broadcasts at the first connect
    assert (gateway.version, gateway.port, gateway.socketPersistent) == (3.4, tuya.TCPPORT, False)
    assert (child.cid, child.parent) == ("a4c1", gateway)
    assert any("left out" in r.getMessage() for r in caplog.records)
    fleet = Fleet.from_entries(entries)
    assert fleet[gateway.id].socketPersistent  # a fleet's devices are persistent by default
    assert len(fleet) == 2


def test_a_fleet_serves_one_event_loop_after_another() -> None:
    devices = [DeviceAsync(f"bf{n:018d}", "127.0.0.1", "0123456789abcdef", version=3.3) for n in range(2)]
    fleet = Fleet(devices, concurrency=1)

    async def contended() -> list[dict[str, Any]]:
        async def op(device: XenonDeviceAsync) -> object:
            await asyncio.sleep(0)  # the other run waits for the one slot meanwhile
            return "ok"

        return list(await asyncio.gather(fleet.run(op), fleet.run(op)))

    first = asyncio.run(contended())
    second = asyncio.run(contended())  # a new loop: the old one's semaphore would refuse it
    assert first == second == [dict.fromkeys(fleet.ids, "ok")] * 2
