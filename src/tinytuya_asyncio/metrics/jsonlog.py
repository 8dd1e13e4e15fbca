"""Structured logs: one JSON object per event, on a standard :mod:`logging` logger.

:class:`JsonLogSink` is a sink that logs each event as a record whose message is a JSON
object of the event's fields, at the level the catalogue gives it (per-frame events at
DEBUG). :class:`JsonFormatter` renders any record as one JSON line, merging an event's
fields instead of quoting them, so a handler with it writes lines a log shipper parses::

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.getLogger("tinytuya_asyncio").addHandler(handler)
    set_default_sink(JsonLogSink())

Nothing secret is ever written: no event carries a key (local or session), device ids are
shortened (``redact_ids=False`` keeps them whole, for a private log store), and frames and
reads appear as hex dumps only when the logger is enabled for DEBUG.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final

from tinytuya_asyncio.metrics.events import CATALOGUE
from tinytuya_asyncio.metrics.redact import redact_id

#: The logger events go to by default.
EVENTS_LOGGER: Final = "tinytuya_asyncio.events"
#: The record attribute holding an event's fields, for :class:`JsonFormatter` and handlers.
FIELDS_ATTRIBUTE: Final = "tuya_event"
_BYTES: Final = (bytes, bytearray, memoryview)


class JsonLogSink:
    """Logs every event as one JSON object; see the module docstring."""

    def __init__(self, logger: logging.Logger | str = EVENTS_LOGGER, *, redact_ids: bool = True) -> None:
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.redact_ids = redact_ids

    def __repr__(self) -> str:
        return f"<JsonLogSink {self.logger.name}>"

    def on_event(self, name: str, /, **data: object) -> None:
        """Log the event, when the logger is enabled for its level."""
        spec = CATALOGUE.get(name)
        level = spec.level if spec is not None else logging.INFO
        logger = self.logger
        if not logger.isEnabledFor(level):
            return  # the common case for per-frame events: nothing is formatted
        dumps = logger.isEnabledFor(logging.DEBUG)
        fields: dict[str, Any] = {"event": name}
        for key, value in data.items():
            if isinstance(value, _BYTES):
                if dumps:  # hex dumps only at debug level
                    fields[key] = value.hex()
            elif key == "device" and self.redact_ids and isinstance(value, str):
                fields[key] = redact_id(value)
            else:
                fields[key] = _plain(value)
        logger.log(
            level, "%s", json.dumps(fields, default=str, ensure_ascii=False), extra={FIELDS_ATTRIBUTE: fields}
        )


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats each record as one JSON object: time, level, logger, then fields or message."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, dict):
            out.update(fields)
        else:
            out["message"] = record.getMessage()
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)
