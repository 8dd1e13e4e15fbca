"""Per-version encoding of commands into frames, and decoding of frames into messages.

Both roles use the same codec: a client encodes requests and decodes replies; a device
(the simulator) does the reverse. The only differences are that device frames carry a
return code and that a device checks the 3.1 MD5 signature of what it is sent.

Bytes that reach :meth:`Codec.decode` are checked before they are trusted: a CRC32, HMAC
or GCM tag that does not verify raises :class:`IntegrityError` (the stream or session is
broken). A body that verifies but does not decrypt (a wrong local key on 3.1 to 3.3,
where the checksum is not keyed) comes back as a message marked ``undecryptable``, so the
caller can answer the request it belongs to instead of tearing the connection down.

See docs/PROTOCOL.md#frames, docs/PROTOCOL.md#payloads-by-version.
"""

from __future__ import annotations

import binascii
import hmac
import struct
from dataclasses import dataclass
from enum import Enum
from hashlib import md5
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import FrameError, IntegrityError, LocalProtocolError
from tinytuya_asyncio.protocol.crypto import GCM_TAG_LEN, KeyedCipher
from tinytuya_asyncio.protocol.frames import Frame
from tinytuya_asyncio.protocol.versions import Integrity, VersionSpec, version_spec

# Frame layouts (facts of the wire format; tinytuya names the same struct formats).
_RETCODE: Final = struct.Struct(">I")
_HEADER_55AA: Final = struct.Struct(tuya.HEADER_FMT_55AA)  # prefix, seqno, cmd, length
_HEADER_6699: Final = struct.Struct(tuya.HEADER_FMT_6699)  # prefix, reserved, seqno, cmd, length
_CRC_TAIL: Final = struct.Struct(">II")  # CRC32, suffix
_HMAC_LEN: Final = 32
_SUFFIX_LEN: Final = 4
_SUFFIX_55AA: Final = struct.unpack(">I", tuya.SUFFIX_55AA_BIN)[0]
_V31_SIGNATURE_LEN: Final = 16
GCM_IV_LEN: Final = 12
#: Session-key payloads are raw nonces and HMACs: never a version header, even when the
#: random bytes happen to start with ``b"3.4"``.
_SESSION_KEY_CMDS: Final = frozenset(
    {
        tuya.SESS_KEY_NEG_START,
        tuya.SESS_KEY_NEG_RESP,
        tuya.SESS_KEY_NEG_FINISH,
    }
)


class Role(Enum):
    """Which end of the connection a codec or session speaks for."""

    CLIENT = "client"
    DEVICE = "device"


#: 3.1 encrypts only these commands (base64 + an MD5 signature); the rest travel in clear.
#: A client encrypts CONTROL only (as tinytuya does); a device also encrypts its STATUS pushes.
_V31_ENCRYPTED_CMDS: Final = {
    Role.CLIENT: frozenset({tuya.CONTROL}),
    Role.DEVICE: frozenset({tuya.CONTROL, tuya.STATUS}),
}


# Read-only by convention, not frozen: one is built per frame, and a frozen dataclass
# costs three times as much to construct (0.6 against 0.2 us).
@dataclass(slots=True)
class Message:
    """A decoded frame: command, sequence number, return code and plaintext body."""

    cmd: int
    seqno: int
    #: The device's return code; ``None`` on frames sent by a client (they carry none).
    retcode: int | None
    #: The decrypted body with any version header removed; ``b""`` for a null ack.
    payload: bytes
    #: True when integrity checks passed but the body would not decrypt; ``payload`` then
    #: holds the raw bytes as received.
    undecryptable: bool = False


class Codec:
    """Encode and decode frames for one version, one role and one (session) key."""

    __slots__ = (
        "_cipher",
        "_client",
        "_device_cipher",
        "_device_key",
        "_gcm",
        "_header",
        "_hmac",
        "_key",
        "_number",
        "_prefix",
        "role",
        "spec",
    )

    def __init__(
        self,
        version: float | str | VersionSpec,
        local_key: bytes,
        role: Role,
        *,
        device_cipher: KeyedCipher | None = None,
    ) -> None:
        """``device_cipher``: a :class:`KeyedCipher` for ``local_key`` kept by the caller, so
        that a new connection does not rebuild it."""
        self.spec = version_spec(version)
        self.role = role
        # Per-frame checks read these booleans rather than enum members (cheaper, every frame).
        self._client = role is Role.CLIENT
        self._gcm = self.spec.integrity is Integrity.AES_GCM
        self._hmac = self.spec.integrity is Integrity.HMAC_SHA256
        self._number = self.spec.number
        self._prefix = self.spec.prefix
        self._header = self.spec.header
        if self.spec.number > 3.1 and len(local_key) != 16:
            raise LocalProtocolError(f"protocol {self.spec.text} needs a 16-byte local key")
        self._device_key = local_key
        self._key = local_key
        # 3.1 may run without a key (status travels in clear): its cipher is made on first use.
        if device_cipher is None and len(local_key) == 16:
            device_cipher = KeyedCipher(local_key)
        self._device_cipher = device_cipher
        self._cipher = self._device_cipher

    def __repr__(self) -> str:
        return f"<Codec {self.spec.text} {self.role.value}>"

    @property
    def has_session_key(self) -> bool:
        """True once :meth:`use_session_key` replaced the device key."""
        return self._key is not self._device_key

    def use_session_key(self, session_key: bytes) -> None:
        """Switch encryption and integrity to a negotiated session key (3.4/3.5)."""
        if len(session_key) != 16:
            raise LocalProtocolError("a session key is 16 bytes")
        self._key = session_key
        self._cipher = KeyedCipher(session_key)

    @property
    def device_cipher(self) -> KeyedCipher | None:
        """The cipher for the device's local key (``None`` for a 3.1 codec without one)."""
        return self._device_cipher

    def _keyed(self) -> KeyedCipher:
        if self._cipher is None:
            raise LocalProtocolError(f"protocol {self.spec.text} needs the 16-byte local key here")
        return self._cipher

    # -- encoding ---------------------------------------------------------------------------

    def encode(
        self, cmd: int, payload: bytes, seqno: int, *, retcode: int | None = None, iv: bytes | None = None
    ) -> bytes:
        """Encode one frame; ``iv`` (12 random bytes) is required on 3.5.

        A device passes its ``retcode`` (0 for success); a client passes none.
        """
        if (retcode is None) != self._client:
            raise LocalProtocolError("device frames carry a retcode, client frames do not")
        body = self._encrypt_body(cmd, payload) if payload else b""
        if self._gcm:
            if iv is None or len(iv) != GCM_IV_LEN:
                raise LocalProtocolError("3.5 frames need a 12-byte random IV")
            if retcode is not None:
                body = _RETCODE.pack(retcode) + body
            length = len(iv) + len(body) + GCM_TAG_LEN
            header = _HEADER_6699.pack(tuya.PREFIX_6699, 0, seqno, cmd, length)
            sealed = self._keyed().gcm_encrypt(iv, body, header[4:])
            return b"".join((header, iv, sealed, tuya.SUFFIX_6699_BIN))
        if retcode is not None:
            body = _RETCODE.pack(retcode) + body
        if self._hmac:
            head = _HEADER_55AA.pack(tuya.PREFIX_55AA, seqno, cmd, len(body) + _HMAC_LEN + _SUFFIX_LEN) + body
            return b"".join((head, self._keyed().hmac_sha256(head), tuya.SUFFIX_55AA_BIN))
        head = _HEADER_55AA.pack(tuya.PREFIX_55AA, seqno, cmd, len(body) + _CRC_TAIL.size) + body
        return head + _CRC_TAIL.pack(binascii.crc32(head), _SUFFIX_55AA)

    def check_iv(self, iv: bytes | None) -> None:
        """Raise :class:`LocalProtocolError` unless ``iv`` suits this version (12 bytes on 3.5)."""
        if self._gcm and (iv is None or len(iv) != GCM_IV_LEN):
            raise LocalProtocolError("3.5 frames need a 12-byte random IV")

    def _encrypt_body(self, cmd: int, payload: bytes) -> bytes:
        spec = self.spec
        with_header = cmd not in tuya.NO_PROTOCOL_HEADER_CMDS
        if spec.number >= 3.4:
            # The version header travels inside the ciphertext (3.5 encrypts in pack_message).
            plain = spec.header + payload if with_header else payload
            return plain if spec.integrity is Integrity.AES_GCM else self._keyed().ecb_encrypt(plain)
        if spec.number >= 3.2:
            encrypted = self._keyed().ecb_encrypt(payload)
            return spec.header + encrypted if with_header else encrypted
        if cmd in _V31_ENCRYPTED_CMDS[self.role]:
            encoded = binascii.b2a_base64(self._keyed().ecb_encrypt(payload), newline=False)
            return spec.version_bytes + self._v31_signature(encoded) + encoded
        return payload

    def _v31_signature(self, encoded: bytes) -> bytes:
        # The 3.1 wire format mandates MD5; it is a signature format, not our choice of hash.
        digest = md5(b"data=" + encoded + b"||lpv=" + self.spec.version_bytes + b"||" + self._key).hexdigest()  # noqa: S324
        return digest[8:24].encode("ascii")

    # -- decoding ---------------------------------------------------------------------------

    def decode(self, frame: Frame) -> Message:
        """Verify and decrypt one frame from the peer.

        Raises :class:`FrameError` for a frame of the wrong format for this version and
        :class:`IntegrityError` when its checksum, HMAC, tag or 3.1 signature fails.
        """
        if frame.prefix != self._prefix:
            raise FrameError(f"received a {frame.prefix:04X} frame on a {self.spec.text} connection")
        retcode, payload = self._open(frame)
        if not payload:
            return Message(frame.cmd, frame.seqno, retcode, b"")
        plain = self._decrypt_body(payload, strip_header=frame.cmd not in _SESSION_KEY_CMDS)
        if plain is None:
            return Message(frame.cmd, frame.seqno, retcode, payload, undecryptable=True)
        return Message(frame.cmd, frame.seqno, retcode, plain)

    def _open(self, frame: Frame) -> tuple[int | None, bytes]:
        """Check the frame's integrity; its return code (device frames) and body."""
        data = frame.data
        from_device = self._client
        if self._gcm:
            start = _HEADER_6699.size
            iv = data[start : start + 12]
            plain = self._keyed().gcm_decrypt(iv, data[start + 12 : -_SUFFIX_LEN], data[4:start])
            if plain is None:
                raise IntegrityError(f"aes-gcm check failed on cmd {frame.cmd:#04x}")
            if not from_device:
                return None, plain
            if len(plain) < _RETCODE.size:
                raise FrameError("device frame too short for its return code")
            return _RETCODE.unpack_from(plain)[0], plain[_RETCODE.size :]
        tail = _HMAC_LEN + _SUFFIX_LEN if self._hmac else _CRC_TAIL.size
        start = _HEADER_55AA.size
        end = len(data) - tail
        if end - start < (_RETCODE.size if from_device else 0):
            raise FrameError("frame too short for its checksum")
        if self._hmac:
            good = hmac.compare_digest(data[end : end + _HMAC_LEN], self._keyed().hmac_sha256(data[:end]))
        else:
            good = _CRC_TAIL.unpack_from(data, end)[0] == binascii.crc32(data[:end])
        if not good:
            raise IntegrityError(f"{self.spec.integrity.value} check failed on cmd {frame.cmd:#04x}")
        if not from_device:
            return None, data[start:end]
        return _RETCODE.unpack_from(data, start)[0], data[start + _RETCODE.size : end]

    def _decrypt_body(self, payload: bytes, *, strip_header: bool) -> bytes | None:
        number = self._number
        if number >= 3.5:
            return self._strip_header(payload) if strip_header else payload
        if number >= 3.4:
            plain = self._ecb_decrypt(payload)
            return self._strip_header(plain) if plain is not None and strip_header else plain
        if number >= 3.2:
            # A clear 15-byte header ("3.3" + 12 NUL, or a same-size source header) is the only
            # way the length is not a multiple of the AES block. Testing the first bytes for
            # b"3.3" instead would also chop ciphertext that merely starts with them.
            if len(payload) % 16 == len(self._header):
                payload = payload[len(self._header) :]
            return self._ecb_decrypt(payload)
        version_bytes = self.spec.version_bytes
        if payload.startswith(version_bytes):
            signature = payload[3 : 3 + _V31_SIGNATURE_LEN]
            encoded = payload[3 + _V31_SIGNATURE_LEN :]
            if not self._client and signature != self._v31_signature(encoded):
                raise IntegrityError("3.1 MD5 signature check failed")
            try:
                raw = binascii.a2b_base64(encoded)
            except binascii.Error:
                return None
            return self._ecb_decrypt(raw)
        return payload

    def _strip_header(self, plain: bytes) -> bytes:
        if plain.startswith(self.spec.version_bytes):
            return plain[len(self.spec.header) :]
        return plain

    def _ecb_decrypt(self, data: bytes) -> bytes | None:
        """Decrypt, or ``None`` (wrong key or version: bad length or padding)."""
        if self._cipher is None:
            return None
        return self._cipher.ecb_decrypt(data)
