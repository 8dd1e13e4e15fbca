"""The recorded vectors (tinytuya's own frames): our codec decodes them and re-encodes them byte for byte."""

from __future__ import annotations

import json

import pytest

from tests.protocol.helpers import KEYED_VERSIONS, VECTORS, VERSIONS, FrameVector, load_vector_file
from tinytuya_asyncio.exceptions import IntegrityError
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
    version_spec,
)

IDS = [v.id for v in VECTORS]


def codec_for(vector: FrameVector, role: Role) -> Codec:
    codec = Codec(vector.version, vector.local_key, role)
    if vector.key_kind == "session":
        codec.use_session_key(vector.key)
    else:
        assert vector.key == vector.local_key
    return codec


def test_every_version_has_a_vector_file_with_both_directions() -> None:
    for version in VERSIONS:
        data = load_vector_file(version)
        assert data["version"] == version
        vectors = [v for v in VECTORS if v.version == version]
        assert {v.direction for v in vectors} == {"client->device", "device->client"}
        assert all(v.prefix == version_spec(version).prefix for v in vectors)
        names = {v.name for v in vectors}
        assert {"dp_query", "control", "heart_beat", "status_push", "control_ack", "error_reply"} <= names
        if version in KEYED_VERSIONS:
            assert {"sess_key_neg_start", "sess_key_neg_resp", "sess_key_neg_finish"} <= names
            assert {v.key_kind for v in vectors} == {"local", "session"}
            session = data["session"]
            expected = derive_session_key(
                version_spec(version),
                data["local_key"].encode(),
                bytes.fromhex(session["client_nonce"]),
                bytes.fromhex(session["device_nonce"]),
            )
            assert expected.hex() == session["session_key"]
        else:
            assert data["session"] is None


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_codec_decodes_the_vector(vector: FrameVector) -> None:
    (frame,) = FrameReader().feed(vector.frame)
    message = codec_for(vector, vector.receiver).decode(frame)
    assert message == Message(vector.cmd, vector.seqno, vector.retcode, vector.payload)
    if vector.json is not None:
        assert json.loads(message.payload) == vector.json


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_codec_re_encodes_the_vector_byte_for_byte(vector: FrameVector) -> None:
    codec = codec_for(vector, vector.sender)
    frame = codec.encode(vector.cmd, vector.payload, vector.seqno, retcode=vector.retcode, iv=vector.iv)
    assert frame.hex() == vector.frame.hex()


SESSION_VECTORS = [v for v in VECTORS if v.key_kind == "session"]


@pytest.mark.parametrize("vector", SESSION_VECTORS, ids=[v.id for v in SESSION_VECTORS])
def test_session_key_frames_fail_integrity_under_the_local_key(vector: FrameVector) -> None:
    (frame,) = FrameReader().feed(vector.frame)
    with pytest.raises(IntegrityError):
        Codec(vector.version, vector.local_key, vector.receiver).decode(frame)


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_sessions_replay_tinytuyas_handshake_byte_for_byte(version: str) -> None:
    """Our client and device sessions, given tinytuya's nonces and IVs, write tinytuya's bytes."""
    data = load_vector_file(version)
    by_name = {v.name: v for v in VECTORS if v.version == version}
    start, resp, finish = (by_name[f"sess_key_neg_{n}"] for n in ("start", "resp", "finish"))
    local_key = data["local_key"].encode()
    client_nonce = bytes.fromhex(data["session"]["client_nonce"])
    device_nonce = bytes.fromhex(data["session"]["device_nonce"])
    client = Session(Role.CLIENT, version, local_key)
    device = Session(Role.DEVICE, version, local_key)

    assert client.start_handshake(client_nonce, iv=start.iv) == start.frame
    device.receive_data(start.frame)
    assert list(device.events()) == [HandshakeRequested(client_nonce, 1)]
    assert device.answer_handshake(device_nonce, seqno=1, iv=resp.iv) == resp.frame
    client.receive_data(resp.frame)
    assert list(client.events()) == [HandshakeResponded()]
    assert client.finish_handshake(iv=finish.iv) == finish.frame
    device.receive_data(finish.frame)
    assert list(device.events()) == [HandshakeCompleted()]

    # Both now speak under tinytuya's session key: every recorded session frame flows.
    for vector in (v for v in by_name.values() if v.key_kind == "session"):
        sender, receiver = (client, device) if vector.sender is Role.CLIENT else (device, client)
        sent = sender.send(
            vector.cmd, vector.payload, seqno=vector.seqno, retcode=vector.retcode, iv=vector.iv
        )
        assert sent == vector.frame, vector.name
        receiver.receive_data(vector.frame)
        assert list(receiver.events()) == [
            MessageReceived(Message(vector.cmd, vector.seqno, vector.retcode, vector.payload))
        ]
