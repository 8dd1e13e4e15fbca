"""What a :class:`~tinytuya_asyncio.protocol.session.Session` reports after receiving bytes.

See docs/PROTOCOL.md#reading-a-stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinytuya_asyncio.protocol.codec import Message


# Read-only by convention, not frozen: one is built per frame, and a frozen dataclass
# costs three times as much to construct (0.6 against 0.2 us).
@dataclass(slots=True)
class MessageReceived:
    """A verified, decrypted message from the peer."""

    message: Message


@dataclass(frozen=True, slots=True)
class HandshakeRequested:
    """Device role: a client sent its nonce; answer with
    :meth:`~tinytuya_asyncio.protocol.session.Session.answer_handshake`."""

    client_nonce: bytes
    seqno: int


@dataclass(frozen=True, slots=True)
class HandshakeResponded:
    """Client role: the device proved the key; send
    :meth:`~tinytuya_asyncio.protocol.session.Session.finish_handshake`."""


@dataclass(frozen=True, slots=True)
class HandshakeCompleted:
    """Device role: the client proved the key; the session key is in use."""


@dataclass(frozen=True, slots=True)
class BytesDiscarded:
    """Bytes that could not start a frame were skipped to find the next one."""

    count: int


Event = MessageReceived | HandshakeRequested | HandshakeResponded | HandshakeCompleted | BytesDiscarded
