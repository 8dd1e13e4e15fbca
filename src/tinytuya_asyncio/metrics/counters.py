"""Ready-made counting sinks: events by name (:class:`CounterSink`), or per device (:class:`Counters`).

Counting is opt-in: a device keeps no counters of its own, so one that nobody counts costs
nothing. Attach a :class:`Counters` to the devices to count (``metrics=``, a fleet's
``counters=True``) or make it the process default (``set_default_sink``) to count them all;
its records are made at a device's first event and read as snapshots at any time::

    counters = Counters()
    set_default_sink(counters)
    ...
    counters.total().requests, counters.device(dev_id).errors
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final


@dataclass
class CounterSink:
    """Counts events by name and sums their ``duration`` values (every device together)."""

    counts: Counter[str] = field(default_factory=Counter)
    durations: dict[str, float] = field(default_factory=dict)

    def on_event(self, name: str, /, **data: object) -> None:
        """Count ``name``; add its ``duration``, when it has one, to ``durations[name]``."""
        self.counts[name] += 1
        duration = data.get("duration")
        if isinstance(duration, float):
            self.durations[name] = self.durations.get(name, 0.0) + duration

    def mean_duration(self, name: str) -> float | None:
        """Mean ``duration`` of ``name`` events, or ``None`` when there were none."""
        count = self.counts.get(name, 0)
        return self.durations.get(name, 0.0) / count if count else None


@dataclass(slots=True)
class Counts:
    """What happened to one device (or, summed, to many). Every field only ever grows."""

    #: Frames written to the device (handshake frames included).
    frames_sent: int = 0
    #: Bytes written to the device.
    bytes_sent: int = 0
    #: Frames read from the device.
    frames_received: int = 0
    #: Bytes read from the device.
    bytes_received: int = 0
    #: Requests answered.
    requests: int = 0
    #: Seconds from sending to the answer, summed over the requests answered.
    request_seconds: float = 0.0
    #: Attempts at a request that failed with an error retried on a fresh connection.
    request_failures: int = 0
    #: Requests sent again on a fresh connection.
    retries: int = 0
    #: Requests, heartbeats and handshakes left unanswered within their deadline.
    timeouts: int = 0
    #: TCP connections opened.
    connects: int = 0
    #: Connect attempts that failed (TCP or handshake).
    connect_failures: int = 0
    #: Session keys negotiated (3.4/3.5).
    handshakes: int = 0
    #: Seconds spent negotiating session keys.
    handshake_seconds: float = 0.0
    #: Session key negotiations that failed.
    handshake_failures: int = 0
    #: Times a persistent connection was lost and its supervisor started bringing it back.
    reconnects: int = 0
    #: Automatic heartbeats sent.
    heartbeats: int = 0
    #: Frames the device sent on its own.
    pushes: int = 0
    #: Updates dropped because a consumer fell behind (device streams, receive(), fleet stream).
    dropped: int = 0
    #: Commands held back by the device's minimum interval.
    rate_limited: int = 0
    #: Seconds commands were held back by the minimum interval.
    rate_limited_seconds: float = 0.0
    #: Callers that found the device's queue full.
    queue_full: int = 0
    #: Requests refused because no place in the queue came in time.
    rejected: int = 0
    #: Error dicts returned, by tinytuya error code.
    errors: dict[int, int] = field(default_factory=dict)

    def add(self, other: Counts) -> None:
        """Add ``other``'s counts to these."""
        for name in _NUMBERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.errors.items():
            self.errors[code] = self.errors.get(code, 0) + count

    def copy(self) -> Counts:
        """An independent copy."""
        return replace(self, errors=dict(self.errors))

    def as_dict(self) -> dict[str, Any]:
        """Plain values, ready for JSON (``errors`` keyed by code as text)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _NUMBERS}
        out["errors"] = {str(code): count for code, count in sorted(self.errors.items())}
        return out


_NUMBERS: Final = tuple(f.name for f in fields(Counts) if f.name != "errors")


def _number(data: Mapping[str, object], name: str) -> float:
    value = data.get(name)
    return value if isinstance(value, int | float) else 0


def _send(c: Counts, data: Mapping[str, object]) -> None:
    c.frames_sent += 1
    c.bytes_sent += int(_number(data, "bytes"))


def _receive(c: Counts, data: Mapping[str, object]) -> None:
    c.frames_received += int(_number(data, "frames"))
    c.bytes_received += int(_number(data, "bytes"))


def _request(c: Counts, data: Mapping[str, object]) -> None:
    c.requests += 1
    c.request_seconds += _number(data, "duration")


def _handshake(c: Counts, data: Mapping[str, object]) -> None:
    c.handshakes += 1
    c.handshake_seconds += _number(data, "duration")


def _state(c: Counts, data: Mapping[str, object]) -> None:
    if data.get("state") == "reconnecting" and data.get("previous") != "reconnecting":
        c.reconnects += 1


def _rate_limited(c: Counts, data: Mapping[str, object]) -> None:
    c.rate_limited += 1
    c.rate_limited_seconds += _number(data, "delay")


def _error(c: Counts, data: Mapping[str, object]) -> None:
    code = data.get("code")
    if isinstance(code, int):
        c.errors[code] = c.errors.get(code, 0) + 1


def _dropped(c: Counts, data: Mapping[str, object]) -> None:
    c.dropped += int(_number(data, "dropped"))


def _increment(name: str) -> Callable[[Counts, Mapping[str, object]], None]:
    def count(c: Counts, data: Mapping[str, object]) -> None:
        setattr(c, name, getattr(c, name) + 1)

    return count


_HANDLERS: Final[Mapping[str, Callable[[Counts, Mapping[str, object]], None]]] = {
    "send": _send,
    "receive": _receive,
    "request": _request,
    "request_failed": _increment("request_failures"),
    "retry": _increment("retries"),
    "timeout": _increment("timeouts"),
    "connect": _increment("connects"),
    "connect_failed": _increment("connect_failures"),
    "handshake": _handshake,
    "handshake_failed": _increment("handshake_failures"),
    "state": _state,
    "heartbeat": _increment("heartbeats"),
    "push": _increment("pushes"),
    "update_dropped": _dropped,
    "rate_limited": _rate_limited,
    "queue_full": _increment("queue_full"),
    "request_rejected": _increment("rejected"),
    "error": _error,
}


class Counters:
    """A sink that keeps :class:`Counts` per device id, made at each device's first event.

    Devices forgotten with :meth:`forget` leave their counts in :meth:`total`, so totals
    never go down (what Prometheus counters expect).
    """

    def __init__(self) -> None:
        self._devices: dict[str, Counts] = {}
        self._retired = Counts()

    def __repr__(self) -> str:
        return f"<Counters {len(self._devices)} devices>"

    def __len__(self) -> int:
        return len(self._devices)

    def on_event(self, name: str, /, **data: object) -> None:
        """Count the event for the device it names."""
        handler = _HANDLERS.get(name)
        if handler is None:
            return
        device = data.get("device")
        if not isinstance(device, str):
            return
        counts = self._devices.get(device)
        if counts is None:
            counts = self._devices[device] = Counts()
        handler(counts, data)

    def device(self, dev_id: str) -> Counts:
        """A snapshot of one device's counts (zeros if it has reported nothing)."""
        counts = self._devices.get(dev_id)
        return counts.copy() if counts is not None else Counts()

    def devices(self) -> dict[str, Counts]:
        """A snapshot of every device's counts, by id."""
        return {dev_id: counts.copy() for dev_id, counts in self._devices.items()}

    def total(self, ids: Iterable[str] | None = None) -> Counts:
        """The sum over every device ever counted (or over ``ids`` only)."""
        if ids is None:
            total = self._retired.copy()
            chosen: Iterable[Counts] = self._devices.values()
        else:
            total = Counts()
            chosen = (self._devices[i] for i in ids if i in self._devices)
        for counts in chosen:
            total.add(counts)
        return total

    def forget(self, dev_id: str) -> None:
        """Stop keeping ``dev_id``'s own record; its counts stay in :meth:`total`."""
        counts = self._devices.pop(dev_id, None)
        if counts is not None:
            self._retired.add(counts)

    def snapshot(self) -> dict[str, Any]:
        """``{"total": {...}, "devices": {id: {...}}}`` as plain values (JSON-ready)."""
        return {
            "total": self.total().as_dict(),
            "devices": {dev_id: counts.as_dict() for dev_id, counts in self._devices.items()},
        }
