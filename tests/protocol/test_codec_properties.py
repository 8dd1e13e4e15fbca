"""Property tests: whatever one end sends, the other end decodes exactly, however the stream is split."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import example, given
from hypothesis import strategies as st

from tests.protocol.helpers import KEY, KEYED_VERSIONS, VERSIONS, IVs, chunks, drain, established_pair
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    Codec,
    FrameReader,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    Message,
    MessageReceived,
    Role,
    Session,
    derive_session_key,
    encode_json,
    version_spec,
)
from tinytuya_asyncio.protocol.handshake import HANDSHAKE_COMMANDS

COMMANDS = {
    "CONTROL": tuya.CONTROL,
    "STATUS": tuya.STATUS,
    "DP_QUERY": tuya.DP_QUERY,
    "DP_QUERY_NEW": tuya.DP_QUERY_NEW,
    "CONTROL_NEW": tuya.CONTROL_NEW,
    "HEART_BEAT": tuya.HEART_BEAT,
    "UPDATEDPS": tuya.UPDATEDPS,
    "LAN_EXT_STREAM": tuya.LAN_EXT_STREAM,
}
ROLES = [Role.CLIENT, Role.DEVICE]

json_scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=12)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
#: Request and reply bodies are JSON objects (or empty, for acks), compact or with spaces.
bodies = st.one_of(
    st.just(b""),
    json_objects.map(encode_json),
    json_objects.map(lambda d: json.dumps(d, ensure_ascii=False).encode()),
)
seqnos = st.integers(0, 2**32 - 1)
retcodes = st.integers(0, 2**32 - 1)
nonces = st.binary(min_size=16, max_size=16)
cut_points = st.lists(st.integers(0, 4096), max_size=8)


def _receive_split(session: Session, stream: bytes, cuts: list[int]) -> list[Any]:
    events: list[Any] = []
    for piece in chunks(stream, cuts):
        session.receive_data(piece)
        events += drain(session)
    return events


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("version", VERSIONS)
@given(messages=st.lists(st.tuples(bodies, seqnos, retcodes), min_size=1, max_size=3), cuts=cut_points)
def test_session_round_trip(
    version: str, command: int, role: Role, messages: list[tuple[bytes, int, int]], cuts: list[int]
) -> None:
    pair = established_pair(version)
    sender, receiver = (pair.client, pair.device) if role is Role.CLIENT else (pair.device, pair.client)
    stream = b""
    expected = []
    for payload, seqno, retcode in messages:
        code = retcode if role is Role.DEVICE else None
        stream += sender.send(command, payload, seqno=seqno, retcode=code, iv=pair.ivs())
        expected.append(MessageReceived(Message(command, seqno, code, payload)))
    assert _receive_split(receiver, stream, cuts) == expected
    assert receiver.buffered == 0


@pytest.mark.parametrize("version", VERSIONS)
@given(payload=bodies, cuts=cut_points)
def test_sequence_numbers_count_from_one(version: str, payload: bytes, cuts: list[int]) -> None:
    pair = established_pair(version)
    first = 3 if version in KEYED_VERSIONS else 1  # START and FINISH used 1 and 2
    stream = b"".join(pair.client.send(tuya.CONTROL, payload, iv=pair.ivs()) for _ in range(3))
    events = _receive_split(pair.device, stream, cuts)
    assert [e.message.seqno for e in events] == [first, first + 1, first + 2]
    assert pair.client.next_seqno == first + 3


@pytest.mark.parametrize("role", ROLES, ids=[r.value for r in ROLES])
@pytest.mark.parametrize("command", sorted(HANDSHAKE_COMMANDS))
@pytest.mark.parametrize("version", KEYED_VERSIONS)
@given(payload=st.binary(min_size=1, max_size=64), seqno=seqnos, retcode=retcodes)
# Random handshake bytes that start like a version header must not lose 15 bytes to it.
@example(payload=b"3.4" + bytes(13), seqno=1, retcode=0)
@example(payload=b"3.5" + bytes(45), seqno=1, retcode=0)
def test_codec_round_trips_handshake_payloads(
    version: str, command: int, role: Role, payload: bytes, seqno: int, retcode: int
) -> None:
    sender = Codec(version, KEY, role)
    receiver = Codec(version, KEY, Role.DEVICE if role is Role.CLIENT else Role.CLIENT)
    code = retcode if role is Role.DEVICE else None
    (frame,) = FrameReader().feed(sender.encode(command, payload, seqno, retcode=code, iv=IVs(version)()))
    assert receiver.decode(frame) == Message(command, seqno, code, payload)


@pytest.mark.parametrize("version", KEYED_VERSIONS)
@given(client_nonce=nonces, device_nonce=nonces, cuts=cut_points)
@example(client_nonce=b"3.4" + bytes(13), device_nonce=b"3.4" + bytes(13), cuts=[])
@example(client_nonce=b"3.5" + bytes(13), device_nonce=b"3.5" + bytes(13), cuts=[])
def test_handshake_with_any_nonces_and_splits(
    version: str, client_nonce: bytes, device_nonce: bytes, cuts: list[int]
) -> None:
    client = Session(Role.CLIENT, version, KEY)
    device = Session(Role.DEVICE, version, KEY)
    ivs = IVs(version)
    assert _receive_split(device, client.start_handshake(client_nonce, iv=ivs()), cuts) == [
        HandshakeRequested(client_nonce, 1)
    ]
    resp = device.answer_handshake(device_nonce, seqno=1, iv=ivs())
    assert _receive_split(client, resp, cuts) == [HandshakeResponded()]
    assert _receive_split(device, client.finish_handshake(iv=ivs()), cuts) == [HandshakeCompleted()]
    assert client.established
    assert device.established
    # Both ends switched to the same key: a command under it decodes, and the key is the derived one.
    body = b'{"dps":{"1":true}}'
    device.receive_data(client.send(tuya.CONTROL_NEW, body, iv=ivs()))
    assert drain(device) == [MessageReceived(Message(tuya.CONTROL_NEW, 3, None, body))]
    session_key = derive_session_key(version_spec(version), KEY, client_nonce, device_nonce)
    probe = Codec(version, KEY, Role.CLIENT)
    probe.use_session_key(session_key)
    device.receive_data(probe.encode(tuya.DP_QUERY_NEW, b"{}", 9, iv=ivs()))
    assert drain(device) == [MessageReceived(Message(tuya.DP_QUERY_NEW, 9, None, b"{}"))]


@pytest.mark.parametrize("version", ["3.2", "3.3"])
def test_ciphertext_that_starts_like_a_version_header_is_not_trimmed(version: str) -> None:
    """A reply body without a header whose first cipher block happens to read b"3.3"."""
    key = KEY
    payload = _block_with_prefix(key, version.encode()) + b"rest of the reply"
    sender = Codec(version, key, Role.DEVICE)
    receiver = Codec(version, key, Role.CLIENT)
    wire = sender.encode(tuya.DP_QUERY, payload, 7, retcode=0)
    assert wire[20:23] == version.encode()  # the body's first bytes look like a header
    (frame,) = FrameReader().feed(wire)
    assert receiver.decode(frame) == Message(tuya.DP_QUERY, 7, 0, payload)


def _block_with_prefix(key: bytes, prefix: bytes) -> bytes:
    """16 plaintext bytes whose AES-ECB block under ``key`` starts with ``prefix``."""
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    return decryptor.update(prefix + b"\xee" * (16 - len(prefix))) + decryptor.finalize()
