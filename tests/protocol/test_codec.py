"""Codec and version edge cases: misuse, wrong formats, 3.1 signatures and undecryptable bodies."""

from __future__ import annotations

import struct

import pytest
import tinytuya

from tests.protocol.helpers import KEY, OTHER_KEY, VERSIONS, IVs
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import FrameError, IntegrityError, LocalProtocolError
from tinytuya_asyncio.protocol import (
    SUPPORTED_VERSIONS,
    Codec,
    Frame,
    FrameReader,
    Message,
    Role,
    version_spec,
)
from tinytuya_asyncio.protocol.versions import Integrity


def one_frame(data: bytes) -> Frame:
    (frame,) = FrameReader().feed(data)
    return frame


# -- versions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "text"),
    [(3.1, "3.1"), ("3.3", "3.3"), ("v3.4", "v3.4"[1:]), (" 3.5 ", "3.5"), ("3.10", "3.1"), (3.2, "3.2")],
)
def test_version_spec_accepts_tinytuya_spellings(given: float | str, text: str) -> None:
    assert version_spec(given).text == text
    assert version_spec(version_spec(given)) is version_spec(given)


@pytest.mark.parametrize("given", ["3.0", "3.6", 3.45, "3.15", "3.14", "three", "", "nan", "inf", 4])
def test_version_spec_refuses_anything_else(given: float | str) -> None:
    with pytest.raises(LocalProtocolError):
        version_spec(given)


def test_version_table() -> None:
    rows = [
        (s.text, s.version_bytes, s.header, s.prefix, s.integrity, s.needs_session_key, s.template_key)
        for s in SUPPORTED_VERSIONS
    ]
    zeros = bytes(12)
    assert rows == [
        ("3.1", b"3.1", b"3.1" + zeros, 0x55AA, Integrity.CRC32, False, "v3.1"),
        ("3.2", b"3.2", b"3.2" + zeros, 0x55AA, Integrity.CRC32, False, "v3.2"),
        ("3.3", b"3.3", b"3.3" + zeros, 0x55AA, Integrity.CRC32, False, "v3.3"),
        ("3.4", b"3.4", b"3.4" + zeros, 0x55AA, Integrity.HMAC_SHA256, True, "v3.4"),
        ("3.5", b"3.5", b"3.5" + zeros, 0x6699, Integrity.AES_GCM, True, "v3.5"),
    ]


# -- misuse ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["3.2", "3.3", "3.4", "3.5"])
@pytest.mark.parametrize("key", [b"", b"short", KEY + b"x"])
def test_keys_must_be_16_bytes(version: str, key: bytes) -> None:
    with pytest.raises(LocalProtocolError):
        Codec(version, key, Role.CLIENT)


def test_session_key_switching() -> None:
    codec = Codec("3.4", KEY, Role.CLIENT)
    seen = [codec.has_session_key]
    with pytest.raises(LocalProtocolError):
        codec.use_session_key(b"too short")
    codec.use_session_key(OTHER_KEY)
    seen.append(codec.has_session_key)
    under_session = codec.encode(tuya.DP_QUERY_NEW, b"{}", 1)
    assert seen == [False, True]
    under_device = Codec("3.4", KEY, Role.CLIENT).encode(tuya.DP_QUERY_NEW, b"{}", 1)
    assert under_session != under_device


@pytest.mark.parametrize("version", VERSIONS)
def test_retcode_belongs_to_device_frames_only(version: str) -> None:
    iv = IVs(version)()
    with pytest.raises(LocalProtocolError):
        Codec(version, KEY, Role.CLIENT).encode(tuya.STATUS, b"{}", 1, retcode=0, iv=iv)
    with pytest.raises(LocalProtocolError):
        Codec(version, KEY, Role.DEVICE).encode(tuya.STATUS, b"{}", 1, iv=iv)


@pytest.mark.parametrize("iv", [None, b"", bytes(11), bytes(16)])
def test_35_needs_a_12_byte_iv(iv: bytes | None) -> None:
    with pytest.raises(LocalProtocolError):
        Codec("3.5", KEY, Role.CLIENT).encode(tuya.DP_QUERY_NEW, b"{}", 1, iv=iv)


# -- hostile frames ------------------------------------------------------------------------------------


def test_wrong_prefix_for_the_version_is_a_frame_error() -> None:
    frame_55aa = one_frame(Codec("3.4", KEY, Role.CLIENT).encode(tuya.DP_QUERY_NEW, b"{}", 1))
    with pytest.raises(FrameError):
        Codec("3.5", KEY, Role.DEVICE).decode(frame_55aa)
    frame_6699 = one_frame(Codec("3.5", KEY, Role.CLIENT).encode(tuya.DP_QUERY_NEW, b"{}", 1, iv=bytes(12)))
    with pytest.raises(FrameError):
        Codec("3.4", KEY, Role.DEVICE).decode(frame_6699)


def test_frame_too_short_for_its_checksum_is_a_frame_error() -> None:
    # Delimitable (length 8), but a 3.4 frame needs 32 HMAC bytes and a device frame a retcode.
    data = struct.pack(">4I", 0x55AA, 1, tuya.STATUS, 8) + bytes(4) + tuya.SUFFIX_55AA_BIN
    with pytest.raises(FrameError):
        Codec("3.4", KEY, Role.CLIENT).decode(one_frame(data))
    with pytest.raises(FrameError):
        Codec("3.3", KEY, Role.CLIENT).decode(one_frame(data))


def test_35_device_frame_too_short_for_a_retcode_is_a_frame_error() -> None:
    message = tinytuya.TuyaMessage(1, tuya.STATUS, None, b"ab", 0, True, tuya.PREFIX_6699, bytes(12))
    data = tinytuya.pack_message(message, hmac_key=KEY)
    with pytest.raises(FrameError):
        Codec("3.5", KEY, Role.CLIENT).decode(one_frame(data))


@pytest.mark.parametrize("version", VERSIONS)
def test_corrupted_checksum_is_an_integrity_error(version: str) -> None:
    data = bytearray(
        Codec(version, KEY, Role.DEVICE).encode(tuya.STATUS, b'{"dps":{}}', 1, retcode=0, iv=IVs(version)())
    )
    data[-6] ^= 0x40
    with pytest.raises(IntegrityError):
        Codec(version, KEY, Role.CLIENT).decode(one_frame(bytes(data)))


# -- 3.1 -----------------------------------------------------------------------------------------------


def test_31_encrypts_control_only_from_a_client_and_status_too_from_a_device() -> None:
    body = b'{"dps":{"1":true}}'
    for role, encrypted in ((Role.CLIENT, {tuya.CONTROL}), (Role.DEVICE, {tuya.CONTROL, tuya.STATUS})):
        codec = Codec("3.1", KEY, role)
        code = 0 if role is Role.DEVICE else None
        for cmd in (tuya.CONTROL, tuya.STATUS, tuya.DP_QUERY, tuya.HEART_BEAT):
            frame = one_frame(codec.encode(cmd, body, 1, retcode=code))
            assert (body in frame.data) == (cmd not in encrypted), (role, cmd)


def test_31_device_checks_the_md5_signature() -> None:
    client = Codec("3.1", KEY, Role.CLIENT)
    device = Codec("3.1", KEY, Role.DEVICE)
    wire = client.encode(tuya.CONTROL, b'{"dps":{"1":true}}', 4)
    assert device.decode(one_frame(wire)) == Message(tuya.CONTROL, 4, None, b'{"dps":{"1":true}}')
    # Same ciphertext, forged signature, CRC recomputed: only the signature can tell.
    body = tinytuya.unpack_message(wire, no_retcode=True).payload
    forged = body[:3] + b"0" * 16 + body[19:]
    data = tinytuya.pack_message(tinytuya.TuyaMessage(4, tuya.CONTROL, None, forged, 0, True, 0x55AA, None))
    with pytest.raises(IntegrityError):
        device.decode(one_frame(data))
    # A client does not check what devices send (their signatures are not always right).
    reply = tinytuya.pack_message(
        tinytuya.TuyaMessage(4, tuya.STATUS, None, bytes(4) + forged, 0, True, 0x55AA, None)
    )
    assert client.decode(one_frame(reply)) == Message(tuya.STATUS, 4, 0, b'{"dps":{"1":true}}')


def test_31_plaintext_passes_through() -> None:
    reply = Codec("3.1", KEY, Role.DEVICE).encode(tuya.DP_QUERY, b'{"dps":{"1":1}}', 2, retcode=0)
    assert Codec("3.1", KEY, Role.CLIENT).decode(one_frame(reply)) == Message(
        tuya.DP_QUERY, 2, 0, b'{"dps":{"1":1}}'
    )


# -- bodies that verify but do not decrypt ----------------------------------------------------------------


def _device_frame(cmd: int, body: bytes, *, hmac_key: bytes | None = None) -> Frame:
    message = tinytuya.TuyaMessage(3, cmd, None, bytes(4) + body, 0, True, tuya.PREFIX_55AA, None)
    return one_frame(tinytuya.pack_message(message, hmac_key=hmac_key))


@pytest.mark.parametrize(
    ("version", "body"),
    [
        ("3.3", b"3.3" + bytes(12)),  # a version header and nothing after it
        ("3.3", bytes(17)),  # not a whole number of blocks
        ("3.2", b"json obj data unvalid"),  # a clear error text
        ("3.3", tinytuya.AESCipher(OTHER_KEY).encrypt(b"{}", False)),  # another key
        ("3.1", b"3.1" + b"0" * 16),  # a 3.1 signature and no ciphertext
        ("3.1", b"3.1" + b"0" * 16 + b"!!!!"),  # base64 that decodes to nothing
        ("3.1", b"3.1" + b"0" * 16 + b"not base64 at all"),
        ("3.4", bytes(15)),
    ],
    ids=[
        "header-only",
        "partial-block",
        "clear-text",
        "other-key",
        "31-empty",
        "31-junk-b64",
        "31-bad-b64",
        "34-short",
    ],
)
def test_undecryptable_bodies_are_flagged_not_raised(version: str, body: bytes) -> None:
    frame = _device_frame(tuya.STATUS, body, hmac_key=KEY if version == "3.4" else None)
    message = Codec(version, KEY, Role.CLIENT).decode(frame)
    assert message == Message(tuya.STATUS, 3, 0, body, undecryptable=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_bodies_are_null_acks(version: str) -> None:
    wire = Codec(version, KEY, Role.DEVICE).encode(tuya.CONTROL, b"", 8, retcode=0, iv=IVs(version)())
    assert Codec(version, KEY, Role.CLIENT).decode(one_frame(wire)) == Message(tuya.CONTROL, 8, 0, b"")


def test_v31_without_a_key_queries_in_clear_but_cannot_control() -> None:
    codec = Codec("3.1", b"", Role.CLIENT)
    assert codec.encode(tuya.DP_QUERY, b'{"gwId":"x"}', 1).count(b'{"gwId":"x"}') == 1
    with pytest.raises(LocalProtocolError, match="16-byte"):
        codec.encode(tuya.CONTROL, b'{"dps":{"1":true}}', 2)
