"""The fuzz invariant: hostile bytes yield frames, events or RemoteProtocolError, nothing else
(and hostile datagrams a decoded datagram or DatagramError).

Random bytes almost never get past a CRC, so most of the streams here are built from valid
frames (mutated, truncated, duplicated, spliced) and from frames whose checksum, HMAC or
tag is right but whose body is junk: those reach the decryption and handshake code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final

import pytest
import tinytuya
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol.helpers import (
    APP_COMMANDS,
    CLIENT_NONCE,
    DEVICE_NONCE,
    KEY,
    KEYED_VERSIONS,
    VERSIONS,
    IVs,
    chunks,
    drain,
)
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DatagramError, RemoteProtocolError
from tinytuya_asyncio.protocol import (
    MAX_DATAGRAM,
    BytesDiscarded,
    Codec,
    Frame,
    FrameReader,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    HandshakeState,
    MessageReceived,
    Role,
    Session,
    decode_datagram,
    derive_session_key,
    encode_announcement,
    encode_probe,
    version_spec,
)

MAX_PAYLOAD = 256
#: The most a reader may hold: one frame at the cap (6699: 18-byte header + 4-byte suffix).
BUFFER_BOUND = MAX_PAYLOAD + 18 + 4
EVENT_TYPES = (MessageReceived, HandshakeRequested, HandshakeResponded, HandshakeCompleted, BytesDiscarded)
COMMANDS = [*APP_COMMANDS, tuya.SESS_KEY_NEG_START, tuya.SESS_KEY_NEG_RESP, tuya.SESS_KEY_NEG_FINISH]

#: Where a session under test stands when the hostile bytes arrive.
STATES = ["client-established", "device-established"]
HANDSHAKE_STATES = [
    "client-await-response",
    "client-response-verified",
    "device-idle",
    "device-start-received",
    "device-await-finish",
]
SCENARIOS = [(v, s) for v in VERSIONS for s in STATES] + [
    (v, s) for v in KEYED_VERSIONS for s in HANDSHAKE_STATES
]


@cache
def session_key(version: str) -> bytes | None:
    spec = version_spec(version)
    return derive_session_key(spec, KEY, CLIENT_NONCE, DEVICE_NONCE) if spec.needs_session_key else None


@cache
def valid_frames(version: str) -> tuple[bytes, ...]:
    """Frames either end may legitimately send: handshake, and commands under each key."""
    ivs = IVs(version)
    frames = []
    keys = [KEY] + ([k] if (k := session_key(version)) else [])
    for key in keys:
        for role in (Role.CLIENT, Role.DEVICE):
            codec = Codec(version, KEY, role)
            if key != KEY:
                codec.use_session_key(key)
            code = 0 if role is Role.DEVICE else None
            frames.append(
                codec.encode(tuya.CONTROL, b'{"dps":{"1":true,"2":"a b"}}', 5, retcode=code, iv=ivs())
            )
            frames.append(codec.encode(tuya.DP_QUERY, b'{"gwId":"x","devId":"x"}', 6, retcode=code, iv=ivs()))
            frames.append(codec.encode(tuya.HEART_BEAT, b"", 7, retcode=code, iv=ivs()))
            frames.append(codec.encode(tuya.STATUS, b'{"dps":{"1":false}}', 0, retcode=code, iv=ivs()))
    if version in KEYED_VERSIONS:
        client = Session(Role.CLIENT, version, KEY)
        device = Session(Role.DEVICE, version, KEY)
        start = client.start_handshake(CLIENT_NONCE, iv=ivs())
        device.receive_data(start)
        drain(device)
        resp = device.answer_handshake(DEVICE_NONCE, seqno=1, iv=ivs())
        client.receive_data(resp)
        drain(client)
        frames += [start, resp, client.finish_handshake(iv=ivs())]
    return tuple(frames)


def session_in(version: str, state: str) -> Session:
    """A fresh session of ``version`` standing in ``state`` (see STATES)."""
    role = Role.CLIENT if state.startswith("client") else Role.DEVICE
    client = Session(Role.CLIENT, version, KEY, max_payload=MAX_PAYLOAD)
    device = Session(Role.DEVICE, version, KEY, max_payload=MAX_PAYLOAD)
    ivs = IVs(version)
    steps = {
        "device-idle": 0,
        "client-await-response": 1,
        "device-start-received": 1,
        "device-await-finish": 2,
        "client-response-verified": 2,
    }.get(state, 3)
    if client.spec.needs_session_key:
        if steps >= 1:
            device.receive_data(client.start_handshake(CLIENT_NONCE, iv=ivs()))
            drain(device)
        if steps >= 2:
            client.receive_data(device.answer_handshake(DEVICE_NONCE, seqno=1, iv=ivs()))
            drain(client)
        if steps >= 3:
            device.receive_data(client.finish_handshake(iv=ivs()))
            drain(device)
    session = client if role is Role.CLIENT else device
    expected_state = {
        "device-idle": HandshakeState.IDLE,
        "client-await-response": HandshakeState.AWAIT_RESPONSE,
        "device-start-received": HandshakeState.START_RECEIVED,
        "device-await-finish": HandshakeState.AWAIT_FINISH,
        "client-response-verified": HandshakeState.RESPONSE_VERIFIED,
    }.get(state, HandshakeState.ESTABLISHED)
    assert session.handshake_state is expected_state
    return session


# -- strategies ------------------------------------------------------------------------------


def edge_bodies(version: str) -> list[bytes]:
    """Bodies that sit on the decoder's boundaries: bare headers, empty ciphertext, bad base64."""
    spec = version_spec(version)
    return [
        b"",
        spec.header,
        spec.version_bytes,
        spec.header + bytes(16),
        spec.header + b"x",
        bytes(15),
        bytes(16),
        b"3.1" + b"0" * 16,
        b"3.1" + b"0" * 16 + b"!!!!",
        b"3.1" + b"0" * 16 + b"YWJj",
        b'{"dps":{"1":true}}',
    ]


def raw_frame(
    version: str, key: bytes, cmd: int, seqno: int, body: bytes, retcode: int | None, iv: bytes
) -> bytes:
    """A frame whose CRC/HMAC/tag is right around a body that was never encrypted."""
    spec = version_spec(version)
    if spec.prefix == tuya.PREFIX_6699:
        message = tinytuya.TuyaMessage(seqno, cmd, retcode, body, 0, True, tuya.PREFIX_6699, iv)
        return bytes(tinytuya.pack_message(message, hmac_key=key))
    if retcode is not None:
        body = struct.pack(">I", retcode) + body
    message = tinytuya.TuyaMessage(seqno, cmd, None, body, 0, True, tuya.PREFIX_55AA, None)
    return bytes(tinytuya.pack_message(message, hmac_key=key if spec.number >= 3.4 else None))


@st.composite
def junk_frames(draw: st.DrawFn, version: str, receiver: Role | None) -> bytes:
    """A frame whose integrity check passes but whose body is arbitrary.

    With a ``receiver``, the frame has the shape that role expects (a retcode when it comes
    from a device) more often than not, so the junk reaches the decryption code.
    """
    key = draw(st.sampled_from([KEY] + ([k] if (k := session_key(version)) else [])))
    cmd = draw(st.sampled_from(COMMANDS) | st.integers(0, 2**32 - 1))
    seqno = draw(st.integers(0, 2**32 - 1))
    body = draw(
        st.sampled_from(edge_bodies(version))
        | st.binary(max_size=80)
        | st.binary(max_size=40).map(lambda b: version_spec(version).header + b)
    )
    from_device = receiver is Role.CLIENT if receiver and draw(st.integers(0, 3)) else draw(st.booleans())
    retcode = draw(st.integers(0, 2**32 - 1)) if from_device else None
    iv = draw(st.binary(min_size=12, max_size=12))
    if draw(st.booleans()):
        # Correctly encrypted under the key, in that role's format.
        codec = Codec(version, KEY, Role.DEVICE if from_device else Role.CLIENT)
        if key != KEY:
            codec.use_session_key(key)
        return codec.encode(cmd, body, seqno, retcode=retcode, iv=iv)
    return raw_frame(version, key, cmd, seqno, body, retcode, iv)


@st.composite
def hostile_streams(draw: st.DrawFn, version: str, receiver: Role | None = None) -> bytes:
    """Valid and junk frames with bit flips, truncations, duplications, splices and noise."""
    pieces = draw(
        st.lists(
            st.sampled_from(valid_frames(version)) | junk_frames(version, receiver) | st.binary(max_size=64),
            max_size=5,
        )
    )
    data = bytearray(b"".join(pieces))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "duplicate", "splice", "insert", "delete"]))
        size = len(data)
        i = draw(st.integers(0, size))
        j = draw(st.integers(0, size))
        lo, hi = min(i, j), max(i, j)
        if op == "flip" and size:
            data[min(i, size - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[i:]
        elif op == "duplicate":
            data[hi:hi] = data[lo:hi]
        elif op == "splice":
            other = draw(st.sampled_from(valid_frames(version)))
            data[i:] = other[draw(st.integers(0, len(other))) :]
        elif op == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[lo:hi]
    return bytes(data)


cut_points = st.lists(st.integers(0, 2048), max_size=6)


# -- the reader ------------------------------------------------------------------------------


def _check_frames(frames: list[Frame], max_payload: int) -> None:
    for frame in frames:
        assert isinstance(frame, Frame)
        assert frame.length <= max_payload
        if frame.prefix == tuya.PREFIX_6699:
            assert frame.data[:4] == tuya.PREFIX_6699_BIN
            assert frame.data[-4:] == tuya.SUFFIX_6699_BIN
            assert len(frame.data) == 18 + frame.length + 4
        else:
            assert frame.prefix == tuya.PREFIX_55AA
            assert frame.data[:4] == tuya.PREFIX_55AA_BIN
            assert frame.data[-4:] == tuya.SUFFIX_55AA_BIN
            assert len(frame.data) == 16 + frame.length


@given(data=st.binary(max_size=4096), cuts=cut_points)
def test_reader_survives_random_bytes(data: bytes, cuts: list[int]) -> None:
    reader = FrameReader(max_payload=MAX_PAYLOAD)
    total = 0
    for piece in chunks(data, cuts):
        frames = reader.feed(piece)
        _check_frames(frames, MAX_PAYLOAD)
        total += sum(len(f.data) for f in frames)
        assert reader.buffered <= BUFFER_BOUND
    # Every byte is accounted for: in a frame, discarded, or still buffered.
    assert total + reader.discarded + reader.buffered == len(data)


@pytest.mark.parametrize("version", VERSIONS)
@given(data=st.data(), cuts=cut_points)
def test_reader_survives_mutated_frames(version: str, data: st.DataObject, cuts: list[int]) -> None:
    stream = data.draw(hostile_streams(version))
    reader = FrameReader(max_payload=MAX_PAYLOAD)
    total = 0
    for piece in chunks(stream, cuts):
        frames = reader.feed(memoryview(piece))
        _check_frames(frames, MAX_PAYLOAD)
        total += sum(len(f.data) for f in frames)
        assert reader.buffered <= BUFFER_BOUND
    assert total + reader.discarded + reader.buffered == len(stream)


# -- sessions --------------------------------------------------------------------------------


@dataclass
class Outcome:
    messages: int = 0
    events: int = 0
    errors: int = 0


def feed_hostile(session: Session, stream: bytes | bytearray | memoryview, cuts: list[int]) -> Outcome:
    """Feed ``stream``; every event must be a known event, every error a RemoteProtocolError."""
    outcome = Outcome()
    pieces = list(chunks(bytes(stream), cuts)) if cuts else [stream]
    for piece in pieces:
        session.receive_data(piece)
        assert session.buffered <= BUFFER_BOUND
        while True:
            try:
                event = session.next_event()
            except RemoteProtocolError:
                outcome.errors += 1
                continue
            if event is None:
                break
            assert isinstance(event, EVENT_TYPES)
            outcome.events += 1
            outcome.messages += isinstance(event, MessageReceived)
    return outcome


@pytest.mark.parametrize(("version", "state"), SCENARIOS, ids=[f"{v}-{s}" for v, s in SCENARIOS])
@given(data=st.data(), cuts=cut_points)
def test_session_raises_only_remote_protocol_errors(
    version: str, state: str, data: st.DataObject, cuts: list[int]
) -> None:
    session = session_in(version, state)
    feed_hostile(session, data.draw(hostile_streams(version, session.role)), cuts)


@pytest.mark.parametrize(("version", "state"), SCENARIOS, ids=[f"{v}-{s}" for v, s in SCENARIOS])
@given(data=st.binary(max_size=2048), cuts=cut_points)
def test_session_survives_random_bytes(version: str, state: str, data: bytes, cuts: list[int]) -> None:
    feed_hostile(session_in(version, state), data, cuts)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("make", [bytes, bytearray, memoryview], ids=["bytes", "bytearray", "memoryview"])
def test_every_single_bit_flip_of_a_frame_is_refused(
    version: str, make: Callable[[bytes], bytes | bytearray | memoryview]
) -> None:
    """Exhaustive: each bit of a real command frame flipped in turn, fed to an established device."""
    codec = Codec(version, KEY, Role.CLIENT)
    if key := session_key(version):
        codec.use_session_key(key)
    body = b'{"dps":{"1":true}}'
    frame = codec.encode(tuya.CONTROL, body, 5, iv=IVs(version)())
    assert feed_hostile(session_in(version, "device-established"), frame, []).messages == 1
    for i in range(len(frame) * 8):
        mutated = bytearray(frame)
        mutated[i // 8] ^= 1 << (i % 8)
        outcome = feed_hostile(session_in(version, "device-established"), make(bytes(mutated)), [])
        # CRC32, HMAC and GCM all catch a single flipped bit: no message gets through.
        assert outcome.messages == 0, f"bit {i} flipped went unnoticed"


@pytest.mark.parametrize(("version", "state"), SCENARIOS, ids=[f"{v}-{s}" for v, s in SCENARIOS])
def test_integrity_valid_edge_bodies_are_contained(version: str, state: str) -> None:
    """Deterministic sweep: every edge body, under every key, as every command, in both frame shapes."""
    keys = [KEY] + ([k] if (k := session_key(version)) else [])
    for key in keys:
        for cmd in COMMANDS:
            for body in edge_bodies(version):
                for retcode in (None, 0):
                    frame = raw_frame(version, key, cmd, 1, body, retcode, bytes(12))
                    feed_hostile(session_in(version, state), frame, [])


# -- discovery datagrams -----------------------------------------------------------------------


def _valid_datagrams() -> list[bytes]:
    info = {"ip": "127.0.0.1", "gwId": "bf0123456789abcdefgh", "version": "3.3", "productKey": "k"}
    datagrams = [encode_announcement(info, v, iv=bytes(12)) for v in VERSIONS]
    return [*datagrams, encode_probe("127.0.0.1", iv=bytes(12))]


VALID_DATAGRAMS: Final = _valid_datagrams()


@st.composite
def hostile_datagrams(draw: st.DrawFn) -> bytes:
    """Valid datagrams truncated, extended, bit-flipped or spliced; and plain noise."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=MAX_DATAGRAM + 64))
    data = bytearray(draw(st.sampled_from(VALID_DATAGRAMS)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "truncate", "extend", "splice"]))
        i = draw(st.integers(0, len(data)))
        if op == "flip" and data:
            data[min(i, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "truncate":
            del data[i:]
        elif op == "extend":
            data[i:i] = draw(st.binary(min_size=1, max_size=64))
        else:
            other = draw(st.sampled_from(VALID_DATAGRAMS))
            data[i:] = other[draw(st.integers(0, len(other))) :]
    return bytes(data)


@given(data=hostile_datagrams())
def test_datagram_decoder_decodes_or_raises_datagram_error(data: bytes) -> None:
    """The scanner's invariant: a datagram decodes to a JSON object, or raises DatagramError."""
    reason = None
    try:
        decoded = decode_datagram(data)
    except DatagramError as exc:
        reason = exc.reason
    if reason is not None:
        assert reason in {"oversize", "truncated", "integrity", "undecodable"}
    else:
        assert isinstance(decoded.body, dict)
        assert len(data) <= MAX_DATAGRAM
