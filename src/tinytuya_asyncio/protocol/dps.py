"""Pure functions over data-point (DPS) dicts: merging replies and finding what changed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tinytuya_asyncio import _tinytuya as tuya


def merge_results(dest: dict[str, Any], src: object) -> dict[str, Any]:
    """Merge one decoded reply into an accumulated one, in place, as tinytuya does.

    ``dps`` (and ``data.dps`` of 3.4+ replies) are merged key by key; other keys are replaced;
    error dicts are ignored. Returns ``dest``. One difference: a reply with an empty ``dps``
    adds nothing (tinytuya's merge would replace everything known with ``{}``).
    """
    if isinstance(src, Mapping) and src.get("dps") == {}:
        src = {k: v for k, v in src.items() if k != "dps"}
    tuya.merge_dps_results(dest, src)
    return dest


def dps_of(result: object) -> dict[str, Any]:
    """The data points in a decoded reply (``dps`` or 3.4+ ``data.dps``), or ``{}``.

    Returns the reply's own dict, not a copy: copy it to keep it.
    """
    if not isinstance(result, Mapping) or "Err" in result:
        return {}
    dps = result.get("dps")
    if isinstance(dps, dict):
        return dps
    data = result.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("dps"), dict):
        return data["dps"]  # type: ignore[no-any-return]
    return {}


def changed_dps(before: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``update`` whose value differs from (or is missing in) ``before``."""
    return {k: v for k, v in update.items() if k not in before or before[k] != v}
