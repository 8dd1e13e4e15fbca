"""Pure functions over data-point (DPS) dicts: merging replies and finding what changed.

See docs/PROTOCOL.md#pushes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_results(dest: dict[str, Any], src: object) -> dict[str, Any]:
    """Merge one decoded reply into an accumulated one, in place, as tinytuya does.

    ``dps`` (and ``data.dps`` of 3.4+ replies) are merged key by key; other keys are replaced;
    error dicts are ignored. Returns ``dest``. One difference: a reply with an empty ``dps``
    adds nothing (tinytuya's merge would replace everything known with ``{}``).
    ``tests/protocol/test_payloads.py`` pins the equivalence with tinytuya's
    ``merge_dps_results``; this one merges with ``dict.update``, as it runs on every frame.
    """
    # isinstance(..., dict), not Mapping: decoded JSON is dicts, and ABC checks are slow per frame.
    if not src or not isinstance(src, dict) or "Error" in src or "Err" in src:
        return dest
    for key, value in src.items():
        if key == "dps" and isinstance(value, dict):
            if value:
                known = dest.get("dps")
                if isinstance(known, dict):
                    known.update(value)
                else:
                    dest["dps"] = dict(value)
        elif key == "data" and value and isinstance(value, dict) and isinstance(value.get("dps"), dict):
            data = dest.get("data")
            if not isinstance(data, dict):
                data = dest["data"] = {"dps": {}}
            if not isinstance(data.get("dps"), dict):
                data["dps"] = {}
            data["dps"].update(value["dps"])
        else:
            dest[key] = value
    return dest


def dps_of(result: object) -> dict[str, Any]:
    """The data points in a decoded reply (``dps`` or 3.4+ ``data.dps``), or ``{}``.

    Returns the reply's own dict, not a copy: copy it to keep it.
    """
    if not isinstance(result, dict) or "Err" in result:
        return {}
    dps = result.get("dps")
    if isinstance(dps, dict):
        return dps
    data = result.get("data")
    if isinstance(data, dict) and isinstance(data.get("dps"), dict):
        return data["dps"]  # type: ignore[no-any-return]
    return {}


def changed_dps(before: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``update`` whose value differs from (or is missing in) ``before``."""
    return {k: v for k, v in update.items() if k not in before or before[k] != v}
