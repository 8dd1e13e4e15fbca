"""The addresses this process holds a device connection to, so that a scan never opens a second.

Devices accept one client; a second connection from the same host can wedge 3.4 firmware
(PROTOCOL-NOTES section 6). The connection layer records each address while it holds a
connection there; the scanner reports a held address instead of connecting to it. The
registry is process-wide (several event loops in several threads share one network).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HeldDevice:
    """Who holds a connection to an address."""

    host: str
    port: int
    dev_id: str
    version: str


_lock = threading.Lock()
_held: dict[tuple[str, int], HeldDevice] = {}
_counts: Counter[tuple[str, int]] = Counter()


def hold(host: str, port: int, *, dev_id: str, version: str) -> None:
    """Record a connection to ``host:port``; :func:`release` it when it closes."""
    key = (host, port)
    with _lock:
        _held[key] = HeldDevice(host, port, dev_id, version)
        _counts[key] += 1


def release(host: str, port: int) -> None:
    """Forget one connection to ``host:port`` recorded by :func:`hold`."""
    key = (host, port)
    with _lock:
        if _counts[key] <= 1:
            _counts.pop(key, None)
            _held.pop(key, None)
        else:
            _counts[key] -= 1


def held(host: str, port: int) -> HeldDevice | None:
    """Who holds ``host:port``, if anyone in this process does."""
    with _lock:
        return _held.get((host, port))
