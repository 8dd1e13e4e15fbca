"""Client and device sessions talk to each other for every version."""

from __future__ import annotations

import os

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import InvalidKeyError, LocalProtocolError, RemoteProtocolError
from tinytuya_asyncio.protocol import (
    SUPPORTED_VERSIONS,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    MessageReceived,
    Role,
    Session,
    VersionSpec,
)

KEY = b"0123456789abcdef"
VERSIONS = [spec.text for spec in SUPPORTED_VERSIONS]


def _iv(spec: VersionSpec) -> bytes | None:
    return os.urandom(12) if spec.number >= 3.5 else None


def _pair(version: str, client_key: bytes = KEY, device_key: bytes = KEY) -> tuple[Session, Session]:
    client = Session(Role.CLIENT, version, client_key)
    device = Session(Role.DEVICE, version, device_key)
    if client.spec.needs_session_key:
        device.receive_data(client.start_handshake(os.urandom(16), iv=_iv(client.spec)))
        (request,) = device.events()
        assert isinstance(request, HandshakeRequested)
        client.receive_data(device.answer_handshake(os.urandom(16), seqno=request.seqno, iv=_iv(client.spec)))
        assert list(client.events()) == [HandshakeResponded()]
        device.receive_data(client.finish_handshake(iv=_iv(client.spec)))
        assert list(device.events()) == [HandshakeCompleted()]
    assert client.established
    assert device.established
    return client, device


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("cmd", [tuya.CONTROL, tuya.DP_QUERY, tuya.HEART_BEAT, tuya.STATUS, tuya.CONTROL_NEW])
def test_request_and_reply_round_trip(version: str, cmd: int) -> None:
    client, device = _pair(version)
    body = b'{"devId":"abc","dps":{"1":true}}'
    device.receive_data(client.send(cmd, body, iv=_iv(client.spec)))
    (event,) = device.events()
    assert isinstance(event, MessageReceived)
    assert event.message.payload == body
    assert event.message.cmd == cmd
    assert event.message.retcode is None

    reply = b'{"dps":{"1":false}}'
    client.receive_data(device.send(cmd, reply, seqno=event.message.seqno, retcode=1, iv=_iv(client.spec)))
    (answer,) = client.events()
    assert isinstance(answer, MessageReceived)
    assert answer.message == answer.message.__class__(cmd, event.message.seqno, 1, reply)


@pytest.mark.parametrize("version", ["3.4", "3.5"])
def test_wrong_key_fails_the_handshake(version: str) -> None:
    client = Session(Role.CLIENT, version, KEY)
    device = Session(Role.DEVICE, version, b"fedcba9876543210")
    device.receive_data(client.start_handshake(os.urandom(16), iv=_iv(client.spec)))
    with pytest.raises(InvalidKeyError):
        list(device.events())


@pytest.mark.parametrize("version", ["3.4", "3.5"])
def test_commands_before_the_handshake_are_refused(version: str) -> None:
    client = Session(Role.CLIENT, version, KEY)
    with pytest.raises(LocalProtocolError):
        client.send(tuya.DP_QUERY, b"{}", iv=os.urandom(12))


@pytest.mark.parametrize("version", VERSIONS)
def test_corrupted_frame_is_an_integrity_error(version: str) -> None:
    client, device = _pair(version)
    frame = bytearray(client.send(tuya.DP_QUERY, b'{"gwId":"x"}', iv=_iv(client.spec)))
    frame[-10] ^= 0xFF  # inside the CRC/HMAC/tag
    device.receive_data(bytes(frame))
    with pytest.raises(RemoteProtocolError):
        list(device.events())
