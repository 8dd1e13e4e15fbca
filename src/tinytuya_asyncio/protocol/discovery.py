"""UDP discovery datagrams, both ways, without I/O: what devices announce and what apps probe.

Formats (docs/PROTOCOL.md#discovery-datagrams; all of them decode with ``tinytuya.decrypt_udp``):

* 3.1 announces a 55AA frame (cmd UDP_NEW) with a zero return code and the JSON in clear,
  to the plain port (6666).
* 3.2 and 3.3 announce a 55AA frame (UDP_NEW), 3.4 one with cmd BOARDCAST_LPV34, with a
  zero return code and AES-ECB(udpkey, JSON), to the encrypted port (6667).
* 3.5 announces a 6699 frame (BOARDCAST_LPV34): AES-GCM under udpkey of a return code and
  the JSON. Newer 3.5 firmware stays silent until an app sends the probe below, and
  answers it with the same frame, by unicast to the probe's ``"ip"`` on the app port (7000).
* The probe (REQ_DEVINFO) is a 6699 frame without a return code carrying
  ``{"from": "app", "ip": "<the app's address>"}``, broadcast to the app port.
* Some old firmware sends the JSON AES-ECB encrypted with no frame around it at all.

Every datagram comes from the network, so :func:`decode_datagram` trusts nothing: the size
is capped before anything else, the checksum or GCM tag is verified before decrypting or
parsing, and anything that does not decode raises :class:`DatagramError` (its ``reason``
says which of oversize, truncated, integrity or undecodable), never another exception.
GCM needs a fresh IV per datagram: the caller passes it in, this module has no randomness.
"""

from __future__ import annotations

import binascii
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DatagramError, LocalProtocolError
from tinytuya_asyncio.protocol.crypto import BLOCK, GCM_TAG_LEN, KeyedCipher
from tinytuya_asyncio.protocol.payloads import encode_json
from tinytuya_asyncio.protocol.versions import VersionSpec, version_spec

#: Largest datagram worth decoding. Announcements are 200 to 400 bytes; tinytuya reads up
#: to 4048. Anything bigger is not discovery traffic and is refused before it is parsed.
MAX_DATAGRAM: Final = 4096

_HEADER_55AA: Final = struct.Struct(tuya.HEADER_FMT_55AA)  # prefix, seqno, cmd, length
_HEADER_6699: Final = struct.Struct(tuya.HEADER_FMT_6699)  # prefix, reserved, seqno, cmd, length
_RETCODE: Final = struct.Struct(">I")
_CRC_TAIL: Final = struct.Struct(">II")  # CRC32, suffix
_SUFFIX_55AA: Final = struct.unpack(">I", tuya.SUFFIX_55AA_BIN)[0]
_IV_LEN: Final = 12
#: 55AA: the length field covers return code + payload + CRC + suffix.
_MIN_LENGTH_55AA: Final = _RETCODE.size + _CRC_TAIL.size
#: 6699: the length field covers IV + ciphertext + tag; the suffix follows.
_MIN_LENGTH_6699: Final = _IV_LEN + GCM_TAG_LEN


class DatagramFormat(Enum):
    """How a datagram was wrapped (which also hints at the sender's protocol version)."""

    PLAIN = "plain"  # 55AA, JSON in clear: 3.1
    ECB = "ecb"  # 55AA, AES-ECB under udpkey: 3.2 to 3.4
    GCM = "gcm"  # 6699, AES-GCM under udpkey: 3.5 and the app's probe
    BARE = "bare"  # AES-ECB under udpkey with no frame: old firmware


@dataclass(frozen=True, slots=True)
class Datagram:
    """One decoded discovery datagram."""

    format: DatagramFormat
    #: The frame's command (None for a bare datagram).
    cmd: int | None
    #: The JSON object it carried.
    body: dict[str, Any]

    @property
    def is_probe(self) -> bool:
        """True for an app's REQ_DEVINFO probe (``"from": "app"``), not a device's announcement."""
        return self.body.get("from") == "app"


def _udp_cipher() -> KeyedCipher:
    # A new cipher per datagram: discovery is a few datagrams a second, and a kept ECB context
    # would be shared state between event loops in different threads.
    return KeyedCipher(tuya.UDP_KEY)


def _gcm_frame(cmd: int, plain: bytes, iv: bytes) -> bytes:
    if len(iv) != _IV_LEN:
        raise LocalProtocolError("6699 datagrams need a 12-byte random IV")
    header = _HEADER_6699.pack(tuya.PREFIX_6699, 0, 0, cmd, _IV_LEN + len(plain) + GCM_TAG_LEN)
    sealed = _udp_cipher().gcm_encrypt(iv, plain, header[4:])
    return b"".join((header, iv, sealed, tuya.SUFFIX_6699_BIN))


def _crc_frame(cmd: int, body: bytes) -> bytes:
    head = _HEADER_55AA.pack(tuya.PREFIX_55AA, 0, cmd, len(body) + _CRC_TAIL.size) + body
    return head + _CRC_TAIL.pack(binascii.crc32(head), _SUFFIX_55AA)


def encode_announcement(
    info: Mapping[str, Any], version: float | str | VersionSpec, *, iv: bytes | None = None
) -> bytes:
    """The datagram a device of ``version`` broadcasts about itself (``iv``: 12 random bytes, 3.5)."""
    spec = version_spec(version)
    body = encode_json(dict(info))
    zero = _RETCODE.pack(0)
    if spec.number >= 3.5:
        if iv is None:
            raise LocalProtocolError("3.5 announcements need a 12-byte random IV")
        return _gcm_frame(tuya.BOARDCAST_LPV34, zero + body, iv)
    cmd = tuya.BOARDCAST_LPV34 if spec.number >= 3.4 else tuya.UDP_NEW
    if spec.number > 3.1:
        body = _udp_cipher().ecb_encrypt(body)
    return _crc_frame(cmd, zero + body)


def encode_probe(ip: str, *, iv: bytes) -> bytes:
    """The REQ_DEVINFO probe an app broadcasts; 3.5 devices answer to ``ip`` on the app port."""
    return _gcm_frame(tuya.REQ_DEVINFO, encode_json({"from": "app", "ip": ip}), iv)


def decode_datagram(data: bytes | bytearray | memoryview) -> Datagram:
    """Verify and decode one datagram; :class:`DatagramError` for anything else."""
    data = bytes(data)
    if len(data) > MAX_DATAGRAM:
        raise DatagramError("oversize", f"{len(data)} bytes, more than {MAX_DATAGRAM}")
    prefix = data[:4]
    if prefix == tuya.PREFIX_55AA_BIN:
        return _decode_55aa(data)
    if prefix == tuya.PREFIX_6699_BIN:
        return _decode_6699(data)
    if not data:
        raise DatagramError("truncated", "empty datagram")
    if len(data) % BLOCK:
        raise DatagramError("undecodable", "neither a frame nor whole AES blocks")
    plain = _udp_cipher().ecb_decrypt(data)
    if plain is None:
        raise DatagramError("undecodable", "not a frame, and not encrypted under the discovery key")
    return Datagram(DatagramFormat.BARE, None, _parse(plain))


def _decode_55aa(data: bytes) -> Datagram:
    if len(data) < _HEADER_55AA.size:
        raise DatagramError("truncated", "55AA header cut short")
    _, _, cmd, length = _HEADER_55AA.unpack_from(data)
    total = _HEADER_55AA.size + length
    if length < _MIN_LENGTH_55AA or length > MAX_DATAGRAM:
        raise DatagramError("undecodable", f"impossible 55AA length {length}")
    if len(data) < total:
        raise DatagramError("truncated", f"{len(data)} of {total} bytes")
    if len(data) > total:
        raise DatagramError("undecodable", f"{len(data) - total} bytes after the frame")
    end = total - _CRC_TAIL.size
    crc, suffix = _CRC_TAIL.unpack_from(data, end)
    if suffix != _SUFFIX_55AA:
        raise DatagramError("undecodable", "wrong 55AA suffix")
    if crc != binascii.crc32(data[:end]):
        raise DatagramError("integrity", "CRC32 mismatch")
    payload = data[_HEADER_55AA.size + _RETCODE.size : end]
    if payload[:1] == b"{" and payload[-1:] == b"}":
        return Datagram(DatagramFormat.PLAIN, cmd, _parse(payload))
    plain = _udp_cipher().ecb_decrypt(payload)
    if plain is None:
        raise DatagramError("undecodable", "55AA payload not encrypted under the discovery key")
    return Datagram(DatagramFormat.ECB, cmd, _parse(plain))


def _decode_6699(data: bytes) -> Datagram:
    if len(data) < _HEADER_6699.size:
        raise DatagramError("truncated", "6699 header cut short")
    _, _, _, cmd, length = _HEADER_6699.unpack_from(data)
    total = _HEADER_6699.size + length + len(tuya.SUFFIX_6699_BIN)
    if length < _MIN_LENGTH_6699 or length > MAX_DATAGRAM:
        raise DatagramError("undecodable", f"impossible 6699 length {length}")
    if len(data) < total:
        raise DatagramError("truncated", f"{len(data)} of {total} bytes")
    if len(data) > total:
        raise DatagramError("undecodable", f"{len(data) - total} bytes after the frame")
    if data[-4:] != tuya.SUFFIX_6699_BIN:
        raise DatagramError("undecodable", "wrong 6699 suffix")
    start = _HEADER_6699.size
    iv = data[start : start + _IV_LEN]
    plain = _udp_cipher().gcm_decrypt(iv, data[start + _IV_LEN : -4], data[4:start])
    if plain is None:
        raise DatagramError("integrity", "AES-GCM tag mismatch")
    # Devices put a return code before the JSON, apps do not: only a 4-byte lead before "{"
    # is one.
    if plain[:1] != b"{" and plain[_RETCODE.size : _RETCODE.size + 1] == b"{":
        plain = plain[_RETCODE.size :]
    return Datagram(DatagramFormat.GCM, cmd, _parse(plain.rstrip(b"\x00")))


def _parse(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise DatagramError("undecodable", "payload is not JSON") from None
    if not isinstance(body, dict):
        raise DatagramError("undecodable", "payload is not a JSON object")
    return body
