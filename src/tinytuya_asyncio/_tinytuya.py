"""The typed doorway to tinytuya: every name we reuse from the sync library comes through here.

tinytuya is untyped and has import traps (``tinytuya.core`` is a module, not the package;
``set_debug()`` reconfigures the root logger; some helpers log at DEBUG). Keeping every
import in one module gives mypy one place to trust, and gives
``tests/test_tinytuya_contract.py`` one list of helpers to pin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple, Protocol, cast

import tinytuya as _tt

# Command ids (facts of the wire protocol; tinytuya names them).
SESS_KEY_NEG_START: Final[int] = _tt.SESS_KEY_NEG_START
SESS_KEY_NEG_RESP: Final[int] = _tt.SESS_KEY_NEG_RESP
SESS_KEY_NEG_FINISH: Final[int] = _tt.SESS_KEY_NEG_FINISH
AP_CONFIG: Final[int] = _tt.AP_CONFIG
CONTROL: Final[int] = _tt.CONTROL
STATUS: Final[int] = _tt.STATUS
HEART_BEAT: Final[int] = _tt.HEART_BEAT
DP_QUERY: Final[int] = _tt.DP_QUERY
CONTROL_NEW: Final[int] = _tt.CONTROL_NEW
DP_QUERY_NEW: Final[int] = _tt.DP_QUERY_NEW
UPDATEDPS: Final[int] = _tt.UPDATEDPS
UDP_NEW: Final[int] = _tt.UDP_NEW
BOARDCAST_LPV34: Final[int] = _tt.BOARDCAST_LPV34
REQ_DEVINFO: Final[int] = _tt.REQ_DEVINFO
LAN_EXT_STREAM: Final[int] = _tt.LAN_EXT_STREAM

# Frame layout constants.
PREFIX_55AA: Final[int] = _tt.PREFIX_55AA_VALUE
PREFIX_6699: Final[int] = _tt.PREFIX_6699_VALUE
PREFIX_55AA_BIN: Final[bytes] = _tt.PREFIX_55AA_BIN
PREFIX_6699_BIN: Final[bytes] = _tt.PREFIX_6699_BIN
SUFFIX_55AA_BIN: Final[bytes] = _tt.SUFFIX_55AA_BIN
SUFFIX_6699_BIN: Final[bytes] = _tt.SUFFIX_6699_BIN
HEADER_FMT_55AA: Final[str] = _tt.MESSAGE_HEADER_FMT_55AA
HEADER_FMT_6699: Final[str] = _tt.MESSAGE_HEADER_FMT_6699
PROTOCOL_3X_HEADER: Final[bytes] = _tt.PROTOCOL_3x_HEADER
NO_PROTOCOL_HEADER_CMDS: Final[frozenset[int]] = frozenset(_tt.NO_PROTOCOL_HEADER_CMDS)
#: tinytuya's own ceiling on a frame's length field (its sync reader refuses more).
MAX_PAYLOAD_LENGTH: Final[int] = _tt.MAX_PAYLOAD_LENGTH

# Ports.
TCPPORT: Final[int] = _tt.TCPPORT
UDPPORT: Final[int] = _tt.UDPPORT
UDPPORTS: Final[int] = _tt.UDPPORTS
UDPPORTAPP: Final[int] = _tt.UDPPORTAPP
#: Seconds tinytuya's scanner listens for broadcasts by default.
SCANTIME: Final[int] = _tt.SCANTIME
#: tinytuya's default file names (its wizard writes devices.json; its scans snapshot.json).
DEVICEFILE: Final[str] = _tt.DEVICEFILE
SNAPSHOTFILE: Final[str] = _tt.SNAPSHOTFILE
#: The well-known key that encrypts UDP discovery broadcasts.
UDP_KEY: Final[bytes] = _tt.udpkey

# Error codes of the sync API's error dicts.
ERR_JSON: Final[int] = _tt.ERR_JSON
ERR_CONNECT: Final[int] = _tt.ERR_CONNECT
ERR_TIMEOUT: Final[int] = _tt.ERR_TIMEOUT
ERR_RANGE: Final[int] = _tt.ERR_RANGE
ERR_PAYLOAD: Final[int] = _tt.ERR_PAYLOAD
ERR_OFFLINE: Final[int] = _tt.ERR_OFFLINE
ERR_STATE: Final[int] = _tt.ERR_STATE
ERR_FUNCTION: Final[int] = _tt.ERR_FUNCTION
ERR_DEVTYPE: Final[int] = _tt.ERR_DEVTYPE
ERR_PARAMS: Final[int] = _tt.ERR_PARAMS
ERR_KEY_OR_VER: Final[int] = _tt.ERR_KEY_OR_VER

#: tinytuya's command templates per device type and version (read-only for us).
PAYLOAD_DICT: Final[Mapping[str, Mapping[int, Mapping[str, Any]]]] = _tt.payload_dict

#: tinytuya's sync message tuples, re-exported so users can pass them to either API.
MessagePayload: Final = _tt.MessagePayload
TuyaMessage: Final = _tt.TuyaMessage
DecodeError: Final[type[Exception]] = _tt.DecodeError


class Cipher(Protocol):
    """The part of tinytuya's ``AESCipher`` we use."""

    def encrypt(
        self,
        raw: bytes,
        use_base64: bool = True,
        pad: bool = True,
        iv: bytes | bool = False,
        header: bytes | None = None,
    ) -> bytes: ...

    def decrypt(  # noqa: PLR0917 - mirrors tinytuya's signature
        self,
        enc: bytes,
        use_base64: bool = True,
        decode_text: bool = True,
        verify_padding: bool = False,
        iv: bytes | bool = False,
        header: bytes | None = None,
        tag: bytes | None = None,
    ) -> bytes | str: ...


class UnpackedFrame(NamedTuple):
    """The fields of tinytuya's ``TuyaMessage`` we read after ``unpack_message``."""

    seqno: int
    cmd: int
    retcode: int
    payload: bytes
    crc: int | bytes
    crc_good: bool
    prefix: int
    iv: bytes | None


class FrameHeaderTuple(NamedTuple):
    """Mirror of tinytuya's ``TuyaHeader``."""

    prefix: int
    seqno: int
    cmd: int
    length: int
    total_length: int


def aes_cipher(key: bytes) -> Cipher:
    """tinytuya's ``AESCipher`` for ``key`` (ECB and GCM, cryptography backend)."""
    return cast("Cipher", _tt.AESCipher(key))


def pack_message(
    seqno: int,
    cmd: int,
    payload: bytes,
    *,
    prefix: int,
    key: bytes | None,
    retcode: int | None = None,
    iv: bytes | None = None,
) -> bytes:
    """Frame ``payload`` with tinytuya's ``pack_message``.

    55AA frames get CRC32 (``key=None``) or HMAC-SHA256; 6699 frames are AES-GCM under
    ``key`` with ``iv`` (which must be given: tinytuya's own IV is fixed in debug mode).
    """
    message = _tt.TuyaMessage(seqno, cmd, retcode, payload, 0, True, prefix, iv)
    return cast("bytes", _tt.pack_message(message, hmac_key=key))


def unpack_message(
    data: bytes, header: FrameHeaderTuple, *, key: bytes | None, no_retcode: bool
) -> UnpackedFrame:
    """Unpack one whole frame with tinytuya's ``unpack_message`` (checks, never raises on them)."""
    header_tuple = _tt.TuyaHeader(*header)
    return UnpackedFrame(*_tt.unpack_message(data, hmac_key=key, header=header_tuple, no_retcode=no_retcode))


def error_json(number: int | None, payload: object = None) -> dict[str, Any]:
    """tinytuya's sync error dict: ``{"Error": text, "Err": "905", "Payload": payload}``."""
    return cast("dict[str, Any]", _tt.error_json(number, payload))


def decrypt_udp(datagram: bytes) -> str:
    """Decrypt any discovery broadcast format to its JSON text."""
    return cast("str", _tt.decrypt_udp(datagram))


TINYTUYA_VERSION: Final[str] = _tt.__version__


# -- bulbs and covers: tinytuya's static tables and pure colour converters ----------------

_BULB: Final = _tt.BulbDevice
_COVER: Final = _tt.CoverDevice

#: Per bulb type ("A", "B", "C", "None"): feature -> DP number (or None), plus the value
#: range (``value_min``, ``value_max``) and colour format (``value_hexformat``).
BULB_DPSETS: Final[Mapping[str, Mapping[str, Any]]] = _BULB.DEFAULT_DPSET
#: The bulb modes and features tinytuya names.
BULB_MODE_WHITE: Final[str] = _BULB.DPS_MODE_WHITE
BULB_MODE_COLOUR: Final[str] = _BULB.DPS_MODE_COLOUR
BULB_MODE_SCENE: Final[str] = _BULB.DPS_MODE_SCENE
BULB_MODE_MUSIC: Final[str] = _BULB.DPS_MODE_MUSIC
#: Cover type (1-8) -> action ("open", "close", "stop", "continue") -> the value written
#: (None: the type has no such action), plus ``detect_values``.
COVER_TYPES: Final[Mapping[int, Mapping[str, Any]]] = _COVER.COVER_TYPES
COVER_DEFAULT_TYPE: Final[int] = _COVER.DEFAULT_COVER_TYPE
COVER_MOVE_DP: Final[str] = _COVER.DPS_INDEX_MOVE


def bulb_attribute(name: str) -> Any:
    """A class attribute of tinytuya's ``BulbDevice`` (its constants, kept for compatibility)."""
    return getattr(_BULB, name)


def cover_attribute(name: str) -> Any:
    """A class attribute of tinytuya's ``CoverDevice``."""
    return getattr(_COVER, name)


def rgb_to_hexvalue(r: float, g: float, b: float, hexformat: str) -> str:
    """tinytuya's colour string for r, g, b (0-255): ``"rgb8"`` or ``"hsv16"`` format."""
    return cast("str", _BULB.rgb_to_hexvalue(r, g, b, hexformat))


def hsv_to_hexvalue(h: float, s: float, v: float, hexformat: str) -> str:
    """tinytuya's colour string for h, s, v (0-1); only its ``"hsv16"`` branch works in 1.20."""
    return cast("str", _BULB.hsv_to_hexvalue(h, s, v, hexformat))


def hexvalue_to_rgb(hexvalue: str, hexformat: str | None = None) -> tuple[int, int, int]:
    """tinytuya's colour string back to r, g, b."""
    return cast("tuple[int, int, int]", _BULB.hexvalue_to_rgb(hexvalue, hexformat))


def hexvalue_to_hsv(hexvalue: str, hexformat: str | None = None) -> tuple[float, float, float]:
    """tinytuya's colour string back to h, s, v (0-1)."""
    return cast("tuple[float, float, float]", _BULB.hexvalue_to_hsv(hexvalue, hexformat))
