"""The sans-I/O protocol core: frames, per-version codec, handshake, payloads, DPS merge,
discovery datagrams.

Nothing here touches a socket, an event loop, a clock or a random source; both the asyncio
client and the simulator drive it, in the client and device roles respectively.

See docs/PROTOCOL.md#the-tuya-lan-protocol-31-to-35.
"""

from __future__ import annotations

from tinytuya_asyncio.protocol.codec import Codec, Message, Role
from tinytuya_asyncio.protocol.discovery import (
    MAX_DATAGRAM,
    Datagram,
    DatagramFormat,
    decode_datagram,
    encode_announcement,
    encode_probe,
)
from tinytuya_asyncio.protocol.events import (
    BytesDiscarded,
    Event,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    MessageReceived,
)
from tinytuya_asyncio.protocol.frames import DEFAULT_MAX_PAYLOAD, Frame, FrameReader
from tinytuya_asyncio.protocol.handshake import Handshake, HandshakeState, derive_session_key
from tinytuya_asyncio.protocol.payloads import CommandTemplate, PayloadBuilder, command_templates, encode_json
from tinytuya_asyncio.protocol.session import Session
from tinytuya_asyncio.protocol.versions import SUPPORTED_VERSIONS, VersionSpec, version_spec

__all__ = [
    "DEFAULT_MAX_PAYLOAD",
    "MAX_DATAGRAM",
    "SUPPORTED_VERSIONS",
    "BytesDiscarded",
    "Codec",
    "CommandTemplate",
    "Datagram",
    "DatagramFormat",
    "Event",
    "Frame",
    "FrameReader",
    "Handshake",
    "HandshakeCompleted",
    "HandshakeRequested",
    "HandshakeResponded",
    "HandshakeState",
    "Message",
    "MessageReceived",
    "PayloadBuilder",
    "Role",
    "Session",
    "VersionSpec",
    "command_templates",
    "decode_datagram",
    "derive_session_key",
    "encode_announcement",
    "encode_json",
    "encode_probe",
    "version_spec",
]
