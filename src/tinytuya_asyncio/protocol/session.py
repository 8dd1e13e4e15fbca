"""The sans-I/O protocol endpoint: bytes in, events out; requests in, bytes out.

A :class:`Session` is one end of one TCP connection, in either role. It owns the frame
reader, the codec, the sequence counter and (3.4/3.5) the handshake, and it knows nothing
about sockets, clocks or randomness: the asyncio connection and the simulator feed it the
bytes they read, act on the events it yields, write the bytes it returns, and pass in the
nonces and IVs it needs.

Receiving works like h11: :meth:`Session.receive_data` buffers, :meth:`Session.next_event`
decodes one frame at a time, so the events before a bad frame are delivered before its
:class:`RemoteProtocolError` is raised.

See docs/PROTOCOL.md#sequence-numbers, docs/PROTOCOL.md#the-session-key-handshake-34-and-35.
"""

from __future__ import annotations

from collections.abc import Iterator

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import (
    IntegrityError,
    InvalidKeyError,
    LocalProtocolError,
    RemoteProtocolError,
)
from tinytuya_asyncio.protocol.codec import Codec, Message, Role
from tinytuya_asyncio.protocol.crypto import KeyedCipher
from tinytuya_asyncio.protocol.events import (
    BytesDiscarded,
    Event,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    MessageReceived,
)
from tinytuya_asyncio.protocol.frames import DEFAULT_MAX_PAYLOAD, Frame, FrameReader
from tinytuya_asyncio.protocol.handshake import HANDSHAKE_COMMANDS, Handshake, HandshakeState
from tinytuya_asyncio.protocol.versions import VersionSpec, version_spec


class Session:
    """One end of one connection; see the module docstring."""

    __slots__ = (
        "_codec",
        "_device",
        "_discarded_seen",
        "_established",
        "_handshake",
        "_pending",
        "_reader",
        "_taken",
        "next_seqno",
        "role",
        "spec",
    )

    def __init__(
        self,
        role: Role,
        version: float | str | VersionSpec,
        local_key: bytes,
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        device_cipher: KeyedCipher | None = None,
    ) -> None:
        """``device_cipher`` reuses a caller's :class:`KeyedCipher` for ``local_key`` (one per
        device rather than one per connection)."""
        self.spec = version_spec(version)
        self.role = role
        self._codec = Codec(self.spec, local_key, role, device_cipher=device_cipher)
        self._reader = FrameReader(max_payload)
        # Frames delimited but not yet decoded, and how many of them next_event() has taken.
        # A list and an index rather than a deque: an empty deque costs 760 bytes (a block of
        # 64 slots) on every connection, an empty list 56, and a read rarely holds many frames.
        self._pending: list[Frame] = []
        self._taken = 0
        self._discarded_seen = 0
        self._handshake = (
            Handshake(role, self.spec, local_key, cipher=self._codec.device_cipher)
            if self.spec.needs_session_key
            else None
        )
        #: The sequence number the next frame sent without an explicit one will carry.
        self.next_seqno = 1
        # Set where the handshake completes (finish_handshake, or FINISH received) and never
        # unset: per-frame checks read a field instead of asking the handshake.
        self._established = self._handshake is None
        self._device = role is Role.DEVICE

    def __repr__(self) -> str:
        return f"<Session {self.spec.text} {self.role.value} {self.handshake_state.value}>"

    @property
    def device_cipher(self) -> KeyedCipher | None:
        """The cipher for the local key, to pass to the next session with this device."""
        return self._codec.device_cipher

    @property
    def established(self) -> bool:
        """True when application commands may flow (always, before 3.4)."""
        return self._established

    @property
    def handshake_state(self) -> HandshakeState:
        return HandshakeState.ESTABLISHED if self._handshake is None else self._handshake.state

    # -- sending -----------------------------------------------------------------------

    def send(
        self,
        cmd: int,
        payload: bytes,
        *,
        seqno: int | None = None,
        retcode: int | None = None,
        iv: bytes | None = None,
    ) -> bytes:
        """Encode one application command; ``iv`` is required on 3.5."""
        if cmd in HANDSHAKE_COMMANDS:
            raise LocalProtocolError("use the handshake methods for session-key commands")
        if not self._established:
            raise LocalProtocolError("negotiate the session key before sending commands")
        return self._encode(cmd, payload, seqno, retcode, iv)

    def _encode(
        self, cmd: int, payload: bytes, seqno: int | None, retcode: int | None, iv: bytes | None
    ) -> bytes:
        if retcode is None and self._device:
            retcode = 0
        frame = self._codec.encode(
            cmd, payload, self.next_seqno if seqno is None else seqno, retcode=retcode, iv=iv
        )
        if seqno is None:  # only a frame actually produced uses up a sequence number
            self.next_seqno += 1
        return frame

    def start_handshake(self, client_nonce: bytes, *, iv: bytes | None = None) -> bytes:
        """Client: the START frame carrying ``client_nonce`` (16 fresh random bytes)."""
        handshake = self._require_handshake(Role.CLIENT)
        self._codec.check_iv(iv)  # before the handshake moves: a refused call must change nothing
        return self._encode(tuya.SESS_KEY_NEG_START, handshake.start(client_nonce), None, None, iv)

    def finish_handshake(self, *, iv: bytes | None = None) -> bytes:
        """Client: after :class:`HandshakeResponded`, the FINISH frame; switches to the session key."""
        handshake = self._require_handshake(Role.CLIENT)
        self._codec.check_iv(iv)
        frame = self._encode(tuya.SESS_KEY_NEG_FINISH, handshake.finish(), None, None, iv)
        assert handshake.session_key is not None
        self._codec.use_session_key(handshake.session_key)
        self._established = True
        return frame

    def answer_handshake(self, device_nonce: bytes, *, seqno: int, iv: bytes | None = None) -> bytes:
        """Device: after :class:`HandshakeRequested`, the RESP frame carrying ``device_nonce``."""
        handshake = self._require_handshake(Role.DEVICE)
        self._codec.check_iv(iv)
        return self._encode(tuya.SESS_KEY_NEG_RESP, handshake.respond(device_nonce), seqno, 0, iv)

    def _require_handshake(self, role: Role) -> Handshake:
        if self._handshake is None:
            raise LocalProtocolError(f"protocol {self.spec.text} has no session-key negotiation")
        if role is not self.role:
            raise LocalProtocolError(f"only a {role.value} does that")
        return self._handshake

    # -- receiving ---------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Buffer bytes from the peer; read the results with :meth:`next_event`."""
        frames = self._reader.feed(data)
        if frames:
            if self._taken:
                del self._pending[: self._taken]
                self._taken = 0
            self._pending += frames

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame."""
        return self._reader.buffered

    def next_event(self) -> Event | None:
        """The next event, or ``None`` when more data is needed.

        Raises :class:`RemoteProtocolError` (or a subclass) for a frame the peer should not
        have sent; :class:`InvalidKeyError` when the handshake shows the key is wrong.
        """
        discarded = self._reader.discarded - self._discarded_seen
        if discarded:
            self._discarded_seen = self._reader.discarded
            return BytesDiscarded(discarded)
        pending = self._pending
        taken = self._taken
        if taken >= len(pending):
            if taken:
                pending.clear()
                self._taken = 0
            return None
        self._taken = taken + 1
        return self._process(pending[taken])

    def events(self) -> Iterator[Event]:
        """Iterate :meth:`next_event` until more data is needed."""
        while (event := self.next_event()) is not None:
            yield event

    def _process(self, frame: Frame) -> Event:
        negotiating = not self._established
        try:
            message = self._codec.decode(frame)
        except IntegrityError as exc:
            if negotiating:
                raise InvalidKeyError("frame failed its integrity check during the handshake") from exc
            raise
        if message.cmd in HANDSHAKE_COMMANDS:
            return self._process_handshake(message)
        if negotiating:
            raise RemoteProtocolError(f"cmd {message.cmd:#04x} arrived before the session key was negotiated")
        return MessageReceived(message)

    def _process_handshake(self, message: Message) -> Event:
        handshake = self._handshake
        if handshake is None:
            raise RemoteProtocolError(f"session-key command {message.cmd} on a {self.spec.text} connection")
        if message.undecryptable:
            raise InvalidKeyError("handshake frame did not decrypt: check key and version")
        expected = {
            (Role.CLIENT, HandshakeState.AWAIT_RESPONSE): tuya.SESS_KEY_NEG_RESP,
            (Role.DEVICE, HandshakeState.IDLE): tuya.SESS_KEY_NEG_START,
            (Role.DEVICE, HandshakeState.AWAIT_FINISH): tuya.SESS_KEY_NEG_FINISH,
        }.get((self.role, handshake.state))
        if message.cmd != expected:
            raise RemoteProtocolError(
                f"unexpected session-key command {message.cmd} in handshake state {handshake.state.value}"
            )
        if message.cmd == tuya.SESS_KEY_NEG_RESP:
            handshake.receive_response(message.payload)
            return HandshakeResponded()
        if message.cmd == tuya.SESS_KEY_NEG_START:
            return HandshakeRequested(handshake.receive_start(message.payload), message.seqno)
        handshake.receive_finish(message.payload)
        assert handshake.session_key is not None
        self._codec.use_session_key(handshake.session_key)
        self._established = True
        return HandshakeCompleted()
