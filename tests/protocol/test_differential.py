"""Differential tests: tinytuya reads what our codec writes, and our codec reads what tinytuya writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
import tinytuya
from hypothesis import given
from hypothesis import strategies as st

from tests.protocol import reference
from tests.protocol.helpers import APP_COMMANDS, CLIENT_NONCE, DEVICE_NONCE, KEY, VERSIONS, IVs
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    Codec,
    FrameReader,
    Message,
    Role,
    derive_session_key,
    encode_json,
    version_spec,
)

COMMANDS = list(APP_COMMANDS)
#: Realistic bodies; hypothesis adds arbitrary ones below.
BODIES: list[dict[str, Any]] = [
    {
        "gwId": "eb0123456789abcdefgh",
        "devId": "eb0123456789abcdefgh",
        "uid": "eb0123456789abcdefgh",
        "t": "1",
    },
    {"devId": "eb01", "uid": "eb01", "t": "1700000000", "dps": {"1": True, "2": 50, "3": "white"}},
    {"protocol": 5, "t": 1700000000, "data": {"dps": {"1": False, "101": None}}},
    {"dpId": [18, 19, 20]},
    {"reqType": "subdev_online_stat_query", "data": {"cids": ["a1", "b2"]}},
    {},
]
# Keys avoid "data": tinytuya's decoder looks into data["dps"] and trips on non-dict "data".
json_keys = st.text(alphabet="abcdpsxyz019", max_size=6).filter(lambda k: k != "data")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_keys, inner, max_size=3),
    max_leaves=6,
)
json_bodies = st.dictionaries(json_keys, json_values, max_size=5) | st.sampled_from(BODIES)


def keys(version: str) -> tuple[bytes, bytes | None]:
    """The local key, and the session key both ends use after the handshake (3.4/3.5)."""
    spec = version_spec(version)
    session = derive_session_key(spec, KEY, CLIENT_NONCE, DEVICE_NONCE) if spec.needs_session_key else None
    return KEY, session


def our_codec(version: str, role: Role) -> Codec:
    local, session = keys(version)
    codec = Codec(version, local, role)
    if session is not None:
        codec.use_session_key(session)
    return codec


def their_device(version: str) -> Any:
    """A tinytuya device holding the same key our codec uses."""
    local, session = keys(version)
    dev = reference.make_device(version, local)
    if session is not None:
        dev.local_key = session  # what _negotiate_session_key_generate_finalize leaves there
    return dev


def decode_ours(codec: Codec, data: bytes) -> Message:
    (frame,) = FrameReader().feed(data)
    return codec.decode(frame)


# -- ours -> tinytuya ------------------------------------------------------------------------


def check_tinytuya_reads_our_client_frame(version: str, cmd: int, body: dict[str, Any], seqno: int) -> None:
    payload = encode_json(body)
    data = our_codec(version, Role.CLIENT).encode(cmd, payload, seqno, iv=IVs(version)())
    message, result = reference.decode(their_device(version), data, from_device=False)
    assert (message.cmd, message.seqno) == (cmd, seqno)
    assert result == reference.as_tinytuya_result(body)


def check_tinytuya_reads_our_device_frame(
    version: str, cmd: int, body: dict[str, Any] | None, seqno: int, retcode: int
) -> None:
    payload = b"" if body is None else encode_json(body)
    data = our_codec(version, Role.DEVICE).encode(cmd, payload, seqno, retcode=retcode, iv=IVs(version)())
    message, result = reference.decode(their_device(version), data, from_device=True)
    assert (message.cmd, message.seqno, message.retcode) == (cmd, seqno, retcode)
    assert result == (None if body is None else reference.as_tinytuya_result(body))


@pytest.mark.parametrize("version", VERSIONS)
def test_tinytuya_reads_our_frames_for_every_command(version: str) -> None:
    for cmd in COMMANDS:
        for seqno, body in enumerate(BODIES, start=1):
            check_tinytuya_reads_our_client_frame(version, cmd, body, seqno)
            check_tinytuya_reads_our_device_frame(version, cmd, body, seqno, 0)
        check_tinytuya_reads_our_device_frame(version, cmd, None, 9, 1)


@pytest.mark.parametrize("version", VERSIONS)
@given(cmd=st.sampled_from(COMMANDS), body=json_bodies, seqno=st.integers(0, 2**32 - 1))
def test_tinytuya_reads_our_client_frames(version: str, cmd: int, body: dict[str, Any], seqno: int) -> None:
    check_tinytuya_reads_our_client_frame(version, cmd, body, seqno)


@pytest.mark.parametrize("version", VERSIONS)
@given(
    cmd=st.sampled_from(COMMANDS),
    body=st.none() | json_bodies,
    seqno=st.integers(0, 2**32 - 1),
    retcode=st.integers(0, 2**32 - 1),
)
def test_tinytuya_reads_our_device_frames(
    version: str, cmd: int, body: dict[str, Any] | None, seqno: int, retcode: int
) -> None:
    check_tinytuya_reads_our_device_frame(version, cmd, body, seqno, retcode)


# -- tinytuya -> ours ------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
@given(cmd=st.sampled_from(COMMANDS), body=json_bodies, seqno=st.integers(0, 2**32 - 1))
def test_we_read_tinytuyas_client_frames(version: str, cmd: int, body: dict[str, Any], seqno: int) -> None:
    # tinytuya strips every space from its JSON; the codec carries whatever bytes it is given.
    payload = json.dumps(body).replace(" ", "").encode()
    data = reference.encode_client(their_device(version), cmd, payload, seqno)
    assert decode_ours(our_codec(version, Role.DEVICE), data) == Message(cmd, seqno, None, payload)


@pytest.mark.parametrize("version", VERSIONS)
@given(
    cmd=st.sampled_from(COMMANDS),
    body=st.none() | json_bodies,
    seqno=st.integers(0, 2**32 - 1),
    retcode=st.integers(0, 2**32 - 1),
    iv=st.binary(min_size=12, max_size=12),
)
def test_we_read_tinytuyas_device_frames(
    version: str, cmd: int, body: dict[str, Any] | None, seqno: int, retcode: int, iv: bytes
) -> None:
    payload = b"" if body is None else json.dumps(body).replace(" ", "").encode()
    key = keys(version)[1] or KEY
    data = reference.encode_device(version, key, cmd, payload, seqno, retcode, iv)
    assert decode_ours(our_codec(version, Role.CLIENT), data) == Message(cmd, seqno, retcode, payload)


@pytest.mark.parametrize("version", VERSIONS)
def test_we_read_tinytuyas_generated_requests(version: str) -> None:
    """The whole sync send path: generate_payload, then _encode_message, read by our device codec."""
    dev = their_device(version)
    codec = our_codec(version, Role.DEVICE)
    requests: list[tuple[int, dict[str, Any]]] = [
        (tuya.DP_QUERY, {}),
        (tuya.CONTROL, {"data": {"1": True, "20": "a b"}}),
        (tuya.HEART_BEAT, {}),
        (tuya.UPDATEDPS, {"data": [4, 5]}),
        (tuya.LAN_EXT_STREAM, {"rawData": {"cids": ["x"]}, "reqType": "subdev_online_stat_query"}),
    ]
    for seqno, (command, kwargs) in enumerate(requests, start=1):
        sent = dev.generate_payload(command, **kwargs)
        data = reference.encode_client(dev, sent.cmd, sent.payload, seqno)
        assert decode_ours(codec, data) == Message(sent.cmd, seqno, None, sent.payload)


@pytest.mark.parametrize("version", ["3.2", "3.3", "3.4"])
def test_wrong_key_ecb_body_is_undecryptable_not_fatal(version: str) -> None:
    """tinytuya answers ERR_PAYLOAD to a body it cannot decrypt; we flag it instead of raising."""
    other = b"fedcba9876543210"
    payload = b'{"dps":{"1":true}}'
    if version == "3.4":
        # The HMAC is keyed too, so frame it under our key around the other key's ciphertext.
        body = tinytuya.AESCipher(other).encrypt(payload, False)
        data = tinytuya.pack_message(
            tinytuya.TuyaMessage(3, tuya.STATUS, None, bytes(4) + body, 0, True, tuya.PREFIX_55AA, None),
            hmac_key=keys(version)[1],
        )
    else:
        data = reference.encode_device(version, other, tuya.STATUS, payload, 3, 0, b"")
    message = decode_ours(our_codec(version, Role.CLIENT), data)
    assert message.undecryptable
    assert (message.cmd, message.seqno, message.retcode) == (tuya.STATUS, 3, 0)
    assert message.payload != payload
