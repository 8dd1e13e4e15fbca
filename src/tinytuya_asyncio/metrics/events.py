"""The catalogue of events a sink receives: names, fields, who emits them and when.

This list is the stable interface for integrations: a name or field is only ever added,
never renamed or given another meaning. Every event about a device carries ``device``, the
device's full id (a gateway's traffic carries the gateway's id, with ``cid`` naming the
sub-device where there is one). Durations are seconds, measured with ``time.perf_counter``;
``error`` fields are exception class names and ``code`` fields tinytuya's error numbers.
The README's "Metrics" section shows the same table; a test keeps the two, and every
emission site, in step with it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event: its fields (besides ``device``), where it comes from, its log level."""

    #: The event's name, as sinks receive it.
    name: str
    #: Its fields besides ``device``, in order.
    fields: tuple[str, ...]
    #: When the event is emitted.
    when: str
    #: False for events that are not about one device (the scanner's).
    device: bool = True
    #: The level :class:`~.jsonlog.JsonLogSink` logs it at: per-frame events are DEBUG.
    level: int = logging.INFO


def _events(*specs: EventSpec) -> Mapping[str, EventSpec]:
    return {spec.name: spec for spec in specs}


_D = logging.DEBUG
_W = logging.WARNING

#: Every event, by name: the stable catalogue (see the module docstring).
CATALOGUE: Final[Mapping[str, EventSpec]] = _events(
    # -- connection -------------------------------------------------------------------------
    EventSpec("connect", ("host", "port", "duration"), "a TCP connection opened (before any handshake)"),
    EventSpec(
        "connect_failed",
        ("error", "code", "attempt"),
        "a connect attempt failed (TCP or handshake); attempt counts from 1 in its schedule",
        level=_W,
    ),
    EventSpec("handshake", ("duration",), "a 3.4/3.5 session key was negotiated"),
    EventSpec("handshake_failed", ("error", "code", "duration"), "session key negotiation failed", level=_W),
    EventSpec(
        "send",
        ("cmd", "bytes", "frame"),
        "one frame written: bytes on the wire, and the frame itself (bytes)",
        level=_D,
    ),
    EventSpec(
        "receive",
        ("bytes", "frames", "data"),
        "one read from the socket: bytes, frames it completed, and the data (a memoryview, "
        "valid only during the call: copy it to keep it)",
        level=_D,
    ),
    EventSpec(
        "request",
        ("cmd", "cid", "duration", "waited"),
        "a request answered: duration from sending to the answer, waited from the call to the "
        "sending (queue, rate limit, connect)",
    ),
    EventSpec(
        "request_failed",
        ("cmd", "cid", "error", "code", "attempt"),
        "one attempt of a request failed with an error that is retried on a fresh connection",
        level=_W,
    ),
    EventSpec("retry", ("cmd", "cid", "attempt"), "a request is sent again on a fresh connection"),
    EventSpec(
        "timeout",
        ("cmd", "timeout"),
        "nothing answered within the deadline: a request (its cmd), a heartbeat (9) or the "
        "session key negotiation (3)",
        level=_W,
    ),
    EventSpec("heartbeat", (), "an automatic heartbeat was sent on an idle persistent connection", level=_D),
    EventSpec("push", ("cid",), "a frame that answered no request arrived (a STATUS push)", level=_D),
    EventSpec(
        "state",
        ("state", "previous", "reason", "error", "retry_in"),
        "the connection state changed (ConnectionState and DisconnectReason values)",
    ),
    EventSpec(
        "reconnect_scheduled",
        ("reason", "delay", "attempt"),
        "the reconnect supervisor will try again in delay seconds (0 right after a loss)",
    ),
    EventSpec("bytes_discarded", ("count",), "bytes skipped while looking for a frame (garbage)", level=_W),
    # -- rate limits and backpressure -------------------------------------------------------
    EventSpec(
        "rate_limited",
        ("cmd", "delay"),
        "a command waits delay seconds for the device's minimum interval between commands",
        level=_D,
    ),
    EventSpec(
        "queue_full",
        ("cmd", "waiting", "timeout"),
        "a caller found max_waiting requests queued: it waits up to timeout seconds for a place",
        level=_W,
    ),
    EventSpec(
        "request_rejected",
        ("cmd", "waited"),
        "a caller got no place in the queue in time: it gets tinytuya's 902 error dict",
        level=_W,
    ),
    # -- devices ----------------------------------------------------------------------------
    EventSpec(
        "error",
        ("cid", "code", "error", "message"),
        "a device method returned tinytuya's error dict (code is its Err as a number)",
        level=_W,
    ),
    EventSpec(
        "update_dropped",
        ("cid", "dropped", "source"),
        "updates dropped because a consumer fell behind; source: updates, receive or fleet",
        level=_W,
    ),
    # -- scanner ----------------------------------------------------------------------------
    EventSpec("scan_started", ("listen", "probe_targets"), "a scanner opened its sockets", device=False),
    EventSpec(
        "scan_found",
        ("ip", "version", "source"),
        "a scanner found a device, or saw it at a new address or version (device: its id, "
        "'' when only its address is known)",
    ),
    EventSpec(
        "scan_dropped", ("reason",), "a scanner refused a datagram (oversize, truncated, ...)", device=False
    ),
    EventSpec("scan_sweep", ("addresses",), "a TCP sweep started", device=False),
    EventSpec("scan_sweep_done", ("addresses", "found", "duration"), "a TCP sweep finished", device=False),
    EventSpec(
        "scan_closed",
        ("found", "datagrams", "duration"),
        "a scanner closed: devices found, datagrams heard, seconds it ran",
        device=False,
    ),
)
