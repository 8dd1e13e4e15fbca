"""One client connection of a simulated device: an :class:`asyncio.Protocol` driving the
sans-I/O :class:`~tinytuya_asyncio.protocol.Session` in the device role.

Bytes from the socket go into the session; its events become firmware use cases
(:func:`.firmware.handle`); their answers are encoded by the same session and written back,
through the device's faults. Every peer byte is hostile: a frame the session refuses
closes the connection (and is counted), it never escapes as an exception.

Sequence numbers: up to 3.4 a reply echoes its request's seqno and a push carries 0;
3.5 numbers every frame it sends (handshake answers, replies, pushes) from one counter
per device, kept across reconnects (docs/PROTOCOL.md#sequence-numbers: a global device counter).

Outgoing frames pass through a small outbox so that ``reply_delay`` holds them in order on
one ``loop.call_at`` timer per connection instead of a task; idle detection is another
timer that re-arms itself from the time of the last frame received.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, cast

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import RemoteProtocolError
from tinytuya_asyncio.protocol import (
    BytesDiscarded,
    Codec,
    Event,
    HandshakeCompleted,
    HandshakeRequested,
    MessageReceived,
    Role,
    Session,
)
from tinytuya_asyncio.simulator import firmware
from tinytuya_asyncio.simulator.faults import Faults, corrupt_check, garbage_bytes

if TYPE_CHECKING:
    from tinytuya_asyncio.simulator.state import DeviceState
    from tinytuya_asyncio.simulator.stats import DeviceStats

_LOG = logging.getLogger(__name__)
_GCM_IV_LEN: Final = 12
_NONCE_LEN: Final = 16
_HMAC_LEN: Final = 32
#: Seconds a graceful close may take before the connection is reset.
_CLOSE_GRACE: Final = 5.0
#: Timers may fire a hair early (the loop's clock resolution); this much early counts as due.
_TIMER_SLACK: Final = 0.001


class ConnectionHost(Protocol):
    """What a connection needs from the device that accepted it."""

    @property
    def state(self) -> DeviceState: ...
    @property
    def faults(self) -> Faults: ...
    @property
    def stats(self) -> DeviceStats: ...
    @property
    def push_on_control(self) -> bool: ...

    def now(self) -> int:
        """The device clock, in whole seconds (the ``t`` of replies)."""
        ...

    def accept(self, conn: DeviceConnection) -> bool:
        """Apply the connection policy; False refuses ``conn``."""
        ...

    def ready(self, conn: DeviceConnection) -> None:
        """``conn`` can take application frames (session key negotiated)."""
        ...

    def lost(self, conn: DeviceConnection) -> None:
        """``conn`` is closing or closed."""
        ...

    def broadcast(self, out: firmware.Outgoing) -> int:
        """Send a push to every ready connection; returns how many were reached."""
        ...

    def request_received(self, cmd: int) -> None:
        """An application request ``cmd`` was decoded (and counted in the stats)."""
        ...


class _Queued(NamedTuple):
    due: float
    data: bytes
    cut: bool


class DeviceConnection(asyncio.Protocol):
    """Serves one TCP client of one simulated device."""

    def __init__(self, host: ConnectionHost) -> None:
        self._host = host
        state = host.state
        self._session = Session(Role.DEVICE, state.spec, state.local_key)
        self._gcm = state.spec.number >= 3.5
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._outbox: deque[_Queued] = deque()
        self._flush_handle: asyncio.TimerHandle | None = None
        self._idle_handle: asyncio.TimerHandle | None = None
        self._grace_handle: asyncio.TimerHandle | None = None
        self._last_frame = self._loop.time()
        self._frames = 0
        self._close_when_flushed = False
        self._paused = False
        self._log_name = "client"
        self.closing = False
        #: Resolved when the transport is gone (``connection_lost`` ran).
        self.closed: asyncio.Future[None] = self._loop.create_future()

    def __repr__(self) -> str:
        return f"<DeviceConnection {self._session!r} frames={self._frames} closing={self.closing}>"

    @property
    def ready(self) -> bool:
        """True when application frames can be sent."""
        return not self.closing and self._transport is not None and self._session.established

    def push(self, out: firmware.Outgoing) -> bool:
        """Send a STATUS push unless the client stopped reading; False when not sent."""
        return not self._paused and self.send(out)

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any loop's stream transport will do (uvloop's are not asyncio.Transport subclasses).
        self._transport = cast("asyncio.Transport", transport)
        peer = transport.get_extra_info("peername")
        self._log_name = f"{self._host.state.spec.text} from {peer[0]}:{peer[1]}" if peer else "client"
        if not self._host.accept(self):
            self.closing = True
            self._transport.abort()
            return
        self._arm_idle()
        if self._session.established:
            self._host.ready(self)

    def _accepting(self) -> bool:
        """False once closing, or once ``drop_after_frames`` stopped the reading."""
        return not (self.closing or self._close_when_flushed)

    def data_received(self, data: bytes) -> None:
        if not self._accepting():
            return
        self._session.receive_data(data)
        try:
            for event in self._session.events():
                self._on_event(event)
                if not self._accepting():
                    return
        except RemoteProtocolError as exc:
            # Firmware drops a client whose frames it cannot read; so do we.
            self._host.stats.protocol_errors += 1
            _LOG.debug("%s: closing after a bad frame: %s", self._log_name, exc)
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def pause_writing(self) -> None:
        # The client is not reading: stop reading its requests (and drop pushes, as
        # firmware with its small buffers does) so that our write buffer stays bounded.
        self._paused = True
        if self._transport is not None and not self.closing:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused = False
        if self._transport is not None and not self.closing:
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self._cancel_timers()
        self._outbox.clear()
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        self._host.lost(self)

    # -- closing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close gracefully (pending writes flush first, within a deadline); idempotent."""
        if self._shutdown() and self._transport is not None:
            self._transport.close()
            # A client that never reads would keep a graceful close pending forever.
            self._grace_handle = self._loop.call_later(_CLOSE_GRACE, self.abort)

    def abort(self) -> None:
        """Close at once, dropping anything unsent (even a graceful close in progress)."""
        self._shutdown()
        if self._transport is not None:
            self._transport.abort()

    def _shutdown(self) -> bool:
        if self.closing:
            return False
        self.closing = True
        self._cancel_timers()
        self._outbox.clear()
        self._host.lost(self)
        return True

    def _cancel_timers(self) -> None:
        for handle in (self._flush_handle, self._idle_handle, self._grace_handle):
            if handle is not None:
                handle.cancel()
        self._flush_handle = self._idle_handle = self._grace_handle = None

    # -- events ----------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, BytesDiscarded):
            self._host.stats.bytes_discarded += event.count
            return
        self._host.stats.frames_received += 1
        self._last_frame = self._loop.time()
        if isinstance(event, MessageReceived):
            self._on_message(event)
        elif isinstance(event, HandshakeRequested):
            self._answer_handshake(event)
        elif isinstance(event, HandshakeCompleted):
            self._host.stats.handshakes += 1
            self._host.ready(self)
        self._frames += 1
        limit = self._host.faults.drop_after_frames
        if limit is not None and self._frames >= limit:
            self._host.stats.drops += 1
            self._close_after_flush()
        elif self._idle_handle is None:
            self._arm_idle()

    def _on_message(self, event: MessageReceived) -> None:
        message = event.message
        host = self._host
        if host.faults.drop_requests > 0:
            host.faults.drop_requests -= 1
            host.stats.drops += 1
            self.abort()
            return
        host.stats.requests[message.cmd] += 1
        host.stats.received.append((message.cmd, message.payload))
        host.stats.received_at.append(self._loop.time())
        host.request_received(message.cmd)
        for out in firmware.handle(host.state, message, host.now(), push_on_control=host.push_on_control):
            if out.push:
                host.broadcast(out)
            else:
                self.send(out, reply_to=message.seqno)

    def _answer_handshake(self, event: HandshakeRequested) -> None:
        state = self._host.state
        seqno = state.next_seqno() if self._gcm else event.seqno
        iv = os.urandom(_GCM_IV_LEN) if self._gcm else None
        if self._host.faults.reject_handshake:
            # A proof of the wrong key: encode the answer outside the session's state machine.
            self._host.stats.handshakes_rejected += 1
            forged = os.urandom(_NONCE_LEN + _HMAC_LEN)
            codec = Codec(state.spec, state.local_key, Role.DEVICE)
            frame = codec.encode(tuya.SESS_KEY_NEG_RESP, forged, seqno, retcode=0, iv=iv)
        else:
            nonce = state.fixed_nonce if state.fixed_nonce is not None else os.urandom(_NONCE_LEN)
            frame = self._session.answer_handshake(nonce, seqno=seqno, iv=iv)
        self._emit(frame)

    # -- sending ---------------------------------------------------------------------------

    def send(self, out: firmware.Outgoing, *, reply_to: int | None = None) -> bool:
        """Encode and write one application frame; False when it was not sent.

        Up to 3.4 a reply echoes the request's seqno and a push carries 0; 3.5 numbers
        every frame from the device-wide counter.
        """
        if not self.ready:
            return False
        seqno = self._host.state.next_seqno() if self._gcm else reply_to or 0
        iv = os.urandom(_GCM_IV_LEN) if self._gcm else None
        frame = self._session.send(out.cmd, out.payload, seqno=seqno, retcode=out.retcode, iv=iv)
        return self._emit(frame)

    def _emit(self, frame: bytes) -> bool:
        faults = self._host.faults
        if faults.silent:
            self._host.stats.frames_suppressed += 1
            return False
        if faults.corrupt_integrity:
            frame = corrupt_check(frame)
        if faults.garbage:
            frame = garbage_bytes(faults.garbage_size) + frame
        delay = faults.reply_delay
        if delay <= 0 and not self._outbox:
            self._write(frame, cut=faults.close_mid_frame)
            return True
        due = self._loop.time() + max(delay, 0.0)
        if self._outbox:
            due = max(due, self._outbox[-1].due)  # never overtake an earlier frame
        self._outbox.append(_Queued(due, frame, faults.close_mid_frame))
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_at(due, self._flush)
        return True

    def _flush(self) -> None:
        self._flush_handle = None
        if self._outbox:
            # The timer was set for the head; later frames go when they are due.
            item = self._outbox.popleft()
            self._write(item.data, cut=item.cut)
        now = self._loop.time()
        while self._outbox and not self.closing and self._outbox[0].due <= now + _TIMER_SLACK:
            item = self._outbox.popleft()
            self._write(item.data, cut=item.cut)
        if self._outbox and not self.closing:
            self._flush_handle = self._loop.call_at(self._outbox[0].due, self._flush)
        elif self._close_when_flushed:
            self.close()

    def _write(self, data: bytes, *, cut: bool) -> None:
        if self.closing or self._transport is None:
            return
        self._host.stats.frames_sent += 1
        if cut:
            self._transport.write(data[: len(data) // 2])
            self.close()
        else:
            self._transport.write(data)

    def _close_after_flush(self) -> None:
        if self._outbox and not self.closing:
            self._close_when_flushed = True
        else:
            self.close()

    # -- idle ------------------------------------------------------------------------------

    def _arm_idle(self) -> None:
        timeout = self._host.faults.idle_timeout
        if timeout is None or self.closing:
            return
        self._idle_handle = self._loop.call_at(self._last_frame + timeout, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_handle = None
        timeout = self._host.faults.idle_timeout
        if timeout is None or self.closing:
            return
        if self._loop.time() + _TIMER_SLACK >= self._last_frame + timeout:
            self._host.stats.idle_closes += 1
            self.close()
        else:
            self._arm_idle()
