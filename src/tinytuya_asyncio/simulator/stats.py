"""Counters a simulated device keeps, for tests and benchmarks to assert on."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field

#: How many requests :attr:`DeviceStats.received` keeps.
RECEIVED_LOG = 256


@dataclass(slots=True)
class DeviceStats:
    """What happened on a device's connections since it was created."""

    #: TCP connections accepted (refused ones included).
    connections: int = 0
    #: Connections closed at once: REFUSE policy or the ``refuse_connections`` fault.
    refused: int = 0
    #: Connections closed because a newer client replaced them (REPLACE policy).
    replaced: int = 0
    #: Session keys negotiated (3.4/3.5).
    handshakes: int = 0
    #: Handshakes answered with a wrong proof (``reject_handshake`` fault).
    handshakes_rejected: int = 0
    #: Frames decoded from clients (handshake frames included).
    frames_received: int = 0
    #: Frames written to clients (a frame cut by ``close_mid_frame`` included).
    frames_sent: int = 0
    #: Frames the ``silent`` fault swallowed.
    frames_suppressed: int = 0
    #: STATUS pushes written (one per client reached).
    pushes: int = 0
    #: Bytes skipped while resynchronising on garbage.
    bytes_discarded: int = 0
    #: Connections closed because a client sent a frame the session could not accept.
    protocol_errors: int = 0
    #: Connections closed by the ``idle_timeout`` fault.
    idle_closes: int = 0
    #: Connections closed by the ``drop_after_frames`` fault.
    drops: int = 0
    #: Application requests received, by command id.
    requests: Counter[int] = field(default_factory=Counter)
    #: The most recent application requests as ``(cmd, decrypted body)``, oldest first, so
    #: tests can compare what different clients sent.
    received: deque[tuple[int, bytes]] = field(default_factory=lambda: deque(maxlen=RECEIVED_LOG))
    #: When each request in :attr:`received` arrived (the event loop's clock), so tests can
    #: check how far apart a client spaced its commands.
    received_at: deque[float] = field(default_factory=lambda: deque(maxlen=RECEIVED_LOG))
