"""Every event of the catalogue, emitted where it says, with its fields (RecordingSink checks
each one against the catalogue), and the catalogue, the code and the README in step."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory, port_of
from tests.devices.test_faults import bounded, err
from tests.metrics.recording import RecordingSink
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.exceptions import TuyaError
from tinytuya_asyncio.metrics import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "tinytuya_asyncio"
FAST = {"connection_timeout": 0.3, "connection_retry_limit": 1, "connection_retry_delay": 0}


def _query_cmd(version: str) -> int:
    return tuya.DP_QUERY_NEW if version >= "3.4" else tuya.DP_QUERY


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_a_persistent_session_from_connect_to_close(
    version: str, simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True, metrics=events, heartbeat_interval=0.05)
    stream = dev.updates()
    assert err(await bounded(dev.status())) is None
    assert not (await bounded(anext(stream))).pushed  # the reply's news first
    await sim.push({"1": True})
    assert (await bounded(anext(stream))).changed == {"1": True}
    await events.wait_for("heartbeat")
    await dev.close()

    assert {data["device"] for _, data in events.events} == {sim.dev_id}  # the full id, always
    connect = events.first("connect")
    assert (connect["host"], connect["port"]) == ("127.0.0.1", port_of(sim))
    assert connect["duration"] >= 0
    if version == "3.5":
        assert events.first("handshake")["duration"] > 0
        sent = [data["cmd"] for data in events.named("send")]
        assert sent[:2] == [tuya.SESS_KEY_NEG_START, tuya.SESS_KEY_NEG_FINISH]
    else:
        assert not events.named("handshake")
    for send in events.named("send"):
        assert send["bytes"] == len(send["frame"]) > 0
    for receive in events.named("receive"):
        assert receive["bytes"] == len(receive["data"]) > 0
        assert receive["frames"] >= 1
    query = _query_cmd(version)
    assert query in {data["cmd"] for data in events.named("send")}
    request = events.first("request")
    assert (request["cmd"], request["cid"]) == (query, None)
    assert request["duration"] > 0
    assert request["waited"] >= 0
    assert events.first("push")["cid"] is None
    assert tuya.HEART_BEAT in {data["cmd"] for data in events.named("send")}
    states = [(data["previous"], data["state"]) for data in events.named("state")]
    assert states == [("disconnected", "connecting"), ("connecting", "connected"), ("connected", "closed")]


async def test_a_refused_connect(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    await sim.stop()  # nothing listens there now
    dev = connect_to(sim, metrics=events, **FAST)
    result = await bounded(dev.status())
    assert err(result) == str(tuya.ERR_CONNECT)
    failed = events.first("connect_failed")
    assert (failed["error"], failed["code"], failed["attempt"]) == ("ConnectError", tuya.ERR_CONNECT, 1)
    error = events.first("error")
    assert (error["code"], error["error"], error["cid"]) == (tuya.ERR_CONNECT, "ConnectError", None)
    assert result is not None
    assert error["message"] == result["Payload"]
    state = events.named("state")[-1]
    assert (state["state"], state["reason"], state["error"]) == ("disconnected", "refused", "ConnectError")


async def test_a_silent_device_times_out_and_is_retried(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    sim.faults.silent = True
    dev = connect_to(sim, metrics=events, connection_timeout=0.2, connection_retry_limit=2)
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    timeouts = events.named("timeout")
    assert [(t["cmd"], t["timeout"]) for t in timeouts] == [(tuya.DP_QUERY, 0.2)] * 3
    failures = events.named("request_failed")
    assert [(f["attempt"], f["code"], f["error"]) for f in failures] == [
        (n, tuya.ERR_TIMEOUT, "TuyaTimeoutError") for n in (1, 2, 3)
    ]
    assert [(r["cmd"], r["cid"], r["attempt"]) for r in events.named("retry")] == [
        (tuya.DP_QUERY, None, 1),
        (tuya.DP_QUERY, None, 2),
    ]
    assert events.first("error")["code"] == tuya.ERR_TIMEOUT
    assert not events.named("request")


async def test_handshake_failures(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    rejecting = await simulate("3.4")
    rejecting.faults.reject_handshake = True
    dev = connect_to(rejecting, metrics=events, **FAST)
    assert err(await bounded(dev.status())) == str(tuya.ERR_KEY_OR_VER)
    failed = events.first("handshake_failed")
    assert (failed["error"], failed["code"]) == ("InvalidKeyError", tuya.ERR_KEY_OR_VER)
    assert failed["duration"] >= 0
    assert events.first("connect_failed")["code"] == tuya.ERR_KEY_OR_VER

    silent = await simulate("3.5")
    silent.faults.silent = True
    quiet = RecordingSink()
    dev = connect_to(silent, metrics=quiet, **FAST)
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    assert quiet.first("timeout") == {"device": silent.dev_id, "cmd": tuya.SESS_KEY_NEG_START, "timeout": 0.3}
    assert quiet.first("handshake_failed")["error"] == "HandshakeTimeoutError"
    assert not quiet.problems


async def test_a_lost_connection_is_scheduled_for_reconnect(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.4")
    dev = connect_to(sim, persist=True, metrics=events, backoff=Backoff(floor=0.01, cap=0.02))
    await bounded(dev.connect())
    sim.drop_clients()
    await events.wait_for("connect", 2)
    scheduled = events.first("reconnect_scheduled")
    assert scheduled == {"device": sim.dev_id, "reason": "closed-by-device", "delay": 0.0, "attempt": 1}
    states = [(s["previous"], s["state"], s["reason"]) for s in events.named("state")]
    assert ("connected", "reconnecting", "closed-by-device") in states


async def test_a_missed_heartbeat_is_a_timeout(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(
        sim,
        persist=True,
        metrics=events,
        heartbeat_interval=0.05,
        heartbeat_timeout=0.1,
        backoff=Backoff(floor=5, cap=5),
    )
    await bounded(dev.connect())
    sim.faults.silent = True
    await events.wait_for("timeout")
    assert events.first("timeout") == {"device": sim.dev_id, "cmd": tuya.HEART_BEAT, "timeout": 0.1}


async def test_keep_trying_schedules_the_supervisor(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    await sim.stop()
    dev = connect_to(sim, persist=True, metrics=events, backoff=Backoff(floor=0.05, cap=0.1), **FAST)
    with pytest.raises(TuyaError):
        await bounded(dev.connect(keep_trying=True))
    assert dev.state is ConnectionState.RECONNECTING
    await events.wait_for("reconnect_scheduled")
    scheduled = events.first("reconnect_scheduled")
    assert (scheduled["reason"], scheduled["attempt"]) == ("refused", 1)
    assert 0 < scheduled["delay"] <= 0.1 * 1.25
    await sim.start()
    await events.wait_for("connect")
    await dev.close()
    assert dev.connection_state is ConnectionState.CLOSED


async def test_garbage_is_reported_as_discarded_bytes(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    sim.faults.garbage = True
    dev = connect_to(sim, metrics=events, **FAST)
    assert err(await bounded(dev.status())) is None
    assert events.first("bytes_discarded")["count"] == sim.faults.garbage_size


async def test_rate_limits_and_backpressure(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True, metrics=events, min_interval=0.1, max_waiting=1)
    await bounded(asyncio.gather(dev.status(), dev.status()))
    limited = events.first("rate_limited")
    assert limited["cmd"] == tuya.DP_QUERY
    assert 0 < limited["delay"] <= 0.1 + 1e-6  # (float rounding of the loop clock)

    sim.faults.silent = True
    dev.set_socketTimeout(0.2)
    dev.set_socketRetryLimit(3)
    holder = asyncio.create_task(dev.status())
    await sim.wait_for_requests(tuya.DP_QUERY, 3)
    queued = asyncio.create_task(dev.status())
    await asyncio.sleep(0)
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    full = events.first("queue_full")
    assert (full["cmd"], full["waiting"], full["timeout"]) == (tuya.DP_QUERY, 1, 0.2)
    rejected = events.first("request_rejected")
    assert rejected["cmd"] == tuya.DP_QUERY
    assert rejected["waited"] >= 0.2 - 0.01
    assert events.named("error")[-1]["error"] == "DeviceBusyError"
    sim.faults.clear()
    await bounded(asyncio.gather(holder, queued))


async def test_dropped_updates(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True, metrics=events)
    stream = dev.updates(maxsize=1)
    await bounded(dev.connect())
    for n in range(3):
        await sim.push({"2": n})
    await events.wait_for("push", 3)
    dropped = events.named("update_dropped")
    assert dropped == [{"device": sim.dev_id, "cid": None, "dropped": 1, "source": "updates"}] * 2
    stream.close()


async def test_a_gateway_childs_traffic_is_the_gateways_tagged_with_its_cid(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3", children={"c1": {"1": False}}, dps={})
    gateway = connect_to(sim, persist=True, metrics=events)
    child = DeviceAsync("bf00child00000000001", cid="c1", parent=gateway, metrics=events)
    assert err(await bounded(child.status())) is None
    request = events.first("request")
    assert (request["device"], request["cid"]) == (sim.dev_id, "c1")
    await gateway.close()
    result = await bounded(child.status())  # the gateway is closed: 901, the child's own error
    assert err(result) == str(tuya.ERR_CONNECT)
    error = events.first("error")
    assert (error["device"], error["cid"]) == ("bf00child00000000001", "c1")


async def test_raw_and_nowait_sends(
    simulate: SimFactory, connect_to: DeviceFactory, events: RecordingSink
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True, metrics=events)
    await bounded(dev.turn_on(nowait=True))
    await sim.wait_for_requests(tuya.CONTROL)
    await bounded(dev.send(b"not a frame"))
    sends = events.named("send")
    assert [s["cmd"] for s in sends] == [tuya.CONTROL, None]
    assert sends[1]["frame"] == b"not a frame"


# -- the catalogue, the code and the README agree ------------------------------------------

_EMITTED = re.compile(r"""(?:_report|_events|report)\(\s*["']([a-z_]+)["']""")


def test_every_event_the_code_emits_is_in_the_catalogue_and_back() -> None:
    emitted = {
        name for path in SOURCE.rglob("*.py") for name in _EMITTED.findall(path.read_text(encoding="utf-8"))
    }
    assert emitted == set(CATALOGUE)


def test_the_readme_documents_every_event_with_its_fields() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| event | fields") :].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", table, flags=re.MULTILINE))
    assert set(rows) == set(CATALOGUE)
    for name, spec in CATALOGUE.items():
        documented = re.findall(r"`([a-z_]+)`", rows[name])
        assert documented == list(spec.fields), name
