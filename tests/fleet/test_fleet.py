"""A fleet of 200 simulated devices from a devices.json: mixed versions, a gateway with
children, a few faulty; connect, status, control, the merged stream, changes at run time,
close, and nothing of ours left afterwards."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.devices.test_leaks import _open_sockets
from tests.loops import live_timers
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import DeviceUpdate, OutletDeviceAsync
from tinytuya_asyncio.fleet import Fleet
from tinytuya_asyncio.simulator import Simulator

#: Generous bound on every fleet-wide step: no assertion depends on the machine's speed.
DEADLINE = 60.0
#: Generous deadlines: on a loaded machine 200 handshakes in debug mode take their time.
DEVICE_OPTIONS: dict[str, Any] = {
    "connection_timeout": 5.0,
    "connection_retry_limit": 2,
    "connection_retry_delay": 0.1,
}


def err(result: Any) -> str | None:
    return result.get("Err") if isinstance(result, dict) else None


async def _updates_until(stream: Any, wanted: set[str]) -> list[DeviceUpdate]:
    """Pushed updates from the stream until every device of ``wanted`` has sent one."""
    seen: list[DeviceUpdate] = []
    async with asyncio.timeout(DEADLINE):
        async for update in stream:
            if update.pushed:
                seen.append(update)
                wanted.discard(update.device_id)
                if not wanted:
                    return seen
    raise AssertionError(f"the stream ended before {wanted}")


def _loopback_block() -> str:
    """127.x.40.0/24 of our own, so parallel test processes never share an address."""
    return f"127.{10 + os.getpid() % 200}.40"


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count sockets")
async def test_a_fleet_of_200_devices_from_a_devices_file(tmp_path: Path) -> None:
    sockets_before = _open_sockets()
    async with Simulator(seed=11) as sim:
        # 50 devices each on an address of its own on tinytuya's port, as on a real network:
        # their entries have no port, as the wizard writes them.
        on_default_port = await sim.add_many(
            50, versions="mixed", host=f"{_loopback_block()}.1", address_mode="ips", port=tuya.TCPPORT
        )
        plugs = on_default_port + await sim.add_many(144, versions="mixed", device22_count=4)
        hub = await sim.add_gateway(children=5, version="3.4", profiles=["plug", "bulb_a"])
        # 194 plugs + the hub + its 5 children = 200 devices in the file.
        offline, silent, dropping, noisy = plugs[:4]
        devices_file = tmp_path / "devices.json"
        entries = sim.devices_file_entries()
        for entry in entries[:50]:
            del entry["port"]
        devices_file.write_text(json.dumps(entries), encoding="utf-8")
        await offline.stop()  # unreachable from the start
        silent.faults.silent = True
        dropping.faults.drop_requests = 1  # drops the first request it gets: retried
        noisy.faults.garbage = True

        # 16 workers: in debug mode each task made costs its traceback, and all are made at once.
        fleet = await Fleet.load(
            devices_file, counters=True, min_interval=0.05, concurrency=16, device_options=DEVICE_OPTIONS
        )
        fleet[silent.dev_id].set_socketTimeout(0.5)  # its statuses time out: no need to wait 5 s
        assert len(fleet) == 200
        assert {d.id for d in fleet} == {e["id"] for e in entries}
        gateway = fleet[hub.dev_id]
        children = [d for d in fleet if d.parent is gateway]
        assert len(children) == 5
        assert all(d.min_interval == 0.05 for d in fleet)
        outcomes = await asyncio.wait_for(fleet.connect(), DEADLINE)
        try:
            assert set(outcomes) == set(fleet.ids)
            failed = {dev_id for dev_id, outcome in outcomes.items() if outcome is not None}
            assert failed == {offline.dev_id}  # (the silent one, a 3.2 device, needs no handshake)
            states = fleet.states()
            assert states[offline.dev_id].state is ConnectionState.RECONNECTING  # its supervisor's now
            assert sum(s.state is ConnectionState.CONNECTED for s in states.values()) >= 197

            # -- status of all, bounded, keyed by id, failures as error dicts -----------------
            statuses = await asyncio.wait_for(fleet.status(), DEADLINE)
            assert set(statuses) == set(fleet.ids)
            assert err(statuses[offline.dev_id]) == str(tuya.ERR_CONNECT)  # refused: nothing listens
            assert err(statuses[silent.dev_id]) == str(tuya.ERR_TIMEOUT)
            for simulated in plugs[2:]:
                result = statuses[simulated.dev_id]
                assert err(result) is None, (simulated, result)
                assert result["dps"]["1"] == simulated.dps["1"]
            for child in children:
                assert statuses[child.id]["dps"] == hub.children[child.cid or ""]

            # -- control many at once ------------------------------------------------------
            chosen = [p.dev_id for p in plugs[4:104]] + [c.id for c in children]
            switched = await asyncio.wait_for(fleet.turn_on(ids=chosen), DEADLINE)
            assert all(err(result) is None for result in switched.values()), switched
            assert all(p.dps["1"] is True for p in plugs[4:104])
            assert all(p.dps["1"] is False for p in plugs[104:])
            assert all(dps["1"] is True for dps in hub.children.values())
            varied = await fleet.control({p.dev_id: {"9": n} for n, p in enumerate(plugs[104:114])})
            assert [p.dps["9"] for p in plugs[104:114]] == list(range(10))
            assert all(err(r) is None for r in varied.values())

            # -- one merged stream, tagged by device --------------------------------------
            stream = fleet.updates(maxsize=1000)
            pushers = plugs[150:160]
            for n, simulated in enumerate(pushers):
                await simulated.push({"19": 100 + n})
            child_cid = next(iter(hub.children))
            await hub.push({"1": False}, cid=child_cid)
            child_id = next(c.id for c in children if c.cid == child_cid)
            seen = await _updates_until(stream, {p.dev_id for p in pushers} | {child_id})
            by_device = {u.device_id: u for u in seen}
            assert by_device[pushers[3].dev_id].changed == {"19": 103}
            assert (by_device[child_id].cid, by_device[child_id].changed) == (child_cid, {"1": False})

            # -- add and remove at run time -----------------------------------------------
            newcomer = await sim.add(sim.generate("3.5"))
            device = OutletDeviceAsync(
                newcomer.dev_id, "127.0.0.1", newcomer.local_key, version=3.5, port=newcomer.port or 0,
                persist=True, **DEVICE_OPTIONS,
            )  # fmt: skip
            assert await fleet.add(device) is None  # connected at once: the fleet is open
            assert device.min_interval == 0.05  # the fleet's limits, not its own
            assert err((await fleet.status(ids=[newcomer.dev_id]))[newcomer.dev_id]) is None
            with pytest.raises(ValueError, match="already in the fleet"):
                await fleet.add(device)
            removed = await fleet.remove(plugs[10].dev_id)
            assert removed.connection_state is ConnectionState.CLOSED
            assert plugs[10].dev_id not in fleet
            await fleet.remove(hub.dev_id)  # its children go with it
            assert not [d for d in fleet if d.parent is gateway]
            assert gateway.connection_state is ConnectionState.CLOSED
            assert len(fleet) == 200 + 1 - 1 - 6
            unknown = await fleet.status(ids=[hub.dev_id])
            assert err(unknown[hub.dev_id]) == str(tuya.ERR_PARAMS)

            # -- counters, aggregated over the fleet ---------------------------------------
            assert fleet.counters is not None
            total = fleet.counters.total()
            assert total.requests >= 195 + 100 + 10
            assert total.connects >= 195
            assert total.errors.get(tuya.ERR_TIMEOUT, 0) >= 1
            assert total.pushes >= 11
            assert fleet.counters.device(newcomer.dev_id).requests == 1
        finally:
            await asyncio.wait_for(fleet.close(), DEADLINE)
        await fleet.close()  # idempotent
        assert all(d.connection_state is ConnectionState.CLOSED for d in fleet)
        async with asyncio.timeout(DEADLINE):
            async for _ in stream:  # the stream ends once what was queued is read
                pass
        assert not live_timers("tinytuya_asyncio.connection")
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert not live_timers()
    assert _open_sockets() == sockets_before
