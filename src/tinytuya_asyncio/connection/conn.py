"""One TCP connection to one device, as an :class:`asyncio.Protocol` driving a client Session.

The connection owns the socket and the order of things on it. It answers three questions
for every frame that arrives: is it the handshake, the reply the pending request waits for
(the rules are in :mod:`.pairing`), or a push? Frames arriving in the same read as the
answer are merged into it, so a status split over several frames comes back whole.

Every error that ends the connection goes through ``TuyaConnection._fatal()``: the first
one wins, the pending request fails with it, timers are cancelled, the transport is closed
and the owner hears about it exactly once. Whatever a peer sends ends there too: bytes that
cannot be decoded become a :class:`RemoteProtocolError`, never an exception escaping into
the event loop. Heartbeats and deadlines are loop timers, not tasks, so an idle connection
costs no task at all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Collection
from typing import Final, cast

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import connect_slots
from tinytuya_asyncio.connection.pairing import Answer, PendingRequest, Reply, ReplyRule
from tinytuya_asyncio.exceptions import (
    ConnectError,
    ConnectionClosedError,
    DeviceOfflineError,
    HandshakeTimeoutError,
    LocalProtocolError,
    RemoteProtocolError,
    TuyaError,
    TuyaTimeoutError,
)
from tinytuya_asyncio.metrics import Reporter
from tinytuya_asyncio.protocol.codec import Message, Role
from tinytuya_asyncio.protocol.events import BytesDiscarded, HandshakeResponded, MessageReceived
from tinytuya_asyncio.protocol.frames import command_of_frame
from tinytuya_asyncio.protocol.results import decode_result
from tinytuya_asyncio.protocol.session import Session
from tinytuya_asyncio.protocol.versions import VersionSpec

_LOGGER = logging.getLogger(__name__)
_NONCE_LEN: Final = 16
_GCM_IV_LEN: Final = 12


class _ReadBuffer(threading.local):
    """One receive buffer per thread, shared by every connection of that thread's loop.

    asyncio calls ``get_buffer``, ``recv_into`` and ``buffer_updated`` in one callback, and the
    session copies what it needs before returning, so connections never see each other's
    bytes. Reading into a kept buffer instead of ``recv(256 KiB)`` saves an allocation per
    read: 14.3 µs against 2.2 µs per read on the benchmark machine.
    """

    def __init__(self) -> None:
        self.view = memoryview(bytearray(READ_BUFFER_SIZE))


#: Bytes one read may take (more simply takes another read).
READ_BUFFER_SIZE: Final = 64 * 1024
_read_buffer = _ReadBuffer()


class TuyaConnection(asyncio.BufferedProtocol):
    """A connected client session; create it with :func:`open_connection`."""

    __slots__ = (
        "_closed_waiter",
        "_deadline_timer",
        "_debug",
        "_error",
        "_gcm",
        "_handshake_waiter",
        "_heard",
        "_heartbeat_deadline",
        "_heartbeat_interval",
        "_heartbeat_payload",
        "_heartbeat_timeout",
        "_heartbeat_timer",
        "_held_finish",
        "_last_tx",
        "_loop",
        "_name",
        "_on_lost",
        "_on_push",
        "_pending",
        "_pending_deadline",
        "_pending_future",
        "_pending_timeout",
        "_report",
        "_session",
        "_spec",
        "_transport",
        "on_closed",
        "peer",
    )

    def __init__(
        self,
        session: Session,
        *,
        name: str,
        on_push: Callable[[Answer], None],
        on_lost: Callable[[TuyaConnection, TuyaError, bool], None],
        report: Reporter,
    ) -> None:
        self._session = session
        self._spec: VersionSpec = session.spec
        self._gcm = self._spec.number >= 3.5  # every 3.5 frame carries a fresh random IV
        self._name = name
        self._on_push = on_push
        self._on_lost = on_lost
        self._report = report
        self._heartbeat_payload = b""
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._pending: PendingRequest | None = None
        self._pending_future: asyncio.Future[Reply] | None = None
        self._pending_deadline = 0.0
        self._pending_timeout = 0.0
        self._handshake_waiter: asyncio.Future[None] | None = None
        self._error: TuyaError | None = None
        #: Who hears that the socket is gone (set by the owner once the connection is its).
        self.on_closed: Callable[[TuyaConnection], None] | None = None
        #: The address connected to.
        self.peer: tuple[str, int] = ("", 0)
        self._closed_waiter: asyncio.Future[None] | None = None
        self._last_tx = self._loop.time()
        self._heartbeat_interval = 0.0
        self._heartbeat_timeout = 0.0
        self._heartbeat_timer: asyncio.TimerHandle | None = None
        self._heartbeat_deadline: asyncio.TimerHandle | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._held_finish: bytes | None = None
        self._heard = False  # bytes arrived since the current request was sent
        self._debug = _LOGGER.isEnabledFor(logging.DEBUG)

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<TuyaConnection {self._name} {self._spec.text} {state}>"

    @property
    def is_open(self) -> bool:
        return self._error is None and self._transport is not None

    # -- asyncio.BufferedProtocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any loop's stream transport will do (uvloop's are not asyncio.Transport subclasses).
        self._transport = cast("asyncio.Transport", transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        self._on_data(_read_buffer.view[:nbytes])

    def _on_data(self, data: memoryview) -> None:
        if self._error is not None:
            return  # closing: whatever still arrives has nobody to go to
        self._heard = True
        if self._heartbeat_deadline is not None:  # any frame proves the device is alive
            self._heartbeat_deadline.cancel()
            self._heartbeat_deadline = None
        session = self._session
        frames = 0
        try:
            session.receive_data(data)
            while (event := session.next_event()) is not None:
                if type(event) is MessageReceived:
                    frames += 1
                    self._on_message(event.message)
                elif type(event) is HandshakeResponded:
                    frames += 1
                    self._finish_handshake()
                elif type(event) is BytesDiscarded:
                    _LOGGER.debug("%s: discarded %d bytes looking for a frame", self._name, event.count)
                    self._report("bytes_discarded", count=event.count)
        except RemoteProtocolError as exc:
            self._report_read(data, frames)
            self._fatal(exc)
            return
        except Exception as exc:  # a defect of ours on hostile bytes: still one funnel, never the loop's
            _LOGGER.exception("%s: could not process what the device sent", self._name)
            self._report_read(data, frames)
            self._fatal(RemoteProtocolError(f"{self._name}: could not process a frame: {exc!r}"))
            return
        if self._report.enabled:  # the one check a read pays when nobody listens
            self._report("receive", bytes=len(data), frames=frames, data=data)
        pending = self._pending
        if pending is not None and pending.ready():
            self._resolve(pending.reply())

    def _report_read(self, data: memoryview, frames: int) -> None:
        if self._report.enabled:
            self._report("receive", bytes=len(data), frames=frames, data=data)

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fatal(ConnectionClosedError(f"{self._name}: connection closed by the device"))
        on_closed, self.on_closed = self.on_closed, None
        if on_closed is not None:
            on_closed(self)
        if self._closed_waiter is not None and not self._closed_waiter.done():
            self._closed_waiter.set_result(None)

    # -- handshake -------------------------------------------------------------------------

    async def negotiate(self, timeout: float) -> None:
        """Run the 3.4/3.5 session-key handshake; :class:`~tinytuya_asyncio.HandshakeError` on failure."""
        timed = self._report.enabled
        started = time.perf_counter() if timed else 0.0
        waiter = self._handshake_waiter = self._loop.create_future()
        frame = self._session.start_handshake(os.urandom(_NONCE_LEN), iv=self._iv())
        self._write(frame)
        if timed:
            self._report("send", cmd=tuya.SESS_KEY_NEG_START, bytes=len(frame), frame=frame)
        deadline = self._loop.call_at(self._loop.time() + timeout, self._handshake_expired, timeout)
        try:
            await waiter
        except ConnectionClosedError as exc:
            # Not proof of a wrong key: a device held by another client drops newcomers too.
            error = ConnectionClosedError(
                f"{self._name}: the device closed the connection during session key negotiation "
                "(another client may hold it, or the key or version is wrong)"
            )
            self._handshake_failed(error, started)
            raise error from exc
        except TuyaError as exc:
            self._handshake_failed(exc, started)
            raise
        finally:
            deadline.cancel()
            self._handshake_waiter = None
        if timed:
            self._report("handshake", duration=time.perf_counter() - started)

    def _handshake_failed(self, error: TuyaError, started: float) -> None:
        if self._report.enabled:
            duration = time.perf_counter() - started if started else 0.0
            self._report(
                "handshake_failed", error=type(error).__name__, code=error.err_code, duration=duration
            )

    def _flush_finish(self) -> None:
        if self._held_finish is not None and self._error is None:
            self._write(b"")

    def _handshake_expired(self, timeout: float) -> None:
        if self._handshake_waiter is not None and not self._handshake_waiter.done():
            self._report("timeout", cmd=tuya.SESS_KEY_NEG_START, timeout=timeout)
            self._fatal(
                HandshakeTimeoutError(
                    f"{self._name}: no answer to session key negotiation (check the version and key)"
                )
            )

    def _finish_handshake(self) -> None:
        # FINISH is held back until the task waiting for the handshake has run: the request
        # it makes goes out in the same write, which saves a system call (and a TCP segment)
        # per cold 3.4/3.5 request. The callback, queued after that task's wake-up, sends
        # FINISH alone when no request came.
        finish = self._held_finish = self._session.finish_handshake(iv=self._iv())
        if self._report.enabled:
            self._report("send", cmd=tuya.SESS_KEY_NEG_FINISH, bytes=len(finish), frame=finish)
        waiter = self._handshake_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self._loop.call_soon(self._flush_finish)

    # -- requests --------------------------------------------------------------------------

    def send(self, cmd: int, payload: bytes) -> None:
        """Write one command without waiting for anything."""
        if self._error is not None:
            raise self._error
        frame = self._session.send(cmd, payload, iv=self._iv())
        self._write(frame)
        if self._report.enabled:
            self._report("send", cmd=cmd, bytes=len(frame), frame=frame)
        if self._debug:
            _LOGGER.debug("%s: sent cmd %#04x (%d bytes)", self._name, cmd, len(payload))

    def send_frame(self, frame: bytes) -> None:
        """Write pre-encoded bytes as they are (tinytuya's ``send()`` of raw bytes)."""
        if self._error is not None:
            raise self._error
        self._write(frame)
        if self._report.enabled:
            self._report("send", cmd=_command_of(frame), bytes=len(frame), frame=frame)

    def start_request(
        self,
        cmd: int,
        payload: bytes,
        *,
        cid: str | None,
        rule: ReplyRule,
        timeout: float,
        dps: Collection[str] | None = None,
        stop_at_ack: bool = False,
        frame: bytes | None = None,
    ) -> asyncio.Future[Reply]:
        """Send a command; the future resolves with what answers it (see :mod:`.pairing`).

        It fails with :class:`TuyaTimeoutError` (and the connection is dropped) when nothing
        answered within ``timeout``; it resolves to a :class:`Reply` with only ``acked`` set
        when the device acknowledged but sent no data in time, which tinytuya reports as ``None``.
        ``dps`` names the data points a CONTROL sets; ``stop_at_ack`` resolves at the ack;
        ``frame`` (already encoded) is written instead of encoding ``payload``.
        (A future rather than a coroutine: one object less per request on the hot path.)
        """
        if self._pending is not None:
            raise RuntimeError("one request at a time per connection")  # the link serializes
        loop = self._loop
        if frame is None:
            self.send(cmd, payload)
        else:
            self.send_frame(frame)
        self._heard = False
        future: asyncio.Future[Reply] = loop.create_future()
        self._pending = PendingRequest(cmd, cid, rule, dps=dps, stop_at_ack=stop_at_ack)
        self._pending_future = future
        deadline = self._pending_deadline = loop.time() + timeout
        self._pending_timeout = timeout
        timer = self._deadline_timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._deadline_timer = loop.call_at(deadline, self._deadline_due)
        return future

    @property
    def heard_since_request(self) -> bool:
        """True when the device sent anything after the current (or last) request went out:
        it was reading, so the request may have been carried out."""
        return self._heard

    @property
    def busy(self) -> bool:
        """True while a request waits for its answer."""
        return self._pending is not None

    def _resolve(self, reply: Reply) -> None:
        future = self._pending_future
        self._pending = self._pending_future = None
        if future is not None and not future.done():  # a cancelled caller has gone
            future.set_result(reply)

    def _deadline_due(self) -> None:
        # One timer per connection, left armed between requests and re-aimed when it fires,
        # instead of a timer created and cancelled for every request.
        self._deadline_timer = None
        pending = self._pending
        if pending is None:
            return
        if self._loop.time() < self._pending_deadline:
            self._deadline_timer = self._loop.call_at(self._pending_deadline, self._deadline_due)
        elif pending.acked:  # the device took the command but reported nothing: tinytuya's None
            self._resolve(pending.reply())
        else:
            self._report("timeout", cmd=pending.cmd, timeout=self._pending_timeout)
            self._fatal(
                TuyaTimeoutError(
                    f"{self._name}: no reply to cmd {pending.cmd:#04x} within {self._pending_timeout:g} s"
                )
            )

    def _on_message(self, message: Message) -> None:
        pending = self._pending
        if message.cmd == tuya.HEART_BEAT and (pending is None or pending.cmd != tuya.HEART_BEAT):
            return  # the answer to an automatic heartbeat: it only proves liveness
        result = decode_result(message, self._spec) if message.payload else None
        if self._debug:
            _LOGGER.debug(
                "%s: received cmd %#04x retcode %s (%d bytes)",
                self._name,
                message.cmd,
                message.retcode,
                len(message.payload),
            )
        if pending is not None and pending.offer(message, result):
            return
        if result is not None:
            self._on_push(Answer(message, result))

    # -- heartbeat -------------------------------------------------------------------------

    def start_heartbeat(self, interval: float, timeout: float, payload: bytes) -> None:
        """Send HEART_BEAT (with ``payload`` as its body) after ``interval`` s without traffic
        from us; a device that stays silent for ``timeout`` s after one is considered gone."""
        self._heartbeat_interval = interval
        self._heartbeat_timeout = timeout
        self._heartbeat_payload = payload
        self._schedule_heartbeat()

    def _schedule_heartbeat(self) -> None:
        self._heartbeat_timer = self._loop.call_at(
            self._last_tx + self._heartbeat_interval, self._heartbeat_due
        )

    def _heartbeat_due(self) -> None:
        self._heartbeat_timer = None
        if self._error is not None:
            return
        # Requests reset the device's idle timer as well as heartbeats do: only beat when idle.
        if self._loop.time() >= self._last_tx + self._heartbeat_interval - 0.001:
            self.send(tuya.HEART_BEAT, self._heartbeat_payload)
            self._report("heartbeat")
            if self._heartbeat_deadline is None:
                self._heartbeat_deadline = self._loop.call_later(
                    self._heartbeat_timeout, self._heartbeat_missed
                )
        self._schedule_heartbeat()

    def _heartbeat_missed(self) -> None:
        self._heartbeat_deadline = None
        self._report("timeout", cmd=tuya.HEART_BEAT, timeout=self._heartbeat_timeout)
        self._fatal(TuyaTimeoutError(f"{self._name}: no answer to heartbeat"))

    # -- plumbing --------------------------------------------------------------------------

    def _iv(self) -> bytes | None:
        return os.urandom(_GCM_IV_LEN) if self._gcm else None

    def _write(self, frame: bytes) -> None:
        assert self._transport is not None
        if self._held_finish is not None:
            frame, self._held_finish = self._held_finish + frame, None
        self._transport.write(frame)
        self._last_tx = self._loop.time()

    def close(self) -> None:
        """Close the connection (idempotent); the owner is told with ``expected=True``."""
        self._fatal(ConnectionClosedError(f"{self._name}: connection closed locally"), expected=True)

    async def wait_closed(self, timeout: float = 1.0) -> None:
        """Wait until the socket is really gone (bounded)."""
        if self._transport is None:
            return  # gone, or never connected
        if self._closed_waiter is None:
            self._closed_waiter = self._loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(self._closed_waiter)
        except TimeoutError:
            if self._transport is not None:
                self._transport.abort()

    def _fatal(self, error: TuyaError, *, expected: bool = False) -> None:
        if self._error is not None:
            return
        self._error = error
        for timer in (self._heartbeat_timer, self._heartbeat_deadline, self._deadline_timer):
            if timer is not None:
                timer.cancel()
        self._heartbeat_timer = self._heartbeat_deadline = self._deadline_timer = None
        future, self._pending, self._pending_future = self._pending_future, None, None
        for waiter in (future, self._handshake_waiter):
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
        if self._transport is not None:
            self._transport.close()
        if not expected:
            _LOGGER.debug("%s: connection lost: %s", self._name, error)
        self._on_lost(self, error, expected)


def _command_of(frame: bytes) -> int | None:
    """The command of a raw frame, or ``None`` when it is not exactly one frame (raw bytes
    sent as they are can be anything)."""
    try:
        return command_of_frame(frame)
    except LocalProtocolError:
        return None


async def open_connection(
    host: str,
    port: int,
    session: Session,
    *,
    name: str,
    timeout: float,
    on_push: Callable[[Answer], None],
    on_lost: Callable[[TuyaConnection, TuyaError, bool], None],
    report: Reporter,
) -> TuyaConnection:
    """Connect (within the loop's limit on connects in flight) and negotiate the session key if needed.

    Raises :class:`DeviceOfflineError` when the connect times out, :class:`ConnectError` when
    it is refused, and :class:`~tinytuya_asyncio.HandshakeError` when the session key cannot be negotiated.
    """
    if session.role is not Role.CLIENT:
        raise ValueError("open_connection needs a client session")
    loop = asyncio.get_running_loop()
    timed = report.enabled
    slots = connect_slots()
    # Waiting for a slot counts against the connect timeout: with hundreds of devices
    # reconnecting at once, a request fails within its deadline instead of queueing for minutes.
    deadline = loop.time() + timeout
    if not slots.take_now():  # a free slot costs no wait, so no timeout context either
        try:
            async with asyncio.timeout_at(deadline):
                await slots.wait()
        except TimeoutError:
            raise DeviceOfflineError(
                f"{name}: no connect slot free within {timeout:g} s (too many connects at once)"
            ) from None
    started = time.perf_counter() if timed else 0.0
    try:
        async with asyncio.timeout_at(deadline):
            _, connection = await loop.create_connection(
                lambda: TuyaConnection(
                    session,
                    name=name,
                    on_push=on_push,
                    on_lost=on_lost,
                    report=report,
                ),
                host,
                port,
            )
    except TimeoutError:
        raise DeviceOfflineError(f"{name}: connect timed out after {timeout:g} s") from None
    except OSError as exc:
        raise ConnectError(f"{name}: cannot connect: {exc.strerror or exc}") from exc
    finally:
        # The slot bounds connects in flight (what storms a router after it reboots), not the
        # handshake after them: held through the handshake, a cold poll of 100 devices with
        # 20 ms replies waited in waves (1.35x the floor's wall time).
        slots.done()
    connection.peer = (host, port)
    if timed:
        report("connect", host=host, port=port, duration=time.perf_counter() - started)
    if session.spec.needs_session_key:
        try:
            await connection.negotiate(timeout)
        except BaseException:
            connection.close()
            await connection.wait_closed()  # bounded; the socket is gone when we raise
            raise
    return connection
