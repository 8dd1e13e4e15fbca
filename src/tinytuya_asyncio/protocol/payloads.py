"""JSON request bodies, built from tinytuya's command templates (``payload_dict``).

tinytuya keeps the per-version and per-device-type quirks as layered templates: which
command id a request really uses (3.4 sends DP_QUERY as DP_QUERY_NEW, device22 sends it as
CONTROL_NEW) and which fields its body has. We resolve the layers in tinytuya's order and
fill the fields the way its ``generate_payload`` does, so both libraries send the same JSON.
The clock is an argument (``t``), as everywhere in this package's protocol core.

See docs/PROTOCOL.md#connections-and-commands, docs/PROTOCOL.md#device22.
"""

from __future__ import annotations

import copy
import json
import json.encoder
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.protocol.versions import VersionSpec, version_spec

#: Body used for a command no template mentions (devices complain about missing fields,
#: never about extra ones).
_FALLBACK_BODY: Mapping[str, Any] = {"gwId": "", "devId": "", "uid": "", "t": ""}


@dataclass(frozen=True, slots=True)
class CommandTemplate:
    """How one logical command goes on the wire for a given device."""

    #: The command id actually sent (after tinytuya's ``command_override``).
    command: int
    #: The body's fields, or ``None`` when no template defines one.
    body: Mapping[str, Any] | None


def _layer_names(spec: VersionSpec, dev_type: str, *, gateway: bool, child: bool) -> list[str]:
    # tinytuya's order: default, gateway, zigbee, version, gateway_version, zigbee_version, dev_type.
    names = ["default"]
    if gateway:
        names.append("gateway")
    if child:
        names.append("zigbee")
    names.append(spec.template_key)
    if gateway:
        names.append("gateway_" + spec.template_key)
    if child:
        names.append("zigbee_" + spec.template_key)
    if dev_type != "default":
        if dev_type not in tuya.PAYLOAD_DICT:
            raise LocalProtocolError(f"unknown dev_type {dev_type!r}")
        names.append(dev_type)
    return names


@lru_cache(maxsize=128)
def command_templates(
    version: str, dev_type: str = "default", *, gateway: bool = False, child: bool = False
) -> Mapping[int, CommandTemplate]:
    """Resolve tinytuya's template layers for one kind of device (cached)."""
    spec = version_spec(version)
    merged: dict[int, dict[str, Any]] = {}
    for name in _layer_names(spec, dev_type, gateway=gateway, child=child):
        for cmd, entry in tuya.PAYLOAD_DICT.get(name, {}).items():
            # A later layer replaces the fields it names ("command", "command_override") only.
            merged.setdefault(cmd, {}).update(copy.deepcopy(dict(entry)))
    return {
        cmd: CommandTemplate(entry.get("command_override", cmd), entry.get("command"))
        for cmd, entry in merged.items()
    }


@dataclass(frozen=True, slots=True)
class PayloadBuilder:
    """Builds request bodies for one device (or gateway child)."""

    version: VersionSpec
    dev_id: str
    dev_type: str = "default"
    #: Sub-device id on a gateway (tinytuya's ``cid``/``node_id``).
    cid: str | None = None
    #: The gateway's id when this device is a child (used as ``gwId``).
    parent_id: str | None = None
    #: True when this device is a gateway with registered children.
    gateway: bool = False
    #: Per command: the body encoded once around its clock, for requests whose only
    #: variable field is ``t`` (status queries, heartbeats): (wire command, before, after);
    #: ``False`` after the first such request, ``None`` when the body cannot be templated.
    _fixed: dict[int, tuple[int, bytes, bytes | None] | bool | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def templates(self) -> Mapping[int, CommandTemplate]:
        return command_templates(self.version.text, self.dev_type, gateway=self.gateway, child=bool(self.cid))

    def build(
        self,
        command: int,
        *,
        t: int,
        data: Any = None,
        gw_id: str | None = None,
        dev_id: str | None = None,
        uid: str | None = None,
        raw_data: Any = None,
        req_type: str | None = None,
        query_dps: Mapping[str, Any] | None = None,
    ) -> tuple[int, bytes]:
        """The ``(command id, JSON bytes)`` to send for ``command``.

        ``data`` becomes the ``dps`` (or ``dpId`` for UPDATEDPS); ``query_dps`` is the DPS list
        a device22 status query must name; ``t`` is the Unix time in seconds.
        """
        if (
            data is None
            and raw_data is None
            and gw_id is None
            and dev_id is None
            and uid is None
            and req_type is None
            and (query_dps is None or self.dev_type != "device22" or command != tuya.DP_QUERY)
        ):
            # Nothing but the clock varies: from the second such request on, splice it into a
            # body encoded once instead of copying and encoding the template every time. (Not
            # on the first: a builder used once, as by a short-lived device, would gain nothing.)
            fixed = self._fixed.get(command, _UNSEEN)
            if fixed is _UNSEEN:
                self._fixed[command] = False
            elif fixed is False:
                fixed = self._fixed[command] = self._encode_around_clock(command)
            if isinstance(fixed, tuple):
                wire_cmd, before, after = fixed
                return (wire_cmd, before) if after is None else (wire_cmd, before + str(t).encode() + after)
        wire_cmd, body = self._fill(
            command,
            t,
            data=data,
            gw_id=gw_id,
            dev_id=dev_id,
            uid=uid,
            raw_data=raw_data,
            req_type=req_type,
            query_dps=query_dps,
        )
        return wire_cmd, encode_json(body)

    def _encode_around_clock(self, command: int) -> tuple[int, bytes, bytes | None] | None:
        wire_cmd, body = self._fill(command, 0)
        if "t" not in body:
            return wire_cmd, encode_json(body), None
        # A string "t" keeps its quotes; an integer one ("int" in the template) loses them.
        quoted = encode_json(_CLOCK_MARK)
        mark = quoted if isinstance(body["t"], int) else quoted[1:-1]
        body["t"] = _CLOCK_MARK
        before, found, after = encode_json(body).partition(mark)
        if not found or mark in after:  # an id holding the mark's text: encode every time
            return None
        return wire_cmd, before, after

    def _fill(
        self,
        command: int,
        t: int | str,
        *,
        data: Any = None,
        gw_id: str | None = None,
        dev_id: str | None = None,
        uid: str | None = None,
        raw_data: Any = None,
        req_type: str | None = None,
        query_dps: Mapping[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        template = self.templates().get(command)
        wire_cmd = command if template is None else template.command
        body = _copy_json(_FALLBACK_BODY if template is None or template.body is None else template.body)
        if "gwId" in body:
            body["gwId"] = gw_id if gw_id is not None else self.parent_id or self.dev_id
        if "devId" in body:
            body["devId"] = dev_id if dev_id is not None else self.dev_id
        if "uid" in body:
            body["uid"] = uid if uid is not None else self.dev_id
        if self.cid:
            body["cid"] = self.cid
            if "data" in body:
                body["data"]["cid"] = self.cid
                body["data"]["ctype"] = 0
        if "t" in body:
            body["t"] = t if body["t"] == "int" else str(t)
        if raw_data is not None and "data" in body:
            body["data"] = raw_data
        elif data is not None:
            if "dpId" in body:
                body["dpId"] = data
            elif "data" in body:
                body["data"]["dps"] = data
            else:
                body["dps"] = data
        elif query_dps is not None and self.dev_type == "device22" and command == tuya.DP_QUERY:
            body["dps"] = dict(query_dps)
        if req_type and "reqType" in body:
            body["reqType"] = req_type
        return wire_cmd, body


_UNSEEN: Final = object()

#: Stands for the clock in a body encoded once (its control characters make it unlikely in
#: an id; a body where it shows up twice is simply encoded on every request).
_CLOCK_MARK: Final = "\x00clock\x00"

#: One encoder for every body: building one per call costs as much as encoding.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))
#: ``JSONEncoder.encode`` also builds its C encoder on every call; where the C accelerator
#: exists we build it once (the same settings: ASCII, compact, NaN allowed, no sorting, no
#: circular-reference check since bodies are fresh trees): 0.8 against 1.7 µs per body.
_make_c_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Final = (
    _make_c_encoder(
        None, _ENCODER.default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True
    )
    if _make_c_encoder is not None
    else None
)


def encode_json(body: object) -> bytes:
    """Compact JSON as devices want it (no spaces between tokens)."""
    if _C_ENCODER is not None and type(body) is dict:
        return "".join(_C_ENCODER(body, 0)).encode("utf-8")
    return _ENCODER.encode(body).encode("utf-8")


def _copy_json(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a template deep enough to fill in (templates nest dicts only)."""
    return {k: _copy_json(v) if isinstance(v, dict) else v for k, v in template.items()}
