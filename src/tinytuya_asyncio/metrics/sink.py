"""Where events go: the sink protocol, the process default, and the reporter of one device.

A sink is anything with ``on_event(name, **data)``. It is called synchronously on the event
loop, by the layer that saw the event, so it must be quick: a sink that raises is logged
and the connection carries on; a sink slower than :data:`SLOW_SINK` seconds per call is
reported (a warning at most once a minute, and :func:`sink_health`), since it delays every
device on the loop. With no sink attached, reporting costs one check.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Final, Protocol

_LOGGER = logging.getLogger(__name__)

#: Seconds one ``on_event`` call may take before the sink is reported as slow: at fleet scale
#: a sink runs thousands of times a second, on the loop every device shares.
SLOW_SINK: Final = 0.005
#: Seconds between two warnings about slow sinks (each slow call is still counted).
_SLOW_WARNING_INTERVAL: Final = 60.0


class MetricsSink(Protocol):
    """Receives every event; the names and fields are in ``tinytuya_asyncio.metrics.events``."""

    def on_event(self, name: str, /, **data: object) -> None:
        """Handle event ``name`` with its ``data`` (quickly: this runs on the event loop)."""
        ...


class NullSink:
    """Discards everything (the default)."""

    def on_event(self, name: str, /, **data: object) -> None:
        """Do nothing."""


@dataclass(slots=True)
class SinkHealth:
    """How the process's sinks behaved: calls that raised, and calls slower than SLOW_SINK."""

    #: Calls that raised.
    errors: int = 0
    #: Calls slower than :data:`SLOW_SINK`.
    slow_calls: int = 0
    #: The slowest call seen, in seconds.
    slowest: float = 0.0


_health = SinkHealth()
_warned_errors: set[tuple[type, str]] = set()
_last_slow_warning = -_SLOW_WARNING_INTERVAL


def sink_health() -> SinkHealth:
    """A copy of the process's sink health counters."""
    return replace(_health)


def deliver(sink: MetricsSink, name: str, device: str | None, data: dict[str, object]) -> None:
    """Call ``sink``; never raises, and reports a raising or slow sink."""
    started = time.perf_counter()
    try:
        if device is None:
            sink.on_event(name, **data)
        else:
            sink.on_event(name, device=device, **data)
    except Exception:
        _health.errors += 1
        key = (type(sink), name)
        if key in _warned_errors:  # a sink that fails once usually fails on every event
            _LOGGER.debug("metrics sink %s failed on %s again", type(sink).__qualname__, name)
        else:
            _warned_errors.add(key)
            _LOGGER.exception("metrics sink %s failed on %s", type(sink).__qualname__, name)
    elapsed = time.perf_counter() - started
    if elapsed > SLOW_SINK:
        _slow(sink, name, elapsed)


def _slow(sink: MetricsSink, name: str, elapsed: float) -> None:
    global _last_slow_warning  # noqa: PLW0603 - one rate limit for the process's warnings
    _health.slow_calls += 1
    _health.slowest = max(_health.slowest, elapsed)
    now = time.monotonic()
    if now - _last_slow_warning >= _SLOW_WARNING_INTERVAL:
        _last_slow_warning = now
        _LOGGER.warning(
            "metrics sink %s took %.1f ms on %s: sinks run on the event loop, keep them under %g ms",
            type(sink).__qualname__,
            elapsed * 1000,
            name,
            SLOW_SINK * 1000,
        )


class FanOut:
    """Sends every event to each of several sinks; one that raises does not stop the others."""

    __slots__ = ("sinks",)

    def __init__(self, *sinks: MetricsSink) -> None:
        #: The sinks, in order (a ``NullSink`` is left out).
        self.sinks = tuple(sink for sink in sinks if type(sink) is not NullSink)

    def __repr__(self) -> str:
        return f"FanOut({', '.join(type(sink).__qualname__ for sink in self.sinks)})"

    def on_event(self, name: str, /, **data: object) -> None:
        """Deliver the event to each sink in turn."""
        for sink in self.sinks:
            deliver(sink, name, None, data)


class DefaultSink:
    """Forwards each event to whatever the process default sink is at that moment."""

    def on_event(self, name: str, /, **data: object) -> None:
        """Deliver the event to the current process default sink."""
        sink = _default_sink
        if type(sink) is not NullSink:
            deliver(sink, name, None, data)


_default_sink: MetricsSink = NullSink()


def set_default_sink(sink: MetricsSink | None) -> None:
    """Send events of every device without its own ``metrics=`` to ``sink`` (``None`` resets)."""
    global _default_sink  # noqa: PLW0603 - one process-wide hook, by design
    _default_sink = sink if sink is not None else NullSink()


def default_sink() -> MetricsSink:
    return _default_sink


class Reporter:
    """Binds a sink (or the process default) to one device id.

    Every event it reports carries ``device``: the full id, so a sink can tell devices
    apart (ids are redacted only where text is formatted, as ``JsonLogSink`` does). A
    reporter made with ``device=None`` (the scanner's, a fleet's) passes ``device`` only
    when the caller gives it.
    """

    __slots__ = ("device", "sink")

    def __init__(self, device: str | None, sink: MetricsSink | None = None) -> None:
        #: The id every event carries as ``device`` (``None``: none added).
        self.device = device
        #: This reporter's own sink; ``None`` follows the process default.
        self.sink = sink

    def __repr__(self) -> str:
        return f"<Reporter {type(self.sink).__qualname__ if self.sink is not None else 'default'}>"

    @property
    def enabled(self) -> bool:
        """False when events go nowhere: callers can skip measuring what they would report."""
        sink = self.sink if self.sink is not None else _default_sink
        return type(sink) is not NullSink

    def __call__(self, name: str, /, **data: object) -> None:
        sink = self.sink if self.sink is not None else _default_sink
        if type(sink) is NullSink:
            return
        deliver(sink, name, self.device, data)
