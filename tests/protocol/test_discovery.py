"""Discovery datagrams, with tinytuya's helpers as the referee in both directions."""

from __future__ import annotations

import json
import os
import struct

import pytest
import tinytuya
from tinytuya.core.udp_helper import encrypt as tinytuya_udp_encrypt

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DatagramError, LocalProtocolError
from tinytuya_asyncio.protocol import (
    MAX_DATAGRAM,
    DatagramFormat,
    decode_datagram,
    encode_announcement,
    encode_probe,
)

INFO = {
    "ip": "127.0.1.7",
    "gwId": "bf0123456789abcdefgh",
    "active": 2,
    "ability": 0,
    "mode": 0,
    "encrypt": True,
    "productKey": "keyabcdefghijklm",
    "version": "3.3",
}
IV = bytes(range(12))
FORMATS = {
    "3.1": DatagramFormat.PLAIN,
    "3.2": DatagramFormat.ECB,
    "3.3": DatagramFormat.ECB,
    "3.4": DatagramFormat.ECB,
    "3.5": DatagramFormat.GCM,
}
COMMANDS = {"3.1": tuya.UDP_NEW, "3.2": tuya.UDP_NEW, "3.3": tuya.UDP_NEW, "3.4": 0x23, "3.5": 0x23}


def tinytuya_announcement(version: str, info: dict[str, object], iv: bytes = IV) -> bytes:
    """What a device sends, built with tinytuya's own pack_message and AESCipher."""
    body = json.dumps(info).encode()
    cmd = COMMANDS[version]
    if version == "3.5":
        message = tinytuya.TuyaMessage(0, cmd, 0, body, 0, True, tinytuya.PREFIX_6699_VALUE, iv)
        return bytes(tinytuya.pack_message(message, hmac_key=tinytuya.udpkey))
    if version != "3.1":
        body = tinytuya.AESCipher(tinytuya.udpkey).encrypt(body, use_base64=False)
    message = tinytuya.TuyaMessage(0, cmd, None, b"\x00" * 4 + body, 0, True, tinytuya.PREFIX_55AA_VALUE)
    return bytes(tinytuya.pack_message(message))


@pytest.mark.parametrize("version", list(FORMATS))
def test_our_announcements_decode_with_tinytuya(version: str) -> None:
    datagram = encode_announcement(INFO, version, iv=os.urandom(12))
    assert json.loads(tinytuya.decrypt_udp(datagram)) == INFO


@pytest.mark.parametrize("version", list(FORMATS))
def test_our_announcements_are_tinytuyas_bytes(version: str) -> None:
    # Same JSON text on both sides (ours is compact), so the frames must match byte for byte.
    compact = json.loads(json.dumps(INFO, separators=(",", ":")))
    ours = encode_announcement(compact, version, iv=IV)
    body = json.dumps(compact, separators=(",", ":")).encode()
    cmd = COMMANDS[version]
    if version == "3.5":
        message = tinytuya.TuyaMessage(0, cmd, 0, body, 0, True, tinytuya.PREFIX_6699_VALUE, IV)
        theirs = tinytuya.pack_message(message, hmac_key=tinytuya.udpkey)
    else:
        if version != "3.1":
            body = tinytuya.AESCipher(tinytuya.udpkey).encrypt(body, use_base64=False)
        message = tinytuya.TuyaMessage(0, cmd, None, b"\x00" * 4 + body, 0, True, tinytuya.PREFIX_55AA_VALUE)
        theirs = tinytuya.pack_message(message)
    assert ours == theirs


@pytest.mark.parametrize("version", list(FORMATS))
def test_tinytuya_announcements_decode_with_ours(version: str) -> None:
    decoded = decode_datagram(tinytuya_announcement(version, INFO))
    assert decoded.body == INFO
    assert decoded.format is FORMATS[version]
    assert decoded.cmd == COMMANDS[version]
    assert not decoded.is_probe


def test_bare_ecb_datagrams_decode_both_ways() -> None:
    bare = tinytuya_udp_encrypt(json.dumps(INFO).encode(), tinytuya.udpkey)
    decoded = decode_datagram(bare)
    assert (decoded.format, decoded.cmd, decoded.body) == (DatagramFormat.BARE, None, INFO)
    assert json.loads(tinytuya.decrypt_udp(bare)) == INFO


def test_probe_both_ways() -> None:
    ours = encode_probe("127.0.0.1", iv=os.urandom(12))
    assert json.loads(tinytuya.decrypt_udp(ours)) == {"from": "app", "ip": "127.0.0.1"}
    # tinytuya's scanner builds its probe this way (an IV given, since its own is fixed in debug).
    body = json.dumps({"from": "app", "ip": "127.0.0.9"}).encode()
    message = tinytuya.TuyaMessage(0, tuya.REQ_DEVINFO, None, body, 0, True, tinytuya.PREFIX_6699_VALUE, IV)
    theirs = decode_datagram(tinytuya.pack_message(message, hmac_key=tinytuya.udpkey))
    assert theirs.is_probe
    assert (theirs.cmd, theirs.body["ip"]) == (tuya.REQ_DEVINFO, "127.0.0.9")


def test_trailing_nuls_after_the_json_are_ignored() -> None:
    body = json.dumps({"from": "app", "ip": "127.0.0.1"}).encode() + b"\x00\x00"
    message = tinytuya.TuyaMessage(0, tuya.REQ_DEVINFO, None, body, 0, True, tinytuya.PREFIX_6699_VALUE, IV)
    assert decode_datagram(tinytuya.pack_message(message, hmac_key=tinytuya.udpkey)).is_probe


def test_gcm_needs_an_iv() -> None:
    with pytest.raises(LocalProtocolError):
        encode_announcement(INFO, "3.5")
    with pytest.raises(LocalProtocolError):
        encode_probe("127.0.0.1", iv=b"short")


def _reason(data: bytes | bytearray) -> str:
    with pytest.raises(DatagramError) as info:
        decode_datagram(data)
    return info.value.reason


@pytest.mark.parametrize("version", list(FORMATS))
def test_every_truncation_and_bit_flip_is_refused(version: str) -> None:
    datagram = encode_announcement(INFO, version, iv=IV)
    for cut in range(len(datagram)):
        assert _reason(datagram[:cut]) in {"truncated", "undecodable"}, cut
    for bit in range(len(datagram) * 8):
        flipped = bytearray(datagram)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert _reason(flipped) in {"truncated", "undecodable", "integrity"}, bit


def test_refusal_reasons() -> None:
    assert _reason(b"\x00" * (MAX_DATAGRAM + 1)) == "oversize"
    assert _reason(b"") == "truncated"
    assert _reason(b"not a datagram") == "undecodable"
    assert _reason(os.urandom(32)) == "undecodable"  # whole blocks, but not under udpkey
    ours = encode_announcement(INFO, "3.3")
    assert _reason(ours + b"\x00") == "undecodable"
    huge = struct.pack(">4I", 0x55AA, 0, tuya.UDP_NEW, 2**31)
    assert _reason(huge) == "undecodable"
    broken_crc = bytearray(ours)
    broken_crc[-5] ^= 0xFF
    assert _reason(broken_crc) == "integrity"
    # A frame whose checksum is right but whose body is not a JSON object.
    for plain in (b"[1, 2]", b"\xff\xfe", b"[" * 3000):
        body = tinytuya.AESCipher(tinytuya.udpkey).encrypt(plain, use_base64=False)
        message = tinytuya.TuyaMessage(0, tuya.UDP_NEW, None, b"\x00" * 4 + body, 0, True, 0x55AA)
        assert _reason(tinytuya.pack_message(message)) == "undecodable"
