"""Session-key negotiation for protocols 3.4 and 3.5, for both roles.

Theory of operation
-------------------
Right after every TCP connect, before any other command, the two ends prove they share
the device's local key and agree on a fresh key for this connection only::

    client                                              device
      | -- SESS_KEY_NEG_START:  client_nonce (16) --------> |
      | <- SESS_KEY_NEG_RESP:   device_nonce (16)           |
      |                         + HMAC(local_key, client_nonce) (32)
      | -- SESS_KEY_NEG_FINISH: HMAC(local_key, device_nonce) -> |

These three frames are encrypted under the local key (3.4: AES-ECB in an HMAC frame;
3.5: AES-GCM). Each side checks the other's HMAC, then both derive the session key from
``client_nonce XOR device_nonce``: 3.4 encrypts it with AES-ECB under the local key, 3.5
takes the ciphertext of AES-GCM under the local key with ``client_nonce[:12]`` as IV. From
then on the session key replaces the local key for encryption and integrity.

Rules: each role moves only along :data:`TRANSITIONS`; anything else is a protocol error
(``LocalProtocolError`` when we misuse the machine, converted to ``RemoteProtocolError`` by
the session when the peer caused it). A proof that does not verify is
:class:`InvalidKeyError`, which callers report as "check device key or version". Nonces are
arguments: this module has no randomness, so the caller must pass fresh random bytes.

See docs/PROTOCOL.md#the-session-key-handshake-34-and-35.
"""

from __future__ import annotations

import hmac
from enum import Enum
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import HandshakeError, InvalidKeyError, LocalProtocolError
from tinytuya_asyncio.protocol.codec import Role
from tinytuya_asyncio.protocol.crypto import KeyedCipher
from tinytuya_asyncio.protocol.versions import Integrity, VersionSpec

NONCE_LEN: Final = 16
_HMAC_LEN: Final = 32


class HandshakeState(Enum):
    IDLE = "idle"
    AWAIT_RESPONSE = "await-response"  # client sent START
    RESPONSE_VERIFIED = "response-verified"  # client checked the device's proof
    START_RECEIVED = "start-received"  # device got the client's nonce
    AWAIT_FINISH = "await-finish"  # device answered with its nonce and proof
    ESTABLISHED = "established"
    FAILED = "failed"


class HandshakeEvent(Enum):
    SEND_START = "send-start"
    RECEIVE_START = "receive-start"
    SEND_RESPONSE = "send-response"
    RECEIVE_RESPONSE = "receive-response"
    SEND_FINISH = "send-finish"
    RECEIVE_FINISH = "receive-finish"


_S, _E = HandshakeState, HandshakeEvent

#: role -> state -> event -> next state. Failure is reachable from any state.
TRANSITIONS: Final[dict[Role, dict[HandshakeState, dict[HandshakeEvent, HandshakeState]]]] = {
    Role.CLIENT: {
        _S.IDLE: {_E.SEND_START: _S.AWAIT_RESPONSE},
        _S.AWAIT_RESPONSE: {_E.RECEIVE_RESPONSE: _S.RESPONSE_VERIFIED},
        _S.RESPONSE_VERIFIED: {_E.SEND_FINISH: _S.ESTABLISHED},
    },
    Role.DEVICE: {
        _S.IDLE: {_E.RECEIVE_START: _S.START_RECEIVED},
        _S.START_RECEIVED: {_E.SEND_RESPONSE: _S.AWAIT_FINISH},
        _S.AWAIT_FINISH: {_E.RECEIVE_FINISH: _S.ESTABLISHED},
    },
}

#: Which command carries each step on the wire.
STEP_COMMANDS: Final = {
    _E.SEND_START: tuya.SESS_KEY_NEG_START,
    _E.RECEIVE_START: tuya.SESS_KEY_NEG_START,
    _E.SEND_RESPONSE: tuya.SESS_KEY_NEG_RESP,
    _E.RECEIVE_RESPONSE: tuya.SESS_KEY_NEG_RESP,
    _E.SEND_FINISH: tuya.SESS_KEY_NEG_FINISH,
    _E.RECEIVE_FINISH: tuya.SESS_KEY_NEG_FINISH,
}
HANDSHAKE_COMMANDS: Final = frozenset(STEP_COMMANDS.values())


def derive_session_key(
    spec: VersionSpec,
    local_key: bytes,
    client_nonce: bytes,
    device_nonce: bytes,
    *,
    cipher: KeyedCipher | None = None,
) -> bytes:
    """The session key both ends derive from the two nonces (see the module notes)."""
    mixed = bytes(a ^ b for a, b in zip(client_nonce, device_nonce, strict=True))
    cipher = cipher or KeyedCipher(local_key)
    if spec.integrity is Integrity.AES_GCM:
        # The key is the 16 ciphertext bytes (the tag that follows is dropped).
        return cipher.gcm_encrypt(client_nonce[:12], mixed, None)[:16]
    return cipher.ecb_encrypt(mixed, pad=False)


class Handshake:
    """One negotiation, in one role. Payloads in and out; framing is the codec's job."""

    __slots__ = (
        "_cipher",
        "_client_nonce",
        "_device_nonce",
        "_local_key",
        "role",
        "session_key",
        "spec",
        "state",
    )

    def __init__(
        self, role: Role, spec: VersionSpec, local_key: bytes, *, cipher: KeyedCipher | None = None
    ) -> None:
        if not spec.needs_session_key:
            raise LocalProtocolError(f"protocol {spec.text} has no session-key negotiation")
        self.role = role
        self.spec = spec
        self.state = HandshakeState.IDLE
        #: The negotiated session key, once derived (``None`` until then).
        self.session_key: bytes | None = None
        self._local_key = local_key
        # The local key's cipher (the caller's, when it keeps one): ECB or GCM and HMAC.
        self._cipher = cipher or KeyedCipher(local_key)
        self._client_nonce = b""
        self._device_nonce = b""

    def _advance(self, event: HandshakeEvent) -> None:
        next_state = TRANSITIONS[self.role].get(self.state, {}).get(event)
        if next_state is None:
            raise LocalProtocolError(
                f"{self.role.value} handshake cannot {event.value} in state {self.state.value}"
            )
        self.state = next_state

    def _fail(self, exc: HandshakeError) -> HandshakeError:
        self.state = HandshakeState.FAILED
        return exc

    # client ----------------------------------------------------------------------------

    def start(self, client_nonce: bytes) -> bytes:
        """Client: the START payload carrying ``client_nonce`` (16 fresh random bytes)."""
        _check_nonce(client_nonce)
        self._advance(HandshakeEvent.SEND_START)
        self._client_nonce = client_nonce
        return client_nonce

    def receive_response(self, payload: bytes) -> None:
        """Client: check the device's RESP (its nonce and its proof of the local key)."""
        self._advance(HandshakeEvent.RECEIVE_RESPONSE)
        if len(payload) < NONCE_LEN + _HMAC_LEN:
            raise self._fail(HandshakeError(f"session key response too short ({len(payload)} bytes)"))
        device_nonce, proof = payload[:NONCE_LEN], payload[NONCE_LEN : NONCE_LEN + _HMAC_LEN]
        if not hmac.compare_digest(proof, self._cipher.hmac_sha256(self._client_nonce)):
            raise self._fail(InvalidKeyError("device failed to prove the local key: check key and version"))
        self._device_nonce = device_nonce

    def finish(self) -> bytes:
        """Client: the FINISH payload; derives :attr:`session_key`."""
        self._advance(HandshakeEvent.SEND_FINISH)
        self.session_key = derive_session_key(
            self.spec, self._local_key, self._client_nonce, self._device_nonce, cipher=self._cipher
        )
        return self._cipher.hmac_sha256(self._device_nonce)

    # device ----------------------------------------------------------------------------

    def receive_start(self, payload: bytes) -> bytes:
        """Device: take the client's nonce from START and return it."""
        self._advance(HandshakeEvent.RECEIVE_START)
        if len(payload) < NONCE_LEN:
            raise self._fail(HandshakeError(f"session key start too short ({len(payload)} bytes)"))
        self._client_nonce = payload[:NONCE_LEN]
        return self._client_nonce

    def respond(self, device_nonce: bytes) -> bytes:
        """Device: the RESP payload, ``device_nonce`` (16 fresh random bytes) + proof."""
        _check_nonce(device_nonce)
        self._advance(HandshakeEvent.SEND_RESPONSE)
        self._device_nonce = device_nonce
        return device_nonce + self._cipher.hmac_sha256(self._client_nonce)

    def receive_finish(self, payload: bytes) -> None:
        """Device: check the client's proof; derives :attr:`session_key`."""
        self._advance(HandshakeEvent.RECEIVE_FINISH)
        if len(payload) < _HMAC_LEN:
            raise self._fail(HandshakeError(f"session key finish too short ({len(payload)} bytes)"))
        if not hmac.compare_digest(payload[:_HMAC_LEN], self._cipher.hmac_sha256(self._device_nonce)):
            raise self._fail(InvalidKeyError("client failed to prove the local key"))
        self.session_key = derive_session_key(
            self.spec, self._local_key, self._client_nonce, self._device_nonce, cipher=self._cipher
        )


def _check_nonce(nonce: bytes) -> None:
    if len(nonce) != NONCE_LEN:
        raise LocalProtocolError(f"a handshake nonce is {NONCE_LEN} random bytes")
