"""Observable connection state: what a device's link is doing, and why it went down."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tinytuya_asyncio.exceptions import (
    ConnectError,
    ConnectionClosedError,
    DeviceOfflineError,
    InvalidKeyError,
    RemoteProtocolError,
    TuyaError,
)


class ConnectionState(Enum):
    """Where a device's link is."""

    DISCONNECTED = "disconnected"  # no socket; the next request connects
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"  # persistent link lost; the supervisor is bringing it back
    CLOSED = "closed"  # close() was called


class DisconnectReason(Enum):
    """Why a connection ended or could not be made."""

    OFFLINE = "offline"  # connect timed out or the device is unreachable
    REFUSED = "refused"  # connect refused or reset
    CLOSED_BY_DEVICE = "closed-by-device"
    REPLACED = "replaced"  # the device keeps dropping us right after connect: another client holds it
    BAD_KEY = "bad-key"  # the handshake showed the local key (or version) is wrong
    PROTOCOL_ERROR = "protocol-error"  # corrupt, forged or undecryptable frames
    TIMEOUT = "timeout"  # no reply to a request or heartbeat in time
    #: A request was cancelled mid-exchange: the connection was renewed so that its late
    #: reply cannot be taken as the answer to the next request.
    CANCELLED = "cancelled"
    CLOSED = "closed"  # we closed it


@dataclass(frozen=True, slots=True)
class StateChange:
    """One transition, as delivered to state listeners."""

    #: The state the link is in now.
    state: ConnectionState
    #: Why the connection ended or could not be made (``None`` when nothing went wrong).
    reason: DisconnectReason | None = None
    #: The error behind ``reason``, when there was one.
    error: TuyaError | None = None
    #: Seconds until the supervisor's next attempt, when it is backing off.
    retry_in: float | None = None


def reason_for(error: BaseException) -> DisconnectReason:
    """Classify an error into a disconnect reason."""
    if isinstance(error, TimeoutError):  # handshake timeouts included: not proof of a bad key
        return DisconnectReason.TIMEOUT
    # Only a device's failed proof of the key says the key is wrong; a connection closed or
    # reset during the handshake says nothing about it (another client may hold the device).
    if isinstance(error, InvalidKeyError):
        return DisconnectReason.BAD_KEY
    if isinstance(error, DeviceOfflineError):
        return DisconnectReason.OFFLINE
    if isinstance(error, ConnectionClosedError):
        return DisconnectReason.CLOSED_BY_DEVICE
    if isinstance(error, ConnectError):
        return DisconnectReason.REFUSED
    if isinstance(error, RemoteProtocolError):
        return DisconnectReason.PROTOCOL_ERROR
    return DisconnectReason.CLOSED
