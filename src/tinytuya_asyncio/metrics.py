"""The event hook every layer above the protocol core reports to.

Attach a sink to see what the library does: ``set_default_sink(sink)`` for everything, or
``metrics=`` on one device. A sink is anything with ``on_event(name, **data)``; it is called
synchronously on the event loop, so it must be quick and must not raise (exceptions are
logged and swallowed). With no sink attached, reporting costs one attribute lookup.

Event names (``data`` keys in brackets; docs/guides/metrics-and-logs.md says when each is sent):

- ``connect`` [device, duration] / ``connect_failed`` [device, error, attempt]
- ``handshake`` [device, duration] (a failed one ends in ``connect_failed``)
- ``request`` [device, cmd, duration] / ``request_failed`` [device, cmd, error]
- ``retry`` [device, cmd, attempt]
- ``push`` [device, cid] / ``update_dropped`` [device, dropped, source]
- ``heartbeat`` [device] / ``disconnect`` [device, reason] / ``reconnect_scheduled`` [device, delay, reason]
- ``bytes_discarded`` [device, count]
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

_LOGGER = logging.getLogger(__name__)


class MetricsSink(Protocol):
    """Receives every event; see the module docstring for names and data."""

    def on_event(self, name: str, /, **data: object) -> None:
        """Handle event ``name`` with its ``data`` (quickly: this runs on the event loop)."""
        ...


class NullSink:
    """Discards everything (the default)."""

    def on_event(self, name: str, /, **data: object) -> None:
        """Do nothing."""


@dataclass
class CounterSink:
    """Counts events and sums their ``duration`` values: a ready-made sink for dashboards."""

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


_default_sink: MetricsSink = NullSink()


def set_default_sink(sink: MetricsSink | None) -> None:
    """Send events of every device without its own ``metrics=`` to ``sink`` (``None`` resets)."""
    global _default_sink  # noqa: PLW0603 - one process-wide hook, by design
    _default_sink = sink if sink is not None else NullSink()


def default_sink() -> MetricsSink:
    return _default_sink


class Reporter:
    """Binds a sink (or the process default) to one device name."""

    __slots__ = ("_device", "_sink")

    def __init__(self, device: str, sink: MetricsSink | None = None) -> None:
        self._device = device
        self._sink = sink

    @property
    def enabled(self) -> bool:
        """False when events go nowhere: callers can skip measuring what they would report."""
        sink = self._sink if self._sink is not None else _default_sink
        return type(sink) is not NullSink

    def __call__(self, name: str, /, **data: object) -> None:
        sink = self._sink if self._sink is not None else _default_sink
        if type(sink) is NullSink:
            return
        try:
            sink.on_event(name, device=self._device, **data)
        except Exception:
            _LOGGER.exception("metrics sink failed on %s", name)
