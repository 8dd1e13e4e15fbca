"""Fault injection: what a misbehaving device does to its frames and connections.

:class:`Faults` is plain mutable data read live by every connection of the device that owns
it, so a test can switch a fault on or off while clients are connected. Each fault applies
for as long as it is set (for example every reply is delayed, or every reply is cut short).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

#: Bytes from the end of a frame to the last byte of its CRC32, HMAC or GCM tag: every
#: frame format ends with its check value followed by a 4-byte suffix.
_CHECK_OFFSET = 5


@dataclass(slots=True)
class Faults:
    """Per-device misbehaviour; every field defaults to "behave"."""

    #: Seconds to hold every outgoing frame (replies, pushes, handshake answers), in order.
    reply_delay: float = 0.0
    #: Accept connections and read frames, never send anything.
    silent: bool = False
    #: Write the first half of the next outgoing frame, then close the connection.
    close_mid_frame: bool = False
    #: Write ``garbage_size`` random bytes before every outgoing frame.
    garbage: bool = False
    #: Bytes of garbage for ``garbage``.
    garbage_size: int = 16
    #: Flip a bit in the CRC32 / HMAC / GCM tag of every outgoing frame.
    corrupt_integrity: bool = False
    #: Answer SESS_KEY_NEG_START with a proof that does not verify (3.4/3.5).
    reject_handshake: bool = False
    #: Close a connection once it has received this many frames (and its replies are out).
    drop_after_frames: int | None = None
    #: Close a connection that received no frame for this many seconds (firmware: ~30 s).
    #: Armed when a connection opens and after each frame it receives.
    idle_timeout: float | None = None
    #: Accept TCP connections and reset them at once.
    refuse_connections: bool = False
    #: Close the connection on each of the next N application requests as it arrives, without
    #: carrying it out or answering (firmware that drops a client on receipt). Counts down.
    drop_requests: int = 0

    def clear(self) -> None:
        """Switch every fault off."""
        defaults = Faults()
        for item in fields(self):
            setattr(self, item.name, getattr(defaults, item.name))


def corrupt_check(frame: bytes) -> bytes:
    """``frame`` with one bit of its integrity check value flipped."""
    mangled = bytearray(frame)
    mangled[-_CHECK_OFFSET] ^= 0x01
    return bytes(mangled)


def garbage_bytes(size: int) -> bytes:
    """Random bytes that can never contain a frame prefix.

    Both prefixes (``000055AA``, ``00006699``) start with two NUL bytes, so replacing every
    NUL guarantees the garbage cannot form or complete a prefix with what follows it.
    """
    return os.urandom(max(size, 0)).replace(b"\x00", b"\xff")
