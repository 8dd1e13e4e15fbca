"""The firmware use cases as pure functions: request in, frames out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import Message
from tinytuya_asyncio.simulator import firmware
from tinytuya_asyncio.simulator.state import DeviceState

KEY = "0123456789abcdef"
NOW = 1_700_000_000


def _state(version: str = "3.3", **kwargs: Any) -> DeviceState:
    kwargs.setdefault("dps", {"1": False, "2": 5})
    return DeviceState.create("dev0", KEY, version=version, **kwargs)


def _handle(state: DeviceState, cmd: int, payload: object = None, **kwargs: Any) -> list[firmware.Outgoing]:
    raw = payload if isinstance(payload, bytes) else b"" if payload is None else json.dumps(payload).encode()
    return firmware.handle(state, Message(cmd, 7, None, raw), NOW, **kwargs)


def _json(out: firmware.Outgoing) -> Any:
    return json.loads(out.payload)


def test_query_shapes_by_version() -> None:
    (old,) = _handle(_state("3.3"), tuya.DP_QUERY, {"devId": "dev0"})
    assert _json(old) == {"devId": "dev0", "dps": {"1": False, "2": 5}}
    (new,) = _handle(_state("3.4"), tuya.DP_QUERY_NEW, {})
    assert (new.cmd, _json(new)) == (tuya.DP_QUERY_NEW, {"dps": {"1": False, "2": 5}})


def test_control_acks_then_pushes_what_it_wrote() -> None:
    state = _state("3.3")
    ack, push = _handle(state, tuya.CONTROL, {"dps": {"1": True, "2": None, "99": 1}})
    assert (ack.cmd, ack.payload, ack.retcode, ack.push) == (tuya.CONTROL, b"", 0, False)
    assert push.push
    assert push.cmd == tuya.STATUS
    assert _json(push) == {"devId": "dev0", "dps": {"1": True}, "t": NOW}
    assert state.dps == {"1": True, "2": 5}  # nulls and unknown DPs are not written


def test_control_new_push_shape_from_3_4() -> None:
    state = _state("3.5")
    _, push = _handle(state, tuya.CONTROL_NEW, {"protocol": 5, "t": 1, "data": {"dps": {"2": 8}}})
    assert _json(push) == {"protocol": 4, "t": NOW, "data": {"dps": {"2": 8}}}


def test_control_without_push_on_control() -> None:
    assert len(_handle(_state(), tuya.CONTROL, {"dps": {"1": True}}, push_on_control=False)) == 1


def test_device22_refuses_plain_queries_and_answers_null_controls() -> None:
    state = _state("3.3", device22=True)
    (refusal,) = _handle(state, tuya.DP_QUERY, {"devId": "dev0"})
    assert (refusal.retcode, refusal.payload) == (1, b"data unvalid")
    (answer,) = _handle(state, tuya.CONTROL_NEW, {"dps": {"2": None, "50": None}})
    assert (answer.cmd, _json(answer)["dps"]) == (tuya.CONTROL_NEW, {"2": 5})
    _, push = _handle(state, tuya.CONTROL_NEW, {"dps": {"2": 6}})
    assert _json(push)["dps"] == {"2": 6}


def test_heartbeat_and_updatedps() -> None:
    state = _state()
    (beat,) = _handle(state, tuya.HEART_BEAT, {"gwId": "dev0"})
    assert (beat.cmd, beat.payload) == (tuya.HEART_BEAT, b"")
    ack, push = _handle(state, tuya.UPDATEDPS, {"dpId": [2, 40]})
    assert (ack.cmd, ack.payload) == (tuya.UPDATEDPS, b"")
    assert _json(push)["dps"] == {"2": 5}
    assert len(_handle(state, tuya.UPDATEDPS, {"dpId": [40]})) == 1
    assert len(_handle(state, tuya.UPDATEDPS, {"dpId": "nonsense"})) == 1


def test_gateway_routes_by_cid() -> None:
    state = _state("3.4", dps={}, children={"sub1": {"1": False}})
    (reply,) = _handle(state, tuya.DP_QUERY_NEW, {"cid": "sub1"})
    assert _json(reply) == {"dps": {"1": False}, "cid": "sub1"}
    _, push = _handle(state, tuya.CONTROL_NEW, {"data": {"cid": "sub1", "dps": {"1": True}}})
    assert _json(push)["data"] == {"dps": {"1": True}, "cid": "sub1"}
    (error,) = _handle(state, tuya.DP_QUERY_NEW, {"cid": "ghost"})
    assert error.retcode == 1
    assert _json(error)["cid"] == "ghost"
    (legacy,) = _handle(_state("3.3", children={"sub1": {"1": 1}}), tuya.DP_QUERY, {"cid": "sub1"})
    assert _json(legacy)["cid"] == "sub1"
    (listing,) = _handle(state, tuya.LAN_EXT_STREAM, {"reqType": "subdev_online_stat_query", "data": {}})
    assert _json(listing)["data"]["online"] == ["sub1"]


@pytest.mark.parametrize(
    ("cmd", "payload"),
    [
        (tuya.DP_QUERY, b"not json"),
        (tuya.DP_QUERY, b"[1, 2]"),
        (tuya.DP_QUERY, b"\xff\xfe"),
        (tuya.CONTROL, {"no": "dps"}),
        (tuya.CONTROL, {"dps": [1]}),
        (tuya.DP_QUERY, b"[" * 100_000),
    ],
)
def test_bad_bodies_get_an_error_reply(cmd: int, payload: object) -> None:
    (reply,) = _handle(_state(), cmd, payload)
    assert (reply.cmd, reply.retcode, reply.payload) == (cmd, 1, firmware.BAD_REQUEST_ERROR)


def test_undecryptable_and_unknown_commands() -> None:
    state = _state()
    (reply,) = firmware.handle(state, Message(tuya.DP_QUERY, 1, None, b"\x01" * 16, undecryptable=True), NOW)
    assert reply.retcode == 1
    (unknown,) = _handle(state, 0x77, {})
    assert (unknown.cmd, unknown.retcode, unknown.payload) == (0x77, 1, b"")
    (ext,) = _handle(state, tuya.LAN_EXT_STREAM, {"reqType": "other"})
    assert ext.retcode == 1


def test_3_5_seqno_counter_wraps() -> None:
    state = _state("3.5")
    state._seqno = 0xFFFFFFFF
    assert state.next_seqno() == 0
