"""The contract with tinytuya: every helper ``tinytuya_asyncio._tinytuya`` takes from it, pinned.

tinytuya_asyncio reuses tinytuya's framing, crypto, constants, templates and error dicts
instead of copying them. If a tinytuya release changes any of them, these tests fail with a
message naming what changed, before anything subtler breaks. Expected values are computed
independently (struct, binascii, hmac, cryptography), never with tinytuya itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import inspect
import json
import struct
from typing import Any

import pytest
import tinytuya
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Not tinytuya.core.message_helper as a module path: tinytuya.core is core/core.py (an import trap).
from tinytuya.core.message_helper import MAX_PAYLOAD_LENGTH, parse_header

from tinytuya_asyncio import _tinytuya as tuya

KEY = b"0123456789abcdef"
IV = bytes(range(12))
BROKEN = "tinytuya changed {what}; tinytuya_asyncio relies on it (see src/tinytuya_asyncio/_tinytuya.py)"


def pin(actual: object, expected: object, what: str) -> None:
    assert actual == expected, BROKEN.format(what=what) + f": expected {expected!r}, got {actual!r}"


def ecb(key: bytes, data: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def pkcs7(data: bytes) -> bytes:
    pad = 16 - len(data) % 16
    return data + bytes([pad]) * pad


def frame_55aa(seqno: int, cmd: int, body: bytes, hmac_key: bytes | None = None) -> bytes:
    """A 55AA frame built from the wire format, independently of tinytuya."""
    tail = 32 + 4 if hmac_key else 4 + 4
    head = struct.pack(">4I", 0x55AA, seqno, cmd, len(body) + tail) + body
    check = (
        hmac.new(hmac_key, head, hashlib.sha256).digest()
        if hmac_key
        else struct.pack(">I", binascii.crc32(head))
    )
    return head + check + b"\x00\x00\xaa\x55"


def frame_6699(seqno: int, cmd: int, plain: bytes, key: bytes, iv: bytes) -> bytes:
    header = struct.pack(">IHIII", 0x6699, 0, seqno, cmd, len(plain) + 12 + 16)
    sealed = AESGCM(key).encrypt(iv, plain, header[4:])
    return header + iv + sealed + b"\x00\x00\x99\x66"


# -- constants ---------------------------------------------------------------------------------

COMMANDS = {
    "AP_CONFIG": 0x01,
    "SESS_KEY_NEG_START": 0x03,
    "SESS_KEY_NEG_RESP": 0x04,
    "SESS_KEY_NEG_FINISH": 0x05,
    "CONTROL": 0x07,
    "STATUS": 0x08,
    "HEART_BEAT": 0x09,
    "DP_QUERY": 0x0A,
    "CONTROL_NEW": 0x0D,
    "DP_QUERY_NEW": 0x10,
    "UPDATEDPS": 0x12,
    "UDP_NEW": 0x13,
    "BOARDCAST_LPV34": 0x23,
    "REQ_DEVINFO": 0x25,
    "LAN_EXT_STREAM": 0x40,
}
FRAME_CONSTANTS = {
    "PREFIX_55AA_VALUE": 0x000055AA,
    "PREFIX_6699_VALUE": 0x00006699,
    "PREFIX_55AA_BIN": b"\x00\x00\x55\xaa",
    "PREFIX_6699_BIN": b"\x00\x00\x66\x99",
    "SUFFIX_55AA_BIN": b"\x00\x00\xaa\x55",
    "SUFFIX_6699_BIN": b"\x00\x00\x99\x66",
    "MESSAGE_HEADER_FMT_55AA": ">4I",
    "MESSAGE_HEADER_FMT_6699": ">IHIII",
    "PROTOCOL_3x_HEADER": bytes(12),
    "MAX_PAYLOAD_LENGTH": 1440,
    "TCPPORT": 6668,
    "UDPPORT": 6666,
    "UDPPORTS": 6667,
    "UDPPORTAPP": 7000,
    "SCANTIME": 18,
    "DEVICEFILE": "devices.json",
    "SNAPSHOTFILE": "snapshot.json",
}
ERRORS = {
    "ERR_JSON": 900,
    "ERR_CONNECT": 901,
    "ERR_TIMEOUT": 902,
    "ERR_RANGE": 903,
    "ERR_PAYLOAD": 904,
    "ERR_OFFLINE": 905,
    "ERR_STATE": 906,
    "ERR_FUNCTION": 907,
    "ERR_DEVTYPE": 908,
    "ERR_PARAMS": 912,
    "ERR_KEY_OR_VER": 914,
}


@pytest.mark.parametrize(("name", "value"), {**COMMANDS, **FRAME_CONSTANTS, **ERRORS}.items())
def test_constant(name: str, value: object) -> None:
    pin(getattr(tinytuya, name, "<missing>"), value, f"tinytuya.{name}")


def test_our_doorway_re_exports_the_same_values() -> None:
    for name, value in {**COMMANDS, **ERRORS}.items():
        pin(getattr(tuya, name), value, f"_tinytuya.{name}")
    pin(tuya.PREFIX_55AA, 0x55AA, "PREFIX_55AA_VALUE")
    pin(tuya.HEADER_FMT_6699, ">IHIII", "MESSAGE_HEADER_FMT_6699")
    pin(tuya.PROTOCOL_3X_HEADER, bytes(12), "PROTOCOL_3x_HEADER")
    pin((tuya.SCANTIME, tuya.DEVICEFILE, tuya.SNAPSHOTFILE), (18, "devices.json", "snapshot.json"), "files")


def test_no_protocol_header_commands() -> None:
    pin(
        set(tinytuya.NO_PROTOCOL_HEADER_CMDS),
        {0x0A, 0x10, 0x12, 0x09, 0x03, 0x04, 0x05, 0x40},
        "NO_PROTOCOL_HEADER_CMDS (which commands carry no '3.x' version header)",
    )


def test_udp_key() -> None:
    pin(tinytuya.udpkey, hashlib.md5(b"yGAdlopoPVldABfn").digest(), "udpkey")


def test_parse_header_caps_lengths_at_max_payload_length() -> None:
    pin(MAX_PAYLOAD_LENGTH, tinytuya.MAX_PAYLOAD_LENGTH, "message_helper.MAX_PAYLOAD_LENGTH")
    header = parse_header(struct.pack(">4I", 0x55AA, 1, 7, 1440))
    pin(tuple(header), (0x55AA, 1, 7, 1440, 1456), "parse_header on a 55AA header")
    header = parse_header(struct.pack(">IHIII", 0x6699, 0, 2, 8, 100))
    pin(tuple(header), (0x6699, 2, 8, 100, 122), "parse_header on a 6699 header (total adds the suffix)")
    with pytest.raises(tinytuya.DecodeError):
        parse_header(struct.pack(">4I", 0x55AA, 1, 7, 1441))


# -- message tuples ----------------------------------------------------------------------------


def test_message_tuples() -> None:
    pin(tinytuya.MessagePayload._fields, ("cmd", "payload"), "MessagePayload fields")
    pin(
        tinytuya.TuyaMessage._fields,
        ("seqno", "cmd", "retcode", "payload", "crc", "crc_good", "prefix", "iv"),
        "TuyaMessage fields",
    )
    pin(
        tinytuya.TuyaMessage._field_defaults,
        {"crc_good": True, "prefix": 0x55AA, "iv": None},
        "TuyaMessage defaults",
    )
    pin(
        tinytuya.TuyaHeader._fields, ("prefix", "seqno", "cmd", "length", "total_length"), "TuyaHeader fields"
    )
    pin(tuya.FrameHeaderTuple._fields, tinytuya.TuyaHeader._fields, "TuyaHeader vs our FrameHeaderTuple")
    pin(tuya.UnpackedFrame._fields, tinytuya.TuyaMessage._fields, "TuyaMessage vs our UnpackedFrame")
    assert issubclass(tinytuya.DecodeError, Exception)


# -- pack_message / unpack_message ---------------------------------------------------------------


def test_signatures() -> None:
    pin(str(inspect.signature(tinytuya.pack_message)), "(msg, hmac_key=None)", "pack_message's signature")
    pin(
        str(inspect.signature(tinytuya.unpack_message)),
        "(data, hmac_key=None, header=None, no_retcode=False)",
        "unpack_message's signature",
    )
    pin(
        list(inspect.signature(tinytuya.AESCipher.encrypt).parameters),
        ["self", "raw", "use_base64", "pad", "iv", "header"],
        "AESCipher.encrypt's parameters",
    )
    pin(
        list(inspect.signature(tinytuya.AESCipher.decrypt).parameters),
        ["self", "enc", "use_base64", "decode_text", "verify_padding", "iv", "header", "tag"],
        "AESCipher.decrypt's parameters",
    )
    pin(str(inspect.signature(tinytuya.error_json)), "(number=None, payload=None)", "error_json's signature")


def test_pack_55aa_crc() -> None:
    message = tinytuya.TuyaMessage(1, 0x0A, None, b'{"a":1}', 0, True, 0x55AA, None)
    pin(tinytuya.pack_message(message), frame_55aa(1, 0x0A, b'{"a":1}'), "pack_message 55AA/CRC32 framing")
    # A retcode in the tuple is never written on 55AA: device frames prepend it to the payload.
    with_retcode = tinytuya.TuyaMessage(1, 0x0A, 5, b'{"a":1}', 0, True, 0x55AA, None)
    pin(
        tinytuya.pack_message(with_retcode),
        frame_55aa(1, 0x0A, b'{"a":1}'),
        "pack_message ignoring 55AA retcode",
    )
    pin(
        tuya.pack_message(1, 0x0A, b'{"a":1}', prefix=0x55AA, key=None),
        frame_55aa(1, 0x0A, b'{"a":1}'),
        "wrapper",
    )


def test_pack_55aa_hmac() -> None:
    message = tinytuya.TuyaMessage(7, 0x0D, None, b"\x01" * 32, 0, True, 0x55AA, None)
    pin(
        tinytuya.pack_message(message, hmac_key=KEY),
        frame_55aa(7, 0x0D, b"\x01" * 32, KEY),
        "pack_message 55AA/HMAC-SHA256 framing",
    )


@pytest.mark.parametrize("retcode", [None, 0, 3])
def test_pack_6699_gcm(retcode: int | None) -> None:
    message = tinytuya.TuyaMessage(9, 0x10, retcode, b"{}", 0, True, 0x6699, IV)
    plain = b"{}" if retcode is None else struct.pack(">I", retcode) + b"{}"
    pin(
        tinytuya.pack_message(message, hmac_key=KEY),
        frame_6699(9, 0x10, plain, KEY, IV),
        "pack_message 6699/GCM",
    )
    wrapped = tuya.pack_message(9, 0x10, b"{}", prefix=0x6699, key=KEY, retcode=retcode, iv=IV)
    pin(wrapped, frame_6699(9, 0x10, plain, KEY, IV), "our pack_message wrapper on 6699")


def test_unpack_55aa() -> None:
    device_frame = frame_55aa(3, 0x08, struct.pack(">I", 1) + b"data unvalid")
    got = tinytuya.unpack_message(device_frame)
    pin(
        (got.seqno, got.cmd, got.retcode, got.payload, got.crc_good),
        (3, 8, 1, b"data unvalid", True),
        "unpack",
    )
    client_frame = frame_55aa(3, 0x08, b"{}")
    got = tinytuya.unpack_message(client_frame, no_retcode=True)
    pin((got.retcode, got.payload), (0, b"{}"), "unpack_message(no_retcode=True)")
    keyed = frame_55aa(4, 0x10, bytes(4) + b"x" * 16, KEY)
    got = tinytuya.unpack_message(keyed, hmac_key=KEY)
    pin((got.payload, got.crc_good, got.crc), (b"x" * 16, True, keyed[-36:-4]), "unpack_message with HMAC")
    # A wrong checksum is reported, not raised: callers must check crc_good.
    got = tinytuya.unpack_message(keyed, hmac_key=b"another key 16b!")
    pin(got.crc_good, False, "unpack_message crc_good on a bad HMAC")
    bad_crc = bytearray(client_frame)
    bad_crc[-5] ^= 1
    pin(tinytuya.unpack_message(bytes(bad_crc), no_retcode=True).crc_good, False, "crc_good on a bad CRC")
    with pytest.raises(tinytuya.DecodeError):
        tinytuya.unpack_message(client_frame[:-2], no_retcode=True)
    with pytest.raises(tinytuya.DecodeError):  # a length too small for retcode + CRC + suffix
        tinytuya.unpack_message(struct.pack(">4I", 0x55AA, 1, 1, 4) + b"\x00\x00\xaa\x55")


def test_unpack_6699() -> None:
    data = frame_6699(5, 0x08, struct.pack(">I", 0) + b'{"dps":{}}', KEY, IV)
    got = tinytuya.unpack_message(data, hmac_key=KEY)
    pin(
        (got.seqno, got.cmd, got.retcode, got.payload, got.crc_good, got.iv),
        (5, 8, 0, b'{"dps":{}}', True, IV),
        "6699",
    )
    got = tinytuya.unpack_message(frame_6699(5, 0x08, b"{}", KEY, IV), hmac_key=KEY, no_retcode=True)
    pin((got.retcode, got.payload), (0, b"{}"), "unpack_message 6699 with no_retcode=True")
    # A failed tag leaves crc_good False and the payload undecrypted (here: retcode + ciphertext).
    got = tinytuya.unpack_message(data, hmac_key=b"another key 16b!", no_retcode=True)
    pin(got.crc_good, False, "crc_good on a bad GCM tag")
    header = tuya.FrameHeaderTuple(0x6699, 5, 8, len(data) - 22, len(data))
    ours = tuya.unpack_message(data, header, key=KEY, no_retcode=False)
    pin(
        ours, tuya.UnpackedFrame(5, 8, 0, b'{"dps":{}}', data[-20:-4], True, 0x6699, IV), "our unpack wrapper"
    )


# -- AESCipher -------------------------------------------------------------------------------------


def test_aes_ecb() -> None:
    cipher = tinytuya.AESCipher(KEY)
    plain = b'{"dps":{"1":true}}'
    pin(cipher.encrypt(plain, False), ecb(KEY, pkcs7(plain)), "AES-ECB with PKCS#7 padding")
    pin(cipher.encrypt(plain), base64.b64encode(ecb(KEY, pkcs7(plain))), "AES-ECB, base64 by default")
    pin(cipher.encrypt(bytes(16), False, pad=False), ecb(KEY, bytes(16)), "AES-ECB with pad=False")
    pin(cipher.decrypt(ecb(KEY, pkcs7(plain)), False, decode_text=False), plain, "ECB decrypt to bytes")
    pin(
        cipher.decrypt(base64.b64encode(ecb(KEY, pkcs7(plain)))), plain.decode(), "ECB decrypt base64 to text"
    )
    with pytest.raises(ValueError):  # not a multiple of the block size
        cipher.decrypt(b"x" * 17, False, decode_text=False)


def test_aes_ecb_verify_padding() -> None:
    cipher = tinytuya.AESCipher(KEY)
    bad_padding = ecb(KEY, b"0123456789abc\x03\x02\x03")
    with pytest.raises(ValueError):
        cipher.decrypt(bad_padding, False, decode_text=False, verify_padding=True)
    pin(
        cipher.decrypt(bad_padding, False, decode_text=False),
        b"0123456789abc",
        "lenient unpad without verify",
    )
    with pytest.raises(ValueError):  # a pad byte above 16 is refused either way
        cipher.decrypt(ecb(KEY, b"x" * 15 + b"\x20"), False, decode_text=False)


def test_aes_gcm() -> None:
    cipher = tinytuya.AESCipher(KEY)
    sealed = cipher.encrypt(b"secret", use_base64=False, pad=False, iv=IV, header=b"aad")
    pin(sealed, IV + AESGCM(KEY).encrypt(IV, b"secret", b"aad"), "GCM output iv + ciphertext + tag")
    body, tag = sealed[12:-16], sealed[-16:]
    opened = cipher.decrypt(body, use_base64=False, decode_text=False, iv=IV, header=b"aad", tag=tag)
    pin(opened, b"secret", "GCM decrypt")
    with pytest.raises((InvalidTag, ValueError)):  # cryptography's or pycryptodome's tag failure
        cipher.decrypt(body, use_base64=False, decode_text=False, iv=IV, header=b"other", tag=tag)
    # 3.5 session keys are the 16 ciphertext bytes of a GCM encryption of the mixed nonces.
    pin(len(cipher.encrypt(bytes(16), use_base64=False, pad=False, iv=IV)), 12 + 16 + 16, "GCM length")
    pin(type(tuya.aes_cipher(KEY)), tinytuya.AESCipher, "our aes_cipher wrapper")


def test_aes_backend_has_gcm() -> None:
    assert tinytuya.AESCipher.CRYPTOLIB_HAS_GCM, BROKEN.format(what="its crypto backend (no GCM: 3.5 fails)")


# -- error dicts, templates, merge, udp --------------------------------------------------------------


def test_error_json() -> None:
    pin(
        tinytuya.error_json(904, b"raw"),
        {"Error": "Unexpected Payload from Device", "Err": "904", "Payload": b"raw"},
        "error_json(904)",
    )
    pin(tinytuya.error_json(914)["Error"], "Check device key or version", "error_json(914) text")
    pin(
        tinytuya.error_json(12345),
        {"Error": "Unknown Error", "Err": "12345", "Payload": None},
        "unknown code",
    )
    pin(tinytuya.error_json(), {"Error": "Unknown Error", "Err": "None", "Payload": None}, "error_json()")
    pin(tuya.error_json(tuya.ERR_TIMEOUT)["Err"], "902", "our error_json wrapper")
    for code in ERRORS.values():
        assert tinytuya.error_json(code)["Error"] != "Unknown Error", BROKEN.format(what=f"error text {code}")


def test_payload_dict_layers() -> None:
    layers = tinytuya.payload_dict
    expected = {"default", "device22", "v3.4", "v3.5", "gateway", "gateway_v3.4", "gateway_v3.5"}
    expected |= {"zigbee", "zigbee_v3.4", "zigbee_v3.5"}
    missing = expected - set(layers)
    assert not missing, BROKEN.format(what=f"payload_dict layers (missing {sorted(missing)})")
    for name, layer in layers.items():
        for cmd, entry in layer.items():
            assert set(entry) <= {"command", "command_override"}, BROKEN.format(
                what=f"payload_dict[{name}][{cmd}]"
            )
    default = layers["default"]
    pin(default[0x0A]["command"], {"gwId": "", "devId": "", "uid": "", "t": ""}, "default DP_QUERY template")
    pin(default[0x07]["command"], {"devId": "", "uid": "", "t": ""}, "default CONTROL template")
    pin(default[0x09]["command"], {"gwId": "", "devId": ""}, "HEART_BEAT template")
    pin(default[0x12]["command"], {"dpId": [18, 19, 20]}, "UPDATEDPS template")
    pin(default[0x40]["command"], {"reqType": "", "data": {}}, "LAN_EXT_STREAM template")
    pin(layers["device22"][0x0A]["command_override"], 0x0D, "device22 DP_QUERY override")
    for version in ("v3.4", "v3.5"):
        pin(layers[version][0x0A], {"command_override": 0x10, "command": {}}, f"{version} DP_QUERY")
        pin(
            layers[version][0x07],
            {"command_override": 0x0D, "command": {"protocol": 5, "t": "int", "data": {}}},
            f"{version} CONTROL",
        )
    pin(layers["zigbee"][0x07]["command"], {"t": "int", "cid": ""}, "zigbee CONTROL template")
    assert tuya.PAYLOAD_DICT is layers


MERGES: list[tuple[dict[str, Any], object, dict[str, Any]]] = [
    ({"dps": {"1": 1}}, {"dps": {"2": 2}}, {"dps": {"1": 1, "2": 2}}),
    ({"dps": {"1": 1}}, {"t": 5}, {"dps": {"1": 1}, "t": 5}),
    ({}, {"data": {"dps": {"1": 1}}}, {"data": {"dps": {"1": 1}}}),
    ({"data": {"dps": {"1": 1}}}, {"data": {"dps": {"2": 2}}}, {"data": {"dps": {"1": 1, "2": 2}}}),
    ({"dps": {"1": 1}}, {"Err": "904", "dps": {"1": 0}}, {"dps": {"1": 1}}),
    ({"dps": {"1": 1}}, {"Error": "x"}, {"dps": {"1": 1}}),
    ({"dps": {"1": 1}}, None, {"dps": {"1": 1}}),
    ({"dps": {"1": 1}}, [1], {"dps": {"1": 1}}),
    # An empty "dps" is not merged but assigned: it replaces what was there.
    ({"dps": {"1": 1}}, {"dps": {}}, {"dps": {}}),
]


@pytest.mark.parametrize(("dest", "src", "expected"), MERGES)
def test_merge_dps_results(dest: dict[str, Any], src: object, expected: dict[str, Any]) -> None:
    tinytuya.merge_dps_results(dest, src)
    pin(dest, expected, f"merge_dps_results semantics for {src!r}")


BROADCAST = {"ip": "192.168.1.20", "gwId": "eb0123456789abcdefgh", "active": 2, "version": "3.3"}


def test_decrypt_udp_formats() -> None:
    text = json.dumps(BROADCAST)
    udpkey = hashlib.md5(b"yGAdlopoPVldABfn").digest()
    plain_55aa = frame_55aa(0, 0x13, struct.pack(">I", 0) + text.encode())
    pin(tinytuya.decrypt_udp(plain_55aa), text, "decrypt_udp on a 3.1 plaintext 55AA broadcast")
    ecb_55aa = frame_55aa(0, 0x13, struct.pack(">I", 0) + ecb(udpkey, pkcs7(text.encode())))
    pin(tinytuya.decrypt_udp(ecb_55aa), text, "decrypt_udp on a 3.3 AES-ECB 55AA broadcast")
    gcm = frame_6699(0, 0x13, struct.pack(">I", 0) + text.encode() + b"\x00\x00", udpkey, IV)
    pin(tinytuya.decrypt_udp(gcm), text, "decrypt_udp on a 3.5 GCM broadcast (retcode, NUL padding)")
    gcm_no_retcode = frame_6699(0, 0x25, text.encode(), udpkey, IV)
    pin(tinytuya.decrypt_udp(gcm_no_retcode), text, "decrypt_udp on a 6699 app request (no retcode)")
    pin(tinytuya.decrypt_udp(ecb(udpkey, pkcs7(text.encode()))), text, "decrypt_udp on raw ECB bytes")
    pin(tuya.decrypt_udp(ecb_55aa), text, "our decrypt_udp wrapper")
    pin(tuya.UDP_KEY, udpkey, "our UDP_KEY")


def test_tinytuya_version_is_in_the_tested_range() -> None:
    major, minor = (int(part) for part in tuya.TINYTUYA_VERSION.split(".")[:2])
    # pyproject pins tinytuya>=1.20,<1.21 (1.20 has the eight cover types): move the bound
    # only after this contract passes.
    assert (1, 20) <= (major, minor) < (1, 21), (
        f"tinytuya {tuya.TINYTUYA_VERSION} is outside the tested range"
    )


# -- bulbs and covers: tables and colour converters ------------------------------------------

BULB_TYPES = {
    "A": {
        "switch": 1, "mode": 2, "brightness": 3, "colourtemp": 4, "colour": 5, "scene": 6, "scene_data": None,
        "timer": 7, "music": 8, "value_min": 25, "value_max": 255, "value_hexformat": "rgb8",
    },
    "B": {
        "switch": 20, "mode": 21, "brightness": 22, "colourtemp": 23, "colour": 24, "scene": 25,
        "scene_data": 25, "timer": 26, "music": 28, "value_min": 10, "value_max": 1000,
        "value_hexformat": "hsv16",
    },
    "C": {
        "switch": 1, "mode": None, "brightness": 2, "colourtemp": 3, "colour": None, "scene": None,
        "scene_data": None, "timer": None, "music": None, "value_min": 25, "value_max": 255,
        "value_hexformat": "rgb8",
    },
    "None": {
        "switch": 1, "mode": None, "brightness": None, "colourtemp": None, "colour": None, "scene": None,
        "scene_data": None, "timer": None, "music": None, "value_min": 0, "value_max": 255,
        "value_hexformat": "rgb8",
    },
}  # fmt: skip

COVERS = {
    1: ("open", "close", "stop", "continue", ["open", "close", "stop", "continue"]),
    2: (True, False, None, None, [True, False]),
    3: ("1", "2", "0", None, ["0", "1", "2"]),
    4: ("01", "02", "00", "03", ["00", "01", "02", "03"]),
    5: ("fopen", "fclose", None, None, ["fopen", "fclose"]),
    6: ("on", "off", "stop", None, ["on", "off", "stop"]),
    7: ("up", "down", "stop", None, ["up", "down", "stop"]),
    8: ("ZZ", "FZ", "STOP", None, ["ZZ", "FZ", "STOP"]),
}


def test_bulb_tables() -> None:
    pin(tuya.BULB_DPSETS, BULB_TYPES, "BulbDevice.DEFAULT_DPSET")
    pin(tuya.BULB_DPSETS, tinytuya.BulbDevice.DEFAULT_DPSET, "our BULB_DPSETS")
    modes = (tuya.BULB_MODE_WHITE, tuya.BULB_MODE_COLOUR, tuya.BULB_MODE_SCENE, tuya.BULB_MODE_MUSIC)
    pin(modes, ("white", "colour", "scene", "music"), "BulbDevice.DPS_MODE_*")
    pin(tuya.bulb_attribute("DPS_MODE_SCENE_4"), "scene_4", "BulbDevice.DPS_MODE_SCENE_4")
    pin(
        (tuya.bulb_attribute("MUSIC_TRANSITION_JUMP"), tuya.bulb_attribute("MUSIC_TRANSITION_FADE")),
        (0, 1),
        "BulbDevice.MUSIC_TRANSITION_*",
    )


def test_cover_tables() -> None:
    table = {
        kind: (c["open"], c["close"], c["stop"], c["continue"], c["detect_values"])
        for kind, c in tuya.COVER_TYPES.items()
    }
    pin(table, COVERS, "CoverDevice.COVER_TYPES")
    pin((tuya.COVER_DEFAULT_TYPE, tuya.COVER_MOVE_DP), (1, "1"), "CoverDevice defaults")
    pin(tuya.cover_attribute("DPS_INDEX_BL"), "101", "CoverDevice.DPS_INDEX_BL")
    pin(tuya.cover_attribute("DPS_2_STATE"), {"1": "movement", "101": "backlight"}, "CoverDevice.DPS_2_STATE")


def test_colour_converters() -> None:
    # Expected strings from the formats' definitions: rgb8 is rrggbb + hhhh ss vv (h 0-360,
    # s and v 0-255); hsv16 is hhhh ssss vvvv (h 0-360, s and v 0-1000).
    pin(tuya.rgb_to_hexvalue(255, 0, 0, "rgb8"), "ff0000" + "0000" + "ff" + "ff", "rgb_to_hexvalue rgb8")
    pin(tuya.rgb_to_hexvalue(0, 255, 255, "hsv16"), "00b4" + "03e8" + "03e8", "rgb_to_hexvalue hsv16")
    pin(tuya.hsv_to_hexvalue(0.5, 1.0, 0.5, "hsv16"), "00b4" + "03e8" + "01f4", "hsv_to_hexvalue hsv16")
    pin(tuya.hexvalue_to_rgb("00b403e803e8", "hsv16"), (0, 255, 255), "hexvalue_to_rgb hsv16")
    pin(tuya.hexvalue_to_rgb("12ab34"), (0x12, 0xAB, 0x34), "hexvalue_to_rgb rgb8, format detected")
    pin(tuya.hexvalue_to_hsv("ff00000000ffff", "rgb8"), (0.0, 1.0, 1.0), "hexvalue_to_hsv rgb8")
    pin(tuya.hexvalue_to_hsv("00b403e801f4"), (0.5, 1.0, 0.5), "hexvalue_to_hsv hsv16, format detected")
    with pytest.raises(ValueError):
        tuya.rgb_to_hexvalue(256, 0, 0, "rgb8")
    for name in ("rgb_to_hexvalue", "hsv_to_hexvalue"):
        params = list(inspect.signature(getattr(tinytuya.BulbDevice, name)).parameters)
        pin(params[3], "hexformat", f"BulbDevice.{name}'s parameters")
    # Known in 1.20: the rgb8 branch of hsv_to_hexvalue raises TypeError (fractional r, g, b
    # to a formatter of whole numbers), which is why bulb_values encodes HSV for rgb8 itself.
    with pytest.raises(TypeError):
        tuya.hsv_to_hexvalue(0.5, 1.0, 1.0, "rgb8")
