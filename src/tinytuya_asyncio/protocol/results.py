"""Shape a decoded message the way tinytuya's sync API returns it.

The sync ``XenonDevice._decode_payload`` turns a body into a dict: the parsed JSON (with the
3.4+ ``data.dps`` also exposed as ``dps``) or one of tinytuya's error dicts. Results users
compare between the two libraries must match, so this module reproduces that contract on
top of our codec's output. One deliberate simplification: JSON that is not an object
(a bare number, list or string) is reported as ``ERR_PAYLOAD`` instead of being returned.

See docs/PROTOCOL.md#pushes.
"""

from __future__ import annotations

import json
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol.codec import Message
from tinytuya_asyncio.protocol.versions import VersionSpec

#: What device22-style firmware answers to a query it wants phrased differently.
DATA_UNVALID: Final = b"data unvalid"
#: Deepest JSON nesting accepted from a device. Real bodies nest four levels at most; a hostile
#: one thousands deep would exhaust the stack in the parser, or later in whatever walks the
#: values (comparing, copying), so it is refused as bad JSON before it is parsed.
MAX_JSON_DEPTH: Final = 64
_DECODER: Final = json.JSONDecoder()


def is_data_unvalid(message: Message) -> bool:
    """True when the device rejected the request as "data unvalid" (device22 detection)."""
    return not message.undecryptable and DATA_UNVALID in message.payload


def decode_result(message: Message, spec: VersionSpec) -> dict[str, Any]:
    """The sync-API result for a non-empty message body."""
    payload = message.payload
    if message.undecryptable:
        return tuya.error_json(tuya.ERR_PAYLOAD)
    if spec.number < 3.2 and not payload.startswith(b"{"):
        return tuya.error_json(tuya.ERR_PAYLOAD, payload)
    invalid_bytes: bytes | None = None
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        if not (payload[:1] == b"{" and payload[-1:] == b"}"):
            return tuya.error_json(tuya.ERR_JSON, payload)
        # Looks like JSON with a bad byte in a string: parse what we can, hand over the raw bytes.
        invalid_bytes = payload
        text = payload.decode(errors="replace")
    try:
        if _too_deep(text):
            raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        result = _parse_json(text)
    except (ValueError, RecursionError):
        error = tuya.error_json(tuya.ERR_JSON, text)
        error["invalid_json"] = text
        return error
    if not isinstance(result, dict):
        return tuya.error_json(tuya.ERR_PAYLOAD, text)
    if invalid_bytes is not None:
        result["invalid_json"] = invalid_bytes
    data = result.get("data")
    if "dps" not in result and isinstance(data, dict) and "dps" in data:
        result["dps"] = data["dps"]
    return result


def _too_deep(text: str) -> bool:
    # Counting brackets is a C-speed upper bound on the depth: exact only when it is not enough.
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif char in "]}":
            depth -= 1
    return False


def _parse_json(text: str) -> Any:
    # raw_decode straight away: json.loads adds two regex scans for surrounding whitespace
    # that device JSON never has (and falls back to them when it does).
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def result_cid(result: dict[str, Any]) -> str | None:
    """The gateway sub-device id a result is about (top level or in ``data``), if any."""
    cid = result.get("cid")
    if cid is None and isinstance(result.get("data"), dict):
        cid = result["data"].get("cid")
    return cid if isinstance(cid, str) and cid else None
