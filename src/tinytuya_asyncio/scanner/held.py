"""The addresses this process holds a device connection to, so that a scan never opens a second.

Devices accept one client; a second connection from the same host can wedge 3.4 firmware
(docs/PROTOCOL.md#firmware-quirks-and-what-the-library-does-about-them). The connection
layer records each address while it holds a connection there; the scanner reports a held
address instead of connecting to it. The registry is process-wide (several event loops in
several threads share one network).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HeldDevice:
    """Who holds a connection to an address."""

    host: str
    port: int
    dev_id: str
    version: str


_lock = threading.Lock()
# Per address: who holds it (device id, version) and how many connections. Plain tuples:
# recorded on every connect, while only a scan reads them.
_held: dict[tuple[str, int], tuple[str, str, int]] = {}


def hold(host: str, port: int, *, dev_id: str, version: str) -> None:
    """Record a connection to ``host:port``; :func:`release` it when it closes."""
    key = (host, port)
    with _lock:
        known = _held.get(key)
        _held[key] = (dev_id, version, known[2] + 1 if known is not None else 1)


def release(host: str, port: int) -> None:
    """Forget one connection to ``host:port`` recorded by :func:`hold`."""
    key = (host, port)
    with _lock:
        known = _held.get(key)
        if known is None:
            return
        if known[2] <= 1:
            del _held[key]
        else:
            _held[key] = (known[0], known[1], known[2] - 1)


def held(host: str, port: int) -> HeldDevice | None:
    """Who holds ``host:port``, if anyone in this process does."""
    with _lock:
        known = _held.get((host, port))
    return None if known is None else HeldDevice(host, port, known[0], known[1])
