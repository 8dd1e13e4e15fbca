"""One exception hierarchy for the whole package.

Lower layers raise these; the device classes convert them, in one place
(:func:`tinytuya_asyncio.devices.errors.error_dict`), into the error dicts that
tinytuya's sync API returns. Every class carries the tinytuya error code it maps to.

``LocalProtocolError`` means *we* were asked to do something wrong (misuse);
``RemoteProtocolError`` means the *peer* sent something wrong (a malformed, forged or
undecryptable frame). Timeouts are also builtin :class:`TimeoutError`, so
``except TimeoutError`` keeps working.
"""

from __future__ import annotations

from tinytuya_asyncio import _tinytuya as tuya


class TuyaError(Exception):
    """Root of every error this package raises."""

    #: The tinytuya error code (``ERR_*``) this error maps to in a sync-style error dict.
    err_code: int = tuya.ERR_CONNECT


class LocalProtocolError(TuyaError):
    """The caller asked for something the protocol cannot do (bad argument, wrong state)."""

    err_code = tuya.ERR_PARAMS


class RemoteProtocolError(TuyaError):
    """The peer sent bytes that break the protocol: bad framing, length, padding or JSON."""

    err_code = tuya.ERR_PAYLOAD


class FrameError(RemoteProtocolError):
    """A frame could not be delimited: bad prefix/suffix, impossible or oversize length."""


class DatagramError(RemoteProtocolError):
    """A discovery datagram was refused: ``reason`` is oversize, truncated, integrity or undecodable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class IntegrityError(RemoteProtocolError):
    """A frame failed its CRC32, HMAC-SHA256 or AES-GCM tag check, or its 3.1 signature."""


class HandshakeError(RemoteProtocolError):
    """Session-key negotiation (3.4/3.5) failed: the peer's answer was wrong or missing."""

    err_code = tuya.ERR_KEY_OR_VER


class InvalidKeyError(HandshakeError):
    """The device's proof of the local key did not verify: the key (or version) is wrong."""


class HandshakeTimeoutError(HandshakeError, TimeoutError):
    """The device did not answer the session-key negotiation in time (retried, unlike a bad key).

    Reported as tinytuya's timeout (902), not as a wrong key: silence proves nothing about it.
    """

    err_code = tuya.ERR_TIMEOUT


class ConnectError(TuyaError):
    """The TCP connection could not be opened (refused, unreachable, reset)."""

    err_code = tuya.ERR_CONNECT


class DeviceOfflineError(ConnectError):
    """The device is unreachable: connect timed out, or it is down and backing off."""

    err_code = tuya.ERR_OFFLINE


class DeviceNotFoundError(DeviceOfflineError):
    """No announcement of the device was heard in time, so its address is unknown (tinytuya: 905)."""


class ConnectionClosedError(TuyaError):
    """The connection closed (by the device, by another client, or locally) mid-exchange.

    Maps to ``ERR_PAYLOAD`` as in tinytuya, which reports a socket that closes under a
    request as an unexpected payload (904).
    """

    err_code = tuya.ERR_PAYLOAD


class TuyaTimeoutError(TuyaError, TimeoutError):
    """The device did not answer within the deadline."""

    err_code = tuya.ERR_TIMEOUT


class DeviceBusyError(TuyaTimeoutError):
    """Too many requests already wait for the device (its ``max_waiting``), and no place came
    free within the deadline: the request was never queued. Reported as tinytuya's 902."""


__all__ = [
    "ConnectError",
    "ConnectionClosedError",
    "DatagramError",
    "DeviceBusyError",
    "DeviceNotFoundError",
    "DeviceOfflineError",
    "FrameError",
    "HandshakeError",
    "HandshakeTimeoutError",
    "IntegrityError",
    "InvalidKeyError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "TuyaError",
    "TuyaTimeoutError",
]
