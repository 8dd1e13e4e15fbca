"""What the device firmware answers: decoded request in, frames to send out (no I/O).

The use cases of a simulated device, as pure functions of its :class:`DeviceState`, the
request and the time. Reply shapes follow real firmware as tinytuya expects it:

* DP_QUERY / DP_QUERY_NEW: up to 3.3 ``{"devId", "dps"}``; from 3.4 ``{"dps"}``. A
  device22 device refuses a plain query with retcode 1 and the text ``data unvalid``.
* CONTROL / CONTROL_NEW: an empty ack of the same command, then (``push_on_control``) a
  STATUS push of the data points the command wrote. In device22 mode a CONTROL_NEW whose
  values are all null is a status query, answered with those data points (cmd CONTROL_NEW).
* STATUS pushes: up to 3.3 ``{"devId", "dps", "t"}``; from 3.4
  ``{"protocol": 4, "t", "data": {"dps"}}``.
* HEART_BEAT: an empty HEART_BEAT. UPDATEDPS: an empty ack, then a STATUS push of the
  requested data points that exist.
* Gateways route requests carrying ``cid`` (top level, or ``data.cid``) to that child and
  put the ``cid`` in the answer (``data.cid`` in 3.4+ pushes); an unknown ``cid`` gets
  retcode 1 and ``{"cid", "err"}``. LAN_EXT_STREAM ``subdev_online_stat_query`` lists them.
* A command the device does not know gets an empty ack of the same command with retcode 1;
  a body that does not decrypt or is not a JSON object gets retcode 1 and ``data format error``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import Message, encode_json
from tinytuya_asyncio.simulator.state import DeviceState

#: The return code firmware uses for every refusal.
RETCODE_ERROR: Final = 1
#: Firmware's answer to a plain status query in device22 mode (tinytuya looks for it).
DEVICE22_ERROR: Final = b"data unvalid"
#: Answer to a body that does not decrypt or parse.
BAD_REQUEST_ERROR: Final = b"data format error"
SUBDEV_QUERY: Final = "subdev_online_stat_query"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One frame the device sends: a reply to the requester, or a STATUS push to every client."""

    cmd: int
    payload: bytes = b""
    retcode: int = 0
    push: bool = False


def status_push(state: DeviceState, dps: Mapping[str, Any], cid: str | None, now: int) -> Outgoing:
    """A STATUS (0x08) push of ``dps`` in the shape of the device's version."""
    body: dict[str, Any]
    if state.spec.number >= 3.4:
        data: dict[str, Any] = {"dps": dict(dps)}
        if cid is not None:
            data["cid"] = cid
        body = {"protocol": 4, "t": now, "data": data}
    else:
        body = {"devId": state.dev_id, "dps": dict(dps), "t": now}
        if cid is not None:
            body["cid"] = cid
    return Outgoing(tuya.STATUS, encode_json(body), push=True)


def _query_reply(state: DeviceState, cmd: int, dps: Mapping[str, Any], cid: str | None) -> Outgoing:
    body: dict[str, Any] = {"dps": dict(dps)}
    if state.spec.number < 3.4:
        body = {"devId": state.dev_id, **body}
    if cid is not None:
        body["cid"] = cid
    return Outgoing(cmd, encode_json(body))


@dataclass(frozen=True, slots=True)
class Request:
    """A decoded request as the use cases see it."""

    cmd: int
    body: Mapping[str, Any]
    cid: str | None
    now: int


def _dps_in(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    dps = body.get("dps")
    if dps is None:
        data = body.get("data")
        dps = data.get("dps") if isinstance(data, Mapping) else None
    return dps if isinstance(dps, Mapping) else None


def _cid_in(body: Mapping[str, Any]) -> str | None:
    cid = body.get("cid")
    if cid is None:
        data = body.get("data")
        cid = data.get("cid") if isinstance(data, Mapping) else None
    return cid if isinstance(cid, str) and cid else None


def _query(state: DeviceState, req: Request, push_on_control: bool) -> list[Outgoing]:
    if state.device22 and req.cid is None:
        return [Outgoing(req.cmd, DEVICE22_ERROR, RETCODE_ERROR)]
    return [_query_reply(state, req.cmd, state.dps_for(req.cid), req.cid)]


def _control(state: DeviceState, req: Request, push_on_control: bool) -> list[Outgoing]:
    dps = _dps_in(req.body)
    if dps is None:
        return [Outgoing(req.cmd, BAD_REQUEST_ERROR, RETCODE_ERROR)]
    if req.cmd == tuya.CONTROL_NEW and state.device22 and dps and all(v is None for v in dps.values()):
        # device22 firmware: naming data points with null values asks for their values.
        return [_query_reply(state, req.cmd, state.select(dps, req.cid), req.cid)]
    written = state.apply(dps, req.cid)
    replies = [Outgoing(req.cmd)]
    if push_on_control and written:
        replies.append(status_push(state, written, req.cid, req.now))
    return replies


def _heartbeat(state: DeviceState, req: Request, push_on_control: bool) -> list[Outgoing]:
    return [Outgoing(tuya.HEART_BEAT)]


def _updatedps(state: DeviceState, req: Request, push_on_control: bool) -> list[Outgoing]:
    ids = req.body.get("dpId")
    wanted = state.select(ids, req.cid) if isinstance(ids, list) else {}
    replies = [Outgoing(req.cmd)]
    if wanted:
        replies.append(status_push(state, wanted, req.cid, req.now))
    return replies


def _lan_ext_stream(state: DeviceState, req: Request, push_on_control: bool) -> list[Outgoing]:
    if req.body.get("reqType") != SUBDEV_QUERY or not state.is_gateway:
        return [Outgoing(req.cmd, retcode=RETCODE_ERROR)]
    body = {"reqType": SUBDEV_QUERY, "data": {"online": sorted(state.children), "offline": []}}
    return [Outgoing(req.cmd, encode_json(body))]


_Handler = Callable[[DeviceState, Request, bool], list[Outgoing]]

#: Commands the simulated firmware understands.
HANDLERS: Final[Mapping[int, _Handler]] = {
    tuya.DP_QUERY: _query,
    tuya.DP_QUERY_NEW: _query,
    tuya.CONTROL: _control,
    tuya.CONTROL_NEW: _control,
    tuya.HEART_BEAT: _heartbeat,
    tuya.UPDATEDPS: _updatedps,
    tuya.LAN_EXT_STREAM: _lan_ext_stream,
}
#: Commands that are not addressed to a gateway child even when they name one.
_DEVICE_WIDE: Final = frozenset({tuya.HEART_BEAT, tuya.LAN_EXT_STREAM})


def _parse(payload: bytes) -> Mapping[str, Any] | None:
    if not payload:
        return {}
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return body if isinstance(body, dict) else None


def handle(state: DeviceState, message: Message, now: int, *, push_on_control: bool = True) -> list[Outgoing]:
    """The frames the firmware sends in answer to ``message``, in order."""
    cmd = message.cmd
    handler = HANDLERS.get(cmd)
    if handler is None:
        return [Outgoing(cmd, retcode=RETCODE_ERROR)]
    body = None if message.undecryptable else _parse(message.payload)
    if body is None:
        return [Outgoing(cmd, BAD_REQUEST_ERROR, RETCODE_ERROR)]
    cid = None if cmd in _DEVICE_WIDE else _cid_in(body)
    if cid is not None and cid not in state.children:
        return [Outgoing(cmd, encode_json({"cid": cid, "err": "sub-device not found"}), RETCODE_ERROR)]
    return handler(state, Request(cmd, body, cid, now), push_on_control)
