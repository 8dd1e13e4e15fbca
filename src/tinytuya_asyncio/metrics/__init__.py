"""The event hook every layer above the protocol core reports to, with counters and JSON logs.

Attach a sink to see what the library does: ``set_default_sink(sink)`` for every device, or
``metrics=`` on one device (a fleet: ``Fleet(metrics=...)``). A sink is anything with
``on_event(name, **data)``; :data:`tinytuya_asyncio.metrics.events.CATALOGUE` lists every
name and its fields.
Ready-made sinks: :class:`Counters` (counts per device, snapshots any time),
:class:`CounterSink` (events by name), :class:`JsonLogSink` (one JSON object per event on a
logger, with :class:`JsonFormatter`), :class:`FanOut` (several at once). Modules:
``sink`` (delivery, the default, reporters), ``events`` (the catalogue), ``counters``,
``jsonlog`` and ``redact``.
"""

from __future__ import annotations

from tinytuya_asyncio.metrics.counters import Counters, CounterSink, Counts
from tinytuya_asyncio.metrics.events import CATALOGUE, EventSpec
from tinytuya_asyncio.metrics.jsonlog import EVENTS_LOGGER, JsonFormatter, JsonLogSink
from tinytuya_asyncio.metrics.sink import (
    SLOW_SINK,
    DefaultSink,
    FanOut,
    MetricsSink,
    NullSink,
    Reporter,
    SinkHealth,
    default_sink,
    set_default_sink,
    sink_health,
)

__all__ = [
    "CATALOGUE",
    "EVENTS_LOGGER",
    "SLOW_SINK",
    "CounterSink",
    "Counters",
    "Counts",
    "DefaultSink",
    "EventSpec",
    "FanOut",
    "JsonFormatter",
    "JsonLogSink",
    "MetricsSink",
    "NullSink",
    "Reporter",
    "SinkHealth",
    "default_sink",
    "set_default_sink",
    "sink_health",
]
