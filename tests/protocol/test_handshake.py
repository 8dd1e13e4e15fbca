"""The 3.4/3.5 session-key handshake: the transition table, failures, and parity with tinytuya."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import pytest
import tinytuya
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol import reference
from tests.protocol.helpers import (
    CLIENT_NONCE,
    DEVICE_NONCE,
    KEY,
    KEYED_VERSIONS,
    OTHER_KEY,
    IVs,
    drain,
    established_pair,
)
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import (
    HandshakeError,
    InvalidKeyError,
    LocalProtocolError,
    RemoteProtocolError,
)
from tinytuya_asyncio.protocol import (
    Codec,
    Handshake,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    HandshakeState,
    Message,
    MessageReceived,
    Role,
    Session,
    derive_session_key,
    version_spec,
)
from tinytuya_asyncio.protocol.handshake import TRANSITIONS, HandshakeEvent

S, E = HandshakeState, HandshakeEvent
SPECS = [version_spec(v) for v in KEYED_VERSIONS]
nonces = st.binary(min_size=16, max_size=16)


def proof(key: bytes, nonce: bytes) -> bytes:
    return hmac.new(key, nonce, hashlib.sha256).digest()


#: How to trigger each event with valid arguments (for a handshake between CLIENT_NONCE and DEVICE_NONCE).
TRIGGERS: dict[HandshakeEvent, Callable[[Handshake], object]] = {
    E.SEND_START: lambda h: h.start(CLIENT_NONCE),
    E.RECEIVE_START: lambda h: h.receive_start(CLIENT_NONCE),
    E.SEND_RESPONSE: lambda h: h.respond(DEVICE_NONCE),
    E.RECEIVE_RESPONSE: lambda h: h.receive_response(DEVICE_NONCE + proof(KEY, CLIENT_NONCE)),
    E.SEND_FINISH: lambda h: h.finish(),
    E.RECEIVE_FINISH: lambda h: h.receive_finish(proof(KEY, DEVICE_NONCE)),
}


PATHS = {
    Role.CLIENT: [E.SEND_START, E.RECEIVE_RESPONSE, E.SEND_FINISH],
    Role.DEVICE: [E.RECEIVE_START, E.SEND_RESPONSE, E.RECEIVE_FINISH],
}


def handshake_in(role: Role, state: HandshakeState) -> Handshake:
    """A handshake walked along its role's path to ``state`` (forced there when off the path)."""
    handshake = Handshake(role, version_spec("3.4"), KEY)
    for event in PATHS[role]:
        if handshake.state is state:
            return handshake
        TRIGGERS[event](handshake)
    if handshake.state is not state:
        handshake.state = state  # the other role's state, or FAILED
    return handshake


# -- the transition table ------------------------------------------------------------------


def test_table_is_the_documented_three_step_exchange() -> None:
    assert TRANSITIONS == {
        Role.CLIENT: {
            S.IDLE: {E.SEND_START: S.AWAIT_RESPONSE},
            S.AWAIT_RESPONSE: {E.RECEIVE_RESPONSE: S.RESPONSE_VERIFIED},
            S.RESPONSE_VERIFIED: {E.SEND_FINISH: S.ESTABLISHED},
        },
        Role.DEVICE: {
            S.IDLE: {E.RECEIVE_START: S.START_RECEIVED},
            S.START_RECEIVED: {E.SEND_RESPONSE: S.AWAIT_FINISH},
            S.AWAIT_FINISH: {E.RECEIVE_FINISH: S.ESTABLISHED},
        },
    }


@pytest.mark.parametrize("spec", SPECS, ids=KEYED_VERSIONS)
def test_valid_paths_reach_established_with_the_same_key(spec: Any) -> None:
    client = Handshake(Role.CLIENT, spec, KEY)
    device = Handshake(Role.DEVICE, spec, KEY)
    seen = [(client.state, device.state)]
    start = client.start(CLIENT_NONCE)
    seen.append((client.state, device.state))
    assert device.receive_start(start) == CLIENT_NONCE
    seen.append((client.state, device.state))
    resp = device.respond(DEVICE_NONCE)
    assert resp == DEVICE_NONCE + proof(KEY, CLIENT_NONCE)
    seen.append((client.state, device.state))
    client.receive_response(resp)
    seen.append((client.state, device.state))
    finish = client.finish()
    assert finish == proof(KEY, DEVICE_NONCE)
    seen.append((client.state, device.state))
    device.receive_finish(finish)
    seen.append((client.state, device.state))
    assert seen == [
        (S.IDLE, S.IDLE),
        (S.AWAIT_RESPONSE, S.IDLE),
        (S.AWAIT_RESPONSE, S.START_RECEIVED),
        (S.AWAIT_RESPONSE, S.AWAIT_FINISH),
        (S.RESPONSE_VERIFIED, S.AWAIT_FINISH),
        (S.ESTABLISHED, S.AWAIT_FINISH),
        (S.ESTABLISHED, S.ESTABLISHED),
    ]
    assert (
        client.session_key == device.session_key == derive_session_key(spec, KEY, CLIENT_NONCE, DEVICE_NONCE)
    )
    assert client.session_key is not None
    assert len(client.session_key) == 16


INVALID = [
    (role, state, event)
    for role in Role
    for state in HandshakeState
    for event in HandshakeEvent
    if event not in TRANSITIONS[role].get(state, {})
]


@pytest.mark.parametrize(
    ("role", "state", "event"), INVALID, ids=[f"{r.value}-{s.value}-{e.value}" for r, s, e in INVALID]
)
def test_every_event_off_the_table_is_a_local_protocol_error(
    role: Role, state: HandshakeState, event: HandshakeEvent
) -> None:
    handshake = handshake_in(role, state)
    with pytest.raises(LocalProtocolError):
        TRIGGERS[event](handshake)
    assert handshake.state is state


def test_versions_without_a_handshake_refuse_one() -> None:
    for version in ("3.1", "3.2", "3.3"):
        with pytest.raises(LocalProtocolError):
            Handshake(Role.CLIENT, version_spec(version), KEY)


@pytest.mark.parametrize("length", [0, 15, 17, 32])
def test_nonces_must_be_16_bytes(length: int) -> None:
    client = Handshake(Role.CLIENT, version_spec("3.4"), KEY)
    with pytest.raises(LocalProtocolError):
        client.start(bytes(length))
    assert client.state is S.IDLE
    device = handshake_in(Role.DEVICE, S.START_RECEIVED)
    with pytest.raises(LocalProtocolError):
        device.respond(bytes(length))
    assert device.state is S.START_RECEIVED


# -- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "state", "call"),
    [
        (
            Role.CLIENT,
            S.AWAIT_RESPONSE,
            lambda h: h.receive_response(DEVICE_NONCE + proof(KEY, CLIENT_NONCE)[:31]),
        ),
        (Role.CLIENT, S.AWAIT_RESPONSE, lambda h: h.receive_response(b"")),
        (Role.DEVICE, S.IDLE, lambda h: h.receive_start(CLIENT_NONCE[:15])),
        (Role.DEVICE, S.AWAIT_FINISH, lambda h: h.receive_finish(proof(KEY, DEVICE_NONCE)[:31])),
    ],
    ids=["response-47", "response-0", "start-15", "finish-31"],
)
def test_short_payloads_fail_the_handshake(
    role: Role, state: HandshakeState, call: Callable[[Handshake], object]
) -> None:
    handshake = handshake_in(role, state)
    with pytest.raises(HandshakeError) as info:
        call(handshake)
    assert not isinstance(info.value, InvalidKeyError)  # too short says nothing about the key
    assert "too short" in str(info.value)
    assert handshake.state is S.FAILED
    assert handshake.session_key is None


@pytest.mark.parametrize(
    ("role", "state", "call"),
    [
        (
            Role.CLIENT,
            S.AWAIT_RESPONSE,
            lambda h: h.receive_response(DEVICE_NONCE + proof(OTHER_KEY, CLIENT_NONCE)),
        ),
        (
            Role.CLIENT,
            S.AWAIT_RESPONSE,
            lambda h: h.receive_response(DEVICE_NONCE + proof(KEY, DEVICE_NONCE)),
        ),
        (Role.DEVICE, S.AWAIT_FINISH, lambda h: h.receive_finish(proof(OTHER_KEY, DEVICE_NONCE))),
        (Role.DEVICE, S.AWAIT_FINISH, lambda h: h.receive_finish(proof(KEY, CLIENT_NONCE))),
    ],
    ids=["response-other-key", "response-wrong-nonce", "finish-other-key", "finish-wrong-nonce"],
)
def test_wrong_proofs_are_invalid_key_errors(
    role: Role, state: HandshakeState, call: Callable[[Handshake], object]
) -> None:
    handshake = handshake_in(role, state)
    with pytest.raises(InvalidKeyError):
        call(handshake)
    assert handshake.state is S.FAILED
    assert handshake.session_key is None
    assert InvalidKeyError.err_code == tuya.ERR_KEY_OR_VER


def test_extra_bytes_after_the_proof_are_ignored() -> None:
    client = handshake_in(Role.CLIENT, S.AWAIT_RESPONSE)
    client.receive_response(DEVICE_NONCE + proof(KEY, CLIENT_NONCE) + b"trailing")
    assert client.state is S.RESPONSE_VERIFIED


# -- parity with tinytuya's client derivation --------------------------------------------------


def tinytuya_client_handshake(version: str, client_nonce: bytes, device_nonce: bytes) -> tuple[bytes, bytes]:
    """tinytuya's own client steps with our nonces: (its FINISH payload, its session key)."""
    dev = reference.make_device(version, KEY)
    dev._negotiate_session_key_generate_step_1()
    dev.local_nonce = client_nonce  # step 1 drew a random nonce; use ours
    payload = device_nonce + proof(KEY, client_nonce)
    if version == "3.4":
        payload = tinytuya.AESCipher(KEY).encrypt(payload, False)  # 3.4 responses arrive encrypted
    rkey = tinytuya.TuyaMessage(1, tuya.SESS_KEY_NEG_RESP, 0, payload, 0, True, tuya.PREFIX_55AA, None)
    finish = dev._negotiate_session_key_generate_step_3(rkey)
    assert finish, "tinytuya refused the response"
    assert finish.cmd == tuya.SESS_KEY_NEG_FINISH
    assert dev._negotiate_session_key_generate_finalize() is True
    return bytes(finish.payload), bytes(dev.local_key)


@pytest.mark.parametrize("version", KEYED_VERSIONS)
@given(client_nonce=nonces, device_nonce=nonces)
def test_session_key_matches_tinytuyas_derivation(
    version: str, client_nonce: bytes, device_nonce: bytes
) -> None:
    their_finish, their_key = tinytuya_client_handshake(version, client_nonce, device_nonce)
    ours = Handshake(Role.CLIENT, version_spec(version), KEY)
    ours.start(client_nonce)
    ours.receive_response(device_nonce + proof(KEY, client_nonce))
    assert ours.finish() == their_finish
    assert ours.session_key == their_key
    assert derive_session_key(version_spec(version), KEY, client_nonce, device_nonce) == their_key


def test_34_and_35_derive_different_keys() -> None:
    keys = {derive_session_key(spec, KEY, CLIENT_NONCE, DEVICE_NONCE) for spec in SPECS}
    assert len(keys) == 2


# -- whole handshakes across the two libraries -------------------------------------------------


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_tinytuya_client_against_our_device_session(version: str) -> None:
    dev = reference.make_device(version, KEY)
    device = Session(Role.DEVICE, version, KEY)
    ivs = IVs(version)

    dev.seqno = 1
    device.receive_data(dev._encode_message(dev._negotiate_session_key_generate_step_1()))
    assert drain(device) == [HandshakeRequested(dev.local_nonce, 1)]
    resp = device.answer_handshake(DEVICE_NONCE, seqno=1, iv=ivs())
    rkey = tinytuya.unpack_message(resp, hmac_key=KEY, no_retcode=False)
    assert rkey.crc_good
    finish = dev._negotiate_session_key_generate_step_3(rkey)
    assert finish, "tinytuya refused our device's response"
    device.receive_data(dev._encode_message(finish))
    assert drain(device) == [HandshakeCompleted()]
    dev._negotiate_session_key_generate_finalize()
    assert device.established

    # Commands flow both ways under the session key.
    request = dev.generate_payload(tuya.CONTROL, {"1": True})
    device.receive_data(dev._encode_message(request))
    assert drain(device) == [MessageReceived(Message(tuya.CONTROL_NEW, 3, None, request.payload))]
    push = device.send(tuya.STATUS, b'{"dps":{"1":true},"t":1}', seqno=0, iv=ivs())
    message, result = reference.decode(dev, push, from_device=True)
    assert (message.cmd, message.retcode) == (tuya.STATUS, 0)
    assert result == {"dps": {"1": True}, "t": 1}


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_our_client_session_against_a_tinytuya_built_device(version: str) -> None:
    client = Session(Role.CLIENT, version, KEY)
    ivs = IVs(version)
    hmac_key = KEY

    def body_of(frame: bytes, key: bytes) -> bytes:
        message = tinytuya.unpack_message(frame, hmac_key=key, no_retcode=True)
        assert message.crc_good
        payload = bytes(message.payload)
        if version == "3.4":
            payload = tinytuya.AESCipher(key).decrypt(payload, False, decode_text=False)
        return payload

    assert body_of(client.start_handshake(CLIENT_NONCE, iv=ivs()), hmac_key) == CLIENT_NONCE
    resp = reference.encode_device(
        version, KEY, tuya.SESS_KEY_NEG_RESP, DEVICE_NONCE + proof(KEY, CLIENT_NONCE), 1, 0, bytes(12)
    )
    client.receive_data(resp)
    assert drain(client) == [HandshakeResponded()]
    assert body_of(client.finish_handshake(iv=ivs()), hmac_key) == proof(KEY, DEVICE_NONCE)

    _, session_key = tinytuya_client_handshake(version, CLIENT_NONCE, DEVICE_NONCE)
    dev = reference.make_device(version, KEY)
    dev.local_key = session_key
    reply = reference.encode_device(
        version, session_key, tuya.DP_QUERY_NEW, b'{"dps":{"1":true}}', 3, 0, bytes(12)
    )
    client.receive_data(reply)
    assert drain(client) == [MessageReceived(Message(tuya.DP_QUERY_NEW, 3, 0, b'{"dps":{"1":true}}'))]
    message, result = reference.decode(
        dev, client.send(tuya.DP_QUERY_NEW, b"{}", iv=ivs()), from_device=False
    )
    assert (message.cmd, message.seqno) == (tuya.DP_QUERY_NEW, 3)
    assert result == {}


# -- the session around the handshake -----------------------------------------------------------


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_device_that_fails_the_proof_is_an_invalid_key(version: str) -> None:
    client = Session(Role.CLIENT, version, KEY)
    ivs = IVs(version)
    client.start_handshake(CLIENT_NONCE, iv=ivs())
    # The device knows the key for framing but answers a different nonce's proof.
    liar = Codec(version, KEY, Role.DEVICE)
    client.receive_data(
        liar.encode(tuya.SESS_KEY_NEG_RESP, DEVICE_NONCE + proof(KEY, DEVICE_NONCE), 1, retcode=0, iv=ivs())
    )
    with pytest.raises(InvalidKeyError):
        client.next_event()
    assert client.handshake_state is S.FAILED
    assert not client.established
    with pytest.raises(LocalProtocolError):
        client.finish_handshake(iv=ivs())


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_wrong_local_key_fails_at_the_device(version: str) -> None:
    client = Session(Role.CLIENT, version, OTHER_KEY)
    device = Session(Role.DEVICE, version, KEY)
    device.receive_data(client.start_handshake(CLIENT_NONCE, iv=IVs(version)()))
    with pytest.raises(InvalidKeyError):
        device.next_event()


def test_34_handshake_frame_that_does_not_decrypt_is_an_invalid_key() -> None:
    device = Session(Role.DEVICE, "3.4", KEY)
    # A correct HMAC around a body that is not AES-ECB output (17 bytes).
    frame = tinytuya.pack_message(
        tinytuya.TuyaMessage(1, tuya.SESS_KEY_NEG_START, None, bytes(17), 0, True, tuya.PREFIX_55AA, None),
        hmac_key=KEY,
    )
    device.receive_data(frame)
    with pytest.raises(InvalidKeyError):
        device.next_event()


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_out_of_order_handshake_frames_are_remote_errors(version: str) -> None:
    ivs = IVs(version)
    client_codec = Codec(version, KEY, Role.CLIENT)
    device_codec = Codec(version, KEY, Role.DEVICE)
    device = Session(Role.DEVICE, version, KEY)
    # FINISH before START, an application command before the key, a RESP sent to a device.
    for frame in (
        client_codec.encode(tuya.SESS_KEY_NEG_FINISH, proof(KEY, DEVICE_NONCE), 1, iv=ivs()),
        client_codec.encode(tuya.DP_QUERY_NEW, b"{}", 2, iv=ivs()),
        client_codec.encode(tuya.SESS_KEY_NEG_RESP, bytes(48), 3, iv=ivs()),
    ):
        device.receive_data(frame)
        with pytest.raises(RemoteProtocolError):
            device.next_event()
        assert device.handshake_state is S.IDLE
    # START twice: the second arrives while the device owes its answer.
    start = client_codec.encode(tuya.SESS_KEY_NEG_START, CLIENT_NONCE, 4, iv=ivs())
    device.receive_data(start + start)
    assert device.next_event() == HandshakeRequested(CLIENT_NONCE, 4)
    with pytest.raises(RemoteProtocolError):
        device.next_event()
    # A client is never sent START.
    client = Session(Role.CLIENT, version, KEY)
    client.start_handshake(CLIENT_NONCE, iv=ivs())
    client.receive_data(device_codec.encode(tuya.SESS_KEY_NEG_START, CLIENT_NONCE, 1, retcode=0, iv=ivs()))
    with pytest.raises(RemoteProtocolError):
        client.next_event()


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_session_key_commands_after_the_handshake_are_remote_errors(version: str) -> None:
    pair = established_pair(version)
    codec = Codec(version, KEY, Role.CLIENT)
    assert pair.session_key is not None
    codec.use_session_key(pair.session_key)
    pair.device.receive_data(codec.encode(tuya.SESS_KEY_NEG_START, CLIENT_NONCE, 9, iv=pair.ivs()))
    with pytest.raises(RemoteProtocolError):
        pair.device.next_event()
    assert pair.device.established


@pytest.mark.parametrize("version", ["3.1", "3.2", "3.3"])
def test_session_key_commands_on_older_versions_are_remote_errors(version: str) -> None:
    device = Session(Role.DEVICE, version, KEY)
    device.receive_data(Codec(version, KEY, Role.CLIENT).encode(tuya.SESS_KEY_NEG_START, CLIENT_NONCE, 1))
    with pytest.raises(RemoteProtocolError):
        device.next_event()
    client = Session(Role.CLIENT, version, KEY)
    calls: list[Callable[[], bytes]] = [
        lambda: client.start_handshake(CLIENT_NONCE),
        client.finish_handshake,
        lambda: device.answer_handshake(DEVICE_NONCE, seqno=1),
    ]
    for call in calls:
        with pytest.raises(LocalProtocolError):
            call()


@pytest.mark.parametrize("version", KEYED_VERSIONS)
def test_session_misuse_is_a_local_error(version: str) -> None:
    ivs = IVs(version)
    client = Session(Role.CLIENT, version, KEY)
    device = Session(Role.DEVICE, version, KEY)
    with pytest.raises(LocalProtocolError):
        client.send(tuya.DP_QUERY_NEW, b"{}", iv=ivs())  # before the handshake
    with pytest.raises(LocalProtocolError):
        device.start_handshake(CLIENT_NONCE, iv=ivs())  # a device never starts
    with pytest.raises(LocalProtocolError):
        client.answer_handshake(DEVICE_NONCE, seqno=1, iv=ivs())  # a client never answers
    with pytest.raises(LocalProtocolError):
        client.finish_handshake(iv=ivs())  # nothing to finish yet
    pair = established_pair(version)
    with pytest.raises(LocalProtocolError):
        pair.client.send(tuya.SESS_KEY_NEG_START, CLIENT_NONCE, iv=ivs())


def test_a_refused_35_handshake_call_changes_nothing() -> None:
    """A missing IV is refused before the handshake moves or a seqno is used."""
    client = Session(Role.CLIENT, "3.5", KEY)
    device = Session(Role.DEVICE, "3.5", KEY)
    ivs = IVs("3.5")
    for bad_iv in (None, bytes(11)):
        with pytest.raises(LocalProtocolError):
            client.start_handshake(CLIENT_NONCE, iv=bad_iv)
        assert (client.handshake_state, client.next_seqno) == (S.IDLE, 1)
    device.receive_data(client.start_handshake(CLIENT_NONCE, iv=ivs()))
    assert drain(device) == [HandshakeRequested(CLIENT_NONCE, 1)]
    with pytest.raises(LocalProtocolError):
        device.answer_handshake(DEVICE_NONCE, seqno=1)
    assert device.handshake_state is S.START_RECEIVED
    client.receive_data(device.answer_handshake(DEVICE_NONCE, seqno=1, iv=ivs()))
    assert drain(client) == [HandshakeResponded()]
    with pytest.raises(LocalProtocolError):
        client.finish_handshake()
    # Still able to finish: no half-switched session claiming to be established.
    assert (client.handshake_state, client.established, client.next_seqno) == (S.RESPONSE_VERIFIED, False, 2)
    device.receive_data(client.finish_handshake(iv=ivs()))
    assert drain(device) == [HandshakeCompleted()]
    device.receive_data(client.send(tuya.DP_QUERY_NEW, b"{}", iv=ivs()))
    assert drain(device) == [MessageReceived(Message(tuya.DP_QUERY_NEW, 3, None, b"{}"))]


def test_reprs_never_show_keys() -> None:
    pair = established_pair("3.4")
    codec = Codec("3.4", KEY, Role.CLIENT)
    assert pair.session_key is not None
    for obj in (pair.client, pair.device, codec):
        text = repr(obj)
        assert KEY.decode() not in text
        assert KEY.hex() not in text
        assert pair.session_key.hex() not in text
    assert repr(pair.client) == "<Session 3.4 client established>"
    assert repr(codec) == "<Codec 3.4 client>"


@pytest.mark.parametrize("version", ["3.3", "3.5"])
def test_a_refused_send_uses_no_sequence_number(version: str) -> None:
    pair = established_pair(version)
    before = pair.client.next_seqno
    with pytest.raises(LocalProtocolError):
        pair.client.send(tuya.CONTROL, b"{}", retcode=0, iv=pair.ivs())  # clients send no retcode
    if version == "3.5":
        with pytest.raises(LocalProtocolError):
            pair.client.send(tuya.CONTROL, b"{}")  # no IV
    assert pair.client.next_seqno == before
    pair.device.receive_data(pair.client.send(tuya.CONTROL, b"{}", iv=pair.ivs()))
    assert drain(pair.device) == [MessageReceived(Message(tuya.CONTROL, before, None, b"{}"))]
