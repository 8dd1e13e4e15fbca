"""Per-version encoding of commands into frames, and decoding of frames into messages.

Both roles use the same codec: a client encodes requests and decodes replies; a device
(the simulator) does the reverse. The only differences are that device frames carry a
return code and that a device checks the 3.1 MD5 signature of what it is sent.

Bytes that reach :meth:`Codec.decode` are checked before they are trusted: a CRC32, HMAC
or GCM tag that does not verify raises :class:`IntegrityError` (the stream or session is
broken). A body that verifies but does not decrypt (a wrong local key on 3.1 to 3.3,
where the checksum is not keyed) comes back as a message marked ``undecryptable``, so the
caller can answer the request it belongs to instead of tearing the connection down.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum
from hashlib import md5
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import FrameError, IntegrityError, LocalProtocolError
from tinytuya_asyncio.protocol.frames import Frame
from tinytuya_asyncio.protocol.versions import Integrity, VersionSpec, version_spec

_RETCODE: Final = struct.Struct(">I")
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


@dataclass(frozen=True, slots=True)
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

    __slots__ = ("_cipher", "_device_key", "_key", "role", "spec")

    def __init__(self, version: float | str | VersionSpec, local_key: bytes, role: Role) -> None:
        self.spec = version_spec(version)
        self.role = role
        if self.spec.number > 3.1 and len(local_key) != 16:
            raise LocalProtocolError(f"protocol {self.spec.text} needs a 16-byte local key")
        self._device_key = local_key
        self._key = local_key
        self._cipher = tuya.aes_cipher(local_key)

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
        self._cipher = tuya.aes_cipher(session_key)

    def use_device_key(self) -> None:
        """Go back to the device's local key (a new connection starts a new negotiation)."""
        self._key = self._device_key
        self._cipher = tuya.aes_cipher(self._device_key)

    # -- encoding ---------------------------------------------------------------------------

    def encode(
        self, cmd: int, payload: bytes, seqno: int, *, retcode: int | None = None, iv: bytes | None = None
    ) -> bytes:
        """Encode one frame; ``iv`` (12 random bytes) is required on 3.5.

        A device passes its ``retcode`` (0 for success); a client passes none.
        """
        if (retcode is None) != (self.role is Role.CLIENT):
            raise LocalProtocolError("device frames carry a retcode, client frames do not")
        self.check_iv(iv)
        spec = self.spec
        body = self._encrypt_body(cmd, payload) if payload else b""
        if spec.integrity is Integrity.AES_GCM:
            return tuya.pack_message(
                seqno, cmd, body, prefix=tuya.PREFIX_6699, key=self._key, retcode=retcode, iv=iv
            )
        if retcode is not None:
            body = _RETCODE.pack(retcode) + body
        hmac_key = self._key if spec.integrity is Integrity.HMAC_SHA256 else None
        return tuya.pack_message(seqno, cmd, body, prefix=tuya.PREFIX_55AA, key=hmac_key)

    def check_iv(self, iv: bytes | None) -> None:
        """Raise :class:`LocalProtocolError` unless ``iv`` suits this version (12 bytes on 3.5)."""
        if self.spec.integrity is Integrity.AES_GCM and (iv is None or len(iv) != GCM_IV_LEN):
            raise LocalProtocolError("3.5 frames need a 12-byte random IV")

    def _encrypt_body(self, cmd: int, payload: bytes) -> bytes:
        spec = self.spec
        with_header = cmd not in tuya.NO_PROTOCOL_HEADER_CMDS
        if spec.number >= 3.4:
            # The version header travels inside the ciphertext (3.5 encrypts in pack_message).
            plain = spec.header + payload if with_header else payload
            return plain if spec.integrity is Integrity.AES_GCM else self._cipher.encrypt(plain, False)
        if spec.number >= 3.2:
            encrypted = self._cipher.encrypt(payload, False)
            return spec.header + encrypted if with_header else encrypted
        if cmd in _V31_ENCRYPTED_CMDS[self.role]:
            if len(self._key) != 16:
                raise LocalProtocolError("3.1 needs the 16-byte local key to encrypt this command")
            encoded = self._cipher.encrypt(payload)  # base64 text
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
        spec = self.spec
        if frame.prefix != spec.prefix:
            raise FrameError(f"received a {frame.prefix:04X} frame on a {spec.text} connection")
        keyed = spec.integrity is not Integrity.CRC32
        from_device = self.role is Role.CLIENT
        try:
            unpacked = tuya.unpack_message(
                frame.data, frame.header(), key=self._key if keyed else None, no_retcode=not from_device
            )
        except (tuya.DecodeError, ValueError, struct.error) as exc:
            raise FrameError(f"malformed frame: {exc}") from exc
        if not unpacked.crc_good:
            raise IntegrityError(f"{spec.integrity.value} check failed on cmd {frame.cmd:#04x}")
        retcode = unpacked.retcode if from_device else None
        payload = unpacked.payload
        if not payload:
            return Message(frame.cmd, frame.seqno, retcode, b"")
        plain = self._decrypt_body(payload, strip_header=frame.cmd not in _SESSION_KEY_CMDS)
        if plain is None:
            return Message(frame.cmd, frame.seqno, retcode, payload, undecryptable=True)
        return Message(frame.cmd, frame.seqno, retcode, plain)

    def _decrypt_body(self, payload: bytes, *, strip_header: bool) -> bytes | None:
        spec = self.spec
        if spec.number >= 3.5:
            return self._strip_header(payload) if strip_header else payload
        if spec.number >= 3.4:
            plain = self._ecb_decrypt(payload)
            return self._strip_header(plain) if plain is not None and strip_header else plain
        if spec.number >= 3.2:
            # A clear 15-byte header ("3.3" + 12 NUL, or a same-size source header) is the only
            # way the length is not a multiple of the AES block. Testing the first bytes for
            # b"3.3" instead would also chop ciphertext that merely starts with them.
            if len(payload) % 16 == len(spec.header):
                payload = payload[len(spec.header) :]
            return self._ecb_decrypt(payload)
        if payload.startswith(spec.version_bytes):
            signature = payload[3 : 3 + _V31_SIGNATURE_LEN]
            encoded = payload[3 + _V31_SIGNATURE_LEN :]
            if self.role is Role.DEVICE and signature != self._v31_signature(encoded):
                raise IntegrityError("3.1 MD5 signature check failed")
            return self._ecb_decrypt(encoded, base64=True)
        return payload

    def _strip_header(self, plain: bytes) -> bytes:
        if plain.startswith(self.spec.version_bytes):
            return plain[len(self.spec.header) :]
        return plain

    def _ecb_decrypt(self, data: bytes, *, base64: bool = False) -> bytes | None:
        try:
            plain = self._cipher.decrypt(data, base64, decode_text=False, verify_padding=True)
        except (ValueError, TypeError):  # bad length, base64 or padding: wrong key or version
            # (TypeError: tinytuya's unpad reads the last byte of an empty plaintext.)
            return None
        assert isinstance(plain, bytes)
        return plain
