"""tinytuya's two status caches: every data point ever seen, and the last status of a connection.

``historic`` merges every decoded frame, whatever the connection; ``last`` only merges frames
that arrive while a persistent connection is open, and is dropped with that connection, so
``cached_status()`` never serves values the device may have changed while nobody listened.

Both are bounded, unlike tinytuya's: a device (or anything answering in its place) that keeps
inventing data point ids or top-level keys would otherwise grow them for as long as the
process runs. The first :data:`MAX_CACHED_KEYS` ids are kept and later new ones are left out
(checked every :data:`CHECK_EVERY` frames), so the real data points, which a device reports
from its first status on, stay.
"""

from __future__ import annotations

from typing import Any, Final

from tinytuya_asyncio.protocol.dps import merge_results

#: Keys a cache holds at most, at each level (top level, ``dps``, ``data.dps``). A DP id is a
#: number from 1 to 255 on Tuya's platform; some firmware uses names too: twice that is room.
MAX_CACHED_KEYS: Final = 512
#: Frames between two checks of the bound: checking every frame cost 3 % of a warm status. A
#: frame holds at most 16 KiB (``protocol.frames.DEFAULT_MAX_PAYLOAD``), so between checks a
#: cache can only outgrow the bound by what that many frames can name.
CHECK_EVERY: Final = 16
#: The top-level keys that hold the data points: never left out (they are bounded inside).
_NESTED: Final = frozenset({"dps", "data"})


class StatusCache:
    """The caches of one device (or gateway child)."""

    __slots__ = ("have_status", "historic", "last", "unchecked")

    def __init__(self) -> None:
        #: Every DP ever reported (tinytuya's ``_historic_status``; handed out, not copied).
        self.historic: dict[str, Any] = {}
        #: The status merged while the current persistent connection is open.
        self.last: dict[str, Any] = {}
        #: A status query went out since the cache was last cleared (tinytuya's ``_have_status``).
        self.have_status = False
        #: Frames merged since the bound was last checked.
        self.unchecked = 0

    def absorb(self, result: dict[str, Any], *, live: bool) -> int:
        """Merge a decoded frame; ``live`` when it arrived on an open persistent connection.

        Returns how many new keys were left out because a cache is full (normally 0).
        """
        merge_results(self.historic, result)
        if live:
            merge_results(self.last, result)
        self.unchecked += 1
        if self.unchecked < CHECK_EVERY:  # what every frame pays: the bound is checked in batches
            return 0
        self.unchecked = 0
        dropped = 0
        for cache in (self.historic, self.last):
            if _largest(cache) > MAX_CACHED_KEYS:
                dropped = max(dropped, _trim_levels(cache))
        return dropped

    def current(self) -> dict[str, Any] | None:
        """The last status, if a query was made and something has been merged since."""
        return self.last if self.have_status and self.last else None

    def clear(self) -> None:
        """Forget the last status (the historic one stays), as tinytuya's ``cache_clear``."""
        if self.last:  # runs on every disconnect: no new dict when there is nothing to clear
            self.last = {}
        self.have_status = False


def _largest(cache: dict[str, Any]) -> int:
    """The most keys at one level of ``cache``."""
    dps = cache.get("dps")
    data_dps = _data_dps(cache) if "data" in cache else None
    return max(
        len(cache),
        len(dps) if isinstance(dps, dict) else 0,
        len(data_dps) if data_dps is not None else 0,
    )


def _data_dps(cache: dict[str, Any]) -> dict[str, Any] | None:
    data = cache.get("data")
    dps = data.get("dps") if isinstance(data, dict) else None
    return dps if isinstance(dps, dict) else None


def _trim_levels(cache: dict[str, Any]) -> int:
    # New keys are appended by the merge: what is beyond the bound is what just came.
    dropped = _trim(cache, keep=_NESTED)
    for nested in (cache.get("dps"), _data_dps(cache)):
        if isinstance(nested, dict):
            dropped += _trim(nested)
    return dropped


def _trim(mapping: dict[str, Any], keep: frozenset[str] = frozenset()) -> int:
    """Drop the keys past the bound (the newest) but those in ``keep``, returning how many."""
    extra = [key for key in list(mapping)[MAX_CACHED_KEYS:] if key not in keep]
    for key in extra:
        del mapping[key]
    return len(extra)
