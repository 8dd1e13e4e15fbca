"""tinytuya's two status caches: every data point ever seen, and the last status of a connection.

``historic`` merges every decoded frame, whatever the connection; ``last`` only merges frames
that arrive while a persistent connection is open, and is dropped with that connection, so
``cached_status()`` never serves values the device may have changed while nobody listened.
"""

from __future__ import annotations

from typing import Any

from tinytuya_asyncio.protocol.dps import merge_results


class StatusCache:
    """The caches of one device (or gateway child)."""

    __slots__ = ("have_status", "historic", "last")

    def __init__(self) -> None:
        #: Every DP ever reported (tinytuya's ``_historic_status``; handed out, not copied).
        self.historic: dict[str, Any] = {}
        #: The status merged while the current persistent connection is open.
        self.last: dict[str, Any] = {}
        #: A status query went out since the cache was last cleared (tinytuya's ``_have_status``).
        self.have_status = False

    def absorb(self, result: dict[str, Any], *, live: bool) -> None:
        """Merge a decoded frame; ``live`` when it arrived on an open persistent connection."""
        merge_results(self.historic, result)
        if live:
            merge_results(self.last, result)

    def current(self) -> dict[str, Any] | None:
        """The last status, if a query was made and something has been merged since."""
        return self.last if self.have_status and self.last else None

    def clear(self) -> None:
        """Forget the last status (the historic one stays), as tinytuya's ``cache_clear``."""
        if self.last:  # runs on every disconnect: no new dict when there is nothing to clear
            self.last = {}
        self.have_status = False
