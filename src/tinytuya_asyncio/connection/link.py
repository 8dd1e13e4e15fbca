"""Everything about talking to one physical device, across connections.

A :class:`DeviceLink` outlives its sockets. It serializes requests (devices handle one at a
time), opens connections on demand with tinytuya's retry settings, retries a request on a
fresh connection when the old one times out or breaks, and, for persistent links, keeps the
connection up: heartbeats while idle, and a reconnect supervisor (:mod:`.reconnect`) after
a loss.

Three rules keep replies and connections straight:

* ``close()`` wins. It interrupts connects running in callers' tasks and retry delays, stops
  the supervisor and waits for it, and a connection that comes up anyway is closed, never
  adopted: once ``close()`` returns, the link stays ``CLOSED`` until it is used again.
* A request cancelled after it was sent (the caller's ``asyncio.timeout``, a ``wait_for``, a
  cancelled task) leaves a reply on its way that nobody waits for, and that reply could be
  taken as the answer to the next request. So the connection is renewed (persistent links
  reconnect at once, state reason ``cancelled``), as python-kasa does.
* Requests made while a persistent link backs off get a real, rate-limited attempt (see
  :mod:`.reconnect`) instead of the last error.

Two limits protect devices from their callers, and callers from each other, whoever calls:

* ``min_interval``: at least that many seconds between the starts of two commands to the
  device (requests and nowait sends, retries included; not heartbeats or handshakes), since
  firmware polled faster than about once a second can crash. A command waits its turn out.
* ``max_waiting``: at most that many requests queue for the device. A caller finding the
  queue full waits for a place for up to ``timeout`` seconds, then fails with
  :class:`DeviceBusyError` (tinytuya's 902) without having queued (see :mod:`.turns`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Final, TypeVar

from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.conn import TuyaConnection, open_connection
from tinytuya_asyncio.connection.pairing import Answer, Reply, ReplyRule
from tinytuya_asyncio.connection.reconnect import Reconnector
from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason, StateChange, reason_for
from tinytuya_asyncio.connection.turns import Turns
from tinytuya_asyncio.exceptions import (
    ConnectError,
    ConnectionClosedError,
    DeviceBusyError,
    InvalidKeyError,
    RemoteProtocolError,
    TuyaError,
    TuyaTimeoutError,
)
from tinytuya_asyncio.metrics import Reporter
from tinytuya_asyncio.protocol.codec import Role
from tinytuya_asyncio.protocol.crypto import KeyedCipher
from tinytuya_asyncio.protocol.frames import DEFAULT_MAX_PAYLOAD
from tinytuya_asyncio.protocol.session import Session
from tinytuya_asyncio.protocol.versions import VersionSpec
from tinytuya_asyncio.scanner import held

_T = TypeVar("_T")
_LOGGER = logging.getLogger(__name__)

#: State changes without a reason, error or delay: immutable, so made once.
_PLAIN_CHANGES: Final = {state: StateChange(state) for state in ConnectionState}

#: Errors after which a request is retried on a fresh connection (tinytuya does the same).
_RETRYABLE: Final = (TuyaTimeoutError, ConnectionClosedError, RemoteProtocolError)

#: Seconds ``close()`` waits for connects it interrupted in other tasks to unwind.
_UNWIND_TIMEOUT: Final = 1.0


class DeviceLink:
    """Requests, connection and reconnects for one device; see the module docstring."""

    # One per device, so kept small: slots, and what most links never need made on demand.
    __slots__ = (
        "_closing",
        "_conn",
        "_connect_failed",
        "_connected_at",
        "_device_cipher",
        "_epoch",
        "_interruptible",
        "_last_change",
        "_last_command",
        "_local_key",
        "_push_handler",
        "_reconnect",
        "_report",
        "_state_listeners",
        "_turns",
        "backoff",
        "dev_id",
        "heartbeat_interval",
        "heartbeat_timeout",
        "host",
        "make_heartbeat_payload",
        "max_payload",
        "min_interval",
        "name",
        "persist",
        "port",
        "resolve_host",
        "retry_delay",
        "retry_limit",
        "timeout",
        "version",
    )

    def __init__(
        self,
        *,
        name: str,
        host: str,
        port: int,
        version: VersionSpec,
        local_key: bytes,
        timeout: float,
        retry_limit: int,
        retry_delay: float,
        persist: bool,
        make_heartbeat_payload: Callable[[], bytes],
        heartbeat_interval: float | None,
        heartbeat_timeout: float | None,
        backoff: Backoff,
        report: Reporter,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
        dev_id: str = "",
        resolve_host: Callable[[bool], Awaitable[str]] | None = None,
        min_interval: float = 0.0,
        max_waiting: int | None = None,
    ) -> None:
        self.name = name
        #: The device's id, for the process-wide record of held addresses (scanner/held.py).
        self.dev_id = dev_id
        #: For an "Auto" address: awaited before each connect, with True when the previous
        #: connect to the address it gave failed (look again); returns the address to use.
        self.resolve_host = resolve_host
        self.host = host
        self.port = port
        self.version = version
        self.timeout = timeout
        self.retry_limit = retry_limit
        self.retry_delay = retry_delay
        self.persist = persist
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.backoff = backoff
        self.make_heartbeat_payload = make_heartbeat_payload  # called when heartbeats start
        self.max_payload = max_payload
        self._local_key = local_key
        self._device_cipher: KeyedCipher | None = None
        self._report = report
        if min_interval < 0:
            raise ValueError("min_interval cannot be negative")
        #: Seconds between the starts of two commands (0: no limit); see the module docstring.
        self.min_interval = min_interval
        self._last_command = -math.inf
        self._turns = Turns(max_waiting)
        self._conn: TuyaConnection | None = None
        self._connect_failed = False
        self._last_change = _PLAIN_CHANGES[ConnectionState.DISCONNECTED]
        # A tuple, replaced on (un)subscribe: notifying needs no copy to be safe from both.
        self._state_listeners: tuple[Callable[[StateChange], None], ...] = ()
        self._push_handler: Callable[[Answer], None] = _ignore_push
        self._reconnect: Reconnector | None = None  # made at the first loss of a persistent link
        self._closing: set[TuyaConnection] | None = None  # released connections whose socket may linger
        #: Tasks in a wait close() interrupts (connects, rate-limit waits): each maps to the
        #: future close() waits on while it lets go.
        self._interruptible: dict[asyncio.Task[object], asyncio.Future[None] | None] | None = None
        self._epoch = 0  # bumped by close(): requests started before it stop
        self._connected_at = 0.0

    def __repr__(self) -> str:
        return f"<DeviceLink {self.name} {self.version.text} {self.state.value}>"

    def _supervisor(self) -> Reconnector:
        reconnect = self._reconnect
        if reconnect is None:
            reconnect = self._reconnect = Reconnector(
                name=self.name,
                link=self,
                open_connection=self._open,
                adopt=self._adopt,
                set_state=self._set_state,
                report=self._report,
            )
        return reconnect

    @property
    def max_waiting(self) -> int | None:
        """Requests that may queue for the device (``None``: any number)."""
        return self._turns.limit

    @max_waiting.setter
    def max_waiting(self, limit: int | None) -> None:
        if limit is not None and limit < 0:
            raise ValueError("max_waiting cannot be negative")
        self._turns.limit = limit

    @property
    def reconnecting(self) -> bool:
        """True while a persistent link is down and its supervisor is bringing it back."""
        return self._reconnect is not None and self._reconnect.active

    # -- observation ---------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._last_change.state

    @property
    def last_change(self) -> StateChange:
        """The most recent state change (with its reason and error)."""
        return self._last_change

    @property
    def connected(self) -> bool:
        return self._conn is not None and self._conn.is_open

    def add_state_listener(self, listener: Callable[[StateChange], None]) -> Callable[[], None]:
        """Call ``listener`` on every state change; returns a function that unsubscribes."""
        self._state_listeners = (*self._state_listeners, listener)

        def remove() -> None:
            listeners = list(self._state_listeners)
            if listener in listeners:
                listeners.remove(listener)
                self._state_listeners = tuple(listeners)

        return remove

    def set_push_handler(self, handler: Callable[[Answer], None]) -> None:
        """Where frames that answer no request go (the device routes them to its users)."""
        self._push_handler = handler

    def _set_state(
        self,
        state: ConnectionState,
        reason: DisconnectReason | None = None,
        error: TuyaError | None = None,
        retry_in: float | None = None,
    ) -> None:
        last = self._last_change
        if (
            state is last.state
            and reason is last.reason
            and error is last.error
            and retry_in == last.retry_in
        ):
            return
        if reason is None and error is None and retry_in is None:
            change = _PLAIN_CHANGES[state]  # the common case (every non-persistent request) allocates nothing
        else:
            change = StateChange(state, reason, error, retry_in)
        self._last_change = change
        if self._report.enabled:
            self._report(
                "state",
                state=state.value,
                previous=last.state.value,
                reason=reason.value if reason is not None else None,
                error=type(error).__name__ if error is not None else None,
                retry_in=retry_in,
            )
        for listener in self._state_listeners:
            try:
                listener(change)
            except Exception:
                _LOGGER.exception("%s: state listener failed", self.name)

    # -- requests ------------------------------------------------------------------------

    async def _take_turn(self, cmd: int | None = None) -> None:
        """Queue for the turn (after take_now() failed); requests queued when close() ran stop here.

        With ``max_waiting`` callers queued already, wait for a place up to the deadline.
        """
        epoch = self._epoch
        turns = self._turns
        if turns.full():
            await self._wait_for_place(cmd)
        else:
            await turns.wait()
        if epoch != self._epoch:
            turns.done()
            raise ConnectionClosedError(f"{self.name}: link closed")

    async def _wait_for_place(self, cmd: int | None) -> None:
        """Backpressure: the queue is full; wait for a place until the deadline."""
        turns = self._turns
        timeout = self.timeout
        self._report("queue_full", cmd=cmd, waiting=turns.waiting, timeout=timeout)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await turns.wait(timeout)
        except TimeoutError:
            self._report("request_rejected", cmd=cmd, waited=loop.time() - started)
            raise DeviceBusyError(
                f"{self.name}: device busy: {turns.limit} requests already waiting for it, "
                f"no place for another within {timeout:g} s"
            ) from None

    async def _keep_interval(self, cmd: int | None, epoch: int) -> None:
        """Rate limit: wait until ``min_interval`` has passed since the last command."""
        loop = asyncio.get_running_loop()
        delay = self._last_command + self.min_interval - loop.time()
        if delay <= 0:
            return
        self._report("rate_limited", cmd=cmd, delay=delay)
        while delay > 0:  # a timer may fire a hair early: the interval is a promise to the device
            # Bounded by min_interval, and interrupted by close().
            await self._until_closed(asyncio.sleep(delay), "waiting between commands")
            delay = self._last_command + self.min_interval - loop.time()
        if epoch != self._epoch:
            raise ConnectionClosedError(f"{self.name}: link closed")

    async def connect(self, *, keep_trying: bool = False) -> None:
        """Make sure a connection is open (connecting if needed).

        ``keep_trying``: when a persistent link's connect fails, the reconnect supervisor goes
        on trying in the background, with backoff, unless :meth:`close` ran meanwhile.
        """
        epoch = self._epoch
        try:
            if not self._turns.take_now():
                await self._take_turn()
            try:
                await self._acquire()
            finally:
                self._turns.done()
        except TuyaError as exc:
            if keep_trying and epoch == self._epoch:  # a close() in between has the last word
                self._keep_trying(exc)
            raise

    async def request(
        self,
        cmd: int,
        payload: bytes,
        *,
        cid: str | None = None,
        rule: ReplyRule,
        dps: Collection[str] | None = None,
        stop_at_ack: bool = False,
        frame: bytes | None = None,
        resend: bool = True,
    ) -> Reply:
        """Send ``cmd`` and return what answered it, retrying on a fresh connection as tinytuya does.

        ``dps`` names the data points a CONTROL sets (a STATUS about others is a push);
        ``stop_at_ack`` returns as soon as the device acknowledges (tinytuya's ``retry=False``);
        ``frame`` is sent as it is instead of encoding ``payload`` (tinytuya's raw requests);
        ``resend=False`` is for commands that must not be carried out twice (controls: an IR
        code sent twice presses the button twice): they are resent on a fresh connection only
        when the old one failed before the device could have read them, that is when it
        closed without a byte back; a timeout or an answer cut short is returned as an error.
        """
        timed = self._report.enabled
        called = time.perf_counter() if timed else 0.0
        if not self._turns.take_now():  # the uncontended case costs no coroutine
            await self._take_turn(cmd)
        try:
            epoch = self._epoch
            failures = 0
            waited = 0.0
            while True:
                if self.min_interval:
                    await self._keep_interval(cmd, epoch)
                connection = self._conn
                if connection is None or not connection.is_open:
                    connection = await self._acquire()
                timed = self._report.enabled
                started = time.perf_counter() if timed else 0.0
                if timed and not failures:
                    waited = started - called if called else 0.0
                future = connection.start_request(
                    cmd,
                    payload,
                    cid=cid,
                    rule=rule,
                    timeout=self.timeout,
                    dps=dps,
                    stop_at_ack=stop_at_ack,
                    frame=frame,
                )
                if self.min_interval:  # the one check a request pays for the rate limit
                    self._last_command = asyncio.get_running_loop().time()
                try:
                    reply = await future
                except asyncio.CancelledError:
                    if future.cancelled():  # our caller gave up with the reply on its way
                        self._abandon(connection)
                    raise
                except _RETRYABLE as exc:
                    failures += 1
                    self._report(
                        "request_failed",
                        cmd=cmd,
                        cid=cid,
                        error=type(exc).__name__,
                        code=exc.err_code,
                        attempt=failures,
                    )
                    if failures > self.retry_limit or epoch != self._epoch:
                        raise
                    if not resend and (connection.heard_since_request or isinstance(exc, TimeoutError)):
                        raise  # the device may have carried it out: never twice
                    _LOGGER.debug("%s: %s; retry %d/%d", self.name, exc, failures, self.retry_limit)
                    self._report("retry", cmd=cmd, cid=cid, attempt=failures)
                    continue
                finally:
                    if not self.persist:
                        self._release(connection)
                if timed:
                    self._report(
                        "request", cmd=cmd, cid=cid, duration=time.perf_counter() - started, waited=waited
                    )
                return reply
        finally:
            self._turns.done()

    async def send(self, cmd: int, payload: bytes) -> None:
        """Send ``cmd`` without waiting for an answer."""
        await self._send_with(lambda connection: connection.send(cmd, payload), cmd)

    async def send_frame(self, frame: bytes) -> None:
        """Write already-encoded bytes."""
        await self._send_with(lambda connection: connection.send_frame(frame), None)

    async def _send_with(self, write: Callable[[TuyaConnection], None], cmd: int | None) -> None:
        if not self._turns.take_now():
            await self._take_turn(cmd)
        try:
            if self.min_interval:
                await self._keep_interval(cmd, self._epoch)
            connection = await self._acquire()
            try:
                write(connection)
                if self.min_interval:
                    self._last_command = asyncio.get_running_loop().time()
            finally:
                if not self.persist:
                    self._release(connection)
        finally:
            self._turns.done()

    async def release(self) -> None:
        """Close a non-persistent link's connection after a ``receive()``."""
        if not self.persist and self._conn is not None and not self._turns.locked():
            self._release(self._conn)

    # -- connections ---------------------------------------------------------------------

    async def _acquire(self) -> TuyaConnection:
        connection = self._conn
        if connection is not None and connection.is_open:
            return connection
        reconnect = self._reconnect
        if reconnect is not None and reconnect.active:
            return await reconnect.acquire(budget=self.timeout)
        return await self._connect_with_retries()

    async def _connect_with_retries(self) -> TuyaConnection:
        """tinytuya's schedule: ``retry_limit`` attempts, ``retry_delay`` apart; close() interrupts it."""
        epoch = self._epoch
        connection = await self._until_closed(self._attempts(), "connecting")
        if epoch != self._epoch:  # close() ran as the connection came up: never adopt it
            connection.close()
            raise ConnectionClosedError(f"{self.name}: link closed while connecting")
        self._adopt(connection)
        return connection

    async def _until_closed(self, waiting: Awaitable[_T], what: str) -> _T:
        """``await waiting``, unless close() runs meanwhile: then ConnectionClosedError."""
        epoch = self._epoch
        task = asyncio.current_task()
        assert task is not None
        # close() cancels the tasks registered here and tells them apart from a cancellation
        # of their own by the count asyncio keeps (as asyncio.timeout does, for less than a
        # timeout context per connect): a cancel of ours becomes "link closed".
        cancelling = task.cancelling()
        registered = self._interruptible
        if registered is None:
            registered = self._interruptible = {}
        registered[task] = None
        try:
            return await waiting
        except asyncio.CancelledError:
            if epoch != self._epoch and task.uncancel() <= cancelling:
                raise ConnectionClosedError(f"{self.name}: link closed while {what}") from None
            raise
        finally:
            unwound = registered.pop(task, None)
            if unwound is not None:  # close() is waiting for this task to let go
                unwound.set_result(None)

    async def _attempts(self) -> TuyaConnection:
        self._set_state(ConnectionState.CONNECTING)
        try:
            return await self._open()  # the first attempt: no loop, no delay (the common case)
        except TuyaError as exc:
            last = self._attempt_failed(exc, 1)
        for attempt in range(2, self.retry_limit + 1):
            await asyncio.sleep(self.retry_delay)  # tinytuya's connection_retry_delay
            self._set_state(ConnectionState.CONNECTING)
            try:
                return await self._open()
            except TuyaError as exc:
                last = self._attempt_failed(exc, attempt)
        self._set_state(ConnectionState.DISCONNECTED, reason_for(last), last)
        raise last

    def _attempt_failed(self, error: TuyaError, attempt: int) -> TuyaError:
        self._report("connect_failed", error=type(error).__name__, code=error.err_code, attempt=attempt)
        if isinstance(error, InvalidKeyError):  # the device proved the key wrong: retrying cannot help
            self._set_state(ConnectionState.DISCONNECTED, reason_for(error), error)
            raise error
        _LOGGER.debug("%s: connect attempt %d failed: %s", self.name, attempt, error)
        return error

    async def _open(self) -> TuyaConnection:
        if self.resolve_host is not None:
            self.host = await self.resolve_host(self._connect_failed)
        # 3.1 devices answer status queries in clear, so tinytuya allows 3.1 without a key.
        if len(self._local_key) != 16 and (self.version.number > 3.1 or self._local_key):
            raise InvalidKeyError(f"{self.name}: the local key must be 16 characters")
        session = Session(
            Role.CLIENT,
            self.version,
            self._local_key,
            max_payload=self.max_payload,
            device_cipher=self._device_cipher,
        )
        self._device_cipher = session.device_cipher  # built once per device, not per connection
        try:
            connection = await open_connection(
                self.host,
                self.port,
                session,
                name=self.name,
                timeout=self.timeout,
                on_push=self._on_push,
                on_lost=self._on_lost,
                report=self._report,
            )
        except ConnectError:
            self._connect_failed = True
            raise
        self._connect_failed = False
        # While the socket is open, a scan in this process reports the address instead of
        # connecting to it (a second connection can wedge a device).
        held.hold(*connection.peer, dev_id=self.dev_id, version=self.version.text)
        connection.on_closed = self._connection_closed
        return connection

    def _connection_closed(self, connection: TuyaConnection) -> None:
        held.release(*connection.peer)
        if self._closing is not None:
            self._closing.discard(connection)

    def _adopt(self, connection: TuyaConnection) -> None:
        self._conn = connection
        self._connected_at = asyncio.get_running_loop().time()
        if self.persist and self.heartbeat_interval:
            connection.start_heartbeat(
                self.heartbeat_interval, self.heartbeat_timeout or self.timeout, self.make_heartbeat_payload()
            )
        self._set_state(ConnectionState.CONNECTED)

    def _release(self, connection: TuyaConnection) -> None:
        if self._conn is connection:
            self._conn = None
        connection.close()
        if connection.on_closed is not None:  # its socket goes within a loop iteration; close() waits
            if self._closing is None:
                self._closing = set()
            self._closing.add(connection)
        if self._conn is None and not self.reconnecting and self.state is not ConnectionState.DISCONNECTED:
            self._set_state(ConnectionState.DISCONNECTED)

    def _abandon(self, connection: TuyaConnection) -> None:
        """Give up a connection whose reply is in flight for a cancelled request."""
        if self._conn is not connection:
            return
        _LOGGER.debug("%s: request cancelled mid-exchange; renewing the connection", self.name)
        if self.persist:  # first, so that the link reads as reconnecting rather than down
            self._supervisor().renew(DisconnectReason.CANCELLED)
        self._release(connection)

    def _on_push(self, answer: Answer) -> None:
        self._report("push", cid=answer.cid)
        try:
            self._push_handler(answer)
        except Exception:
            _LOGGER.exception("%s: push handler failed", self.name)

    def _on_lost(self, connection: TuyaConnection, error: TuyaError, expected: bool) -> None:
        if connection is not self._conn:
            return  # a connection that never became ours (failed handshake) or was replaced
        self._conn = None
        if expected:
            return
        if not self.persist:
            self._set_state(ConnectionState.DISCONNECTED, reason_for(error), error)
            return
        self._supervisor().lost(error, asyncio.get_running_loop().time() - self._connected_at)

    def wake(self) -> None:
        """Retry now instead of at the end of the backoff (e.g. the device was just seen)."""
        if self._reconnect is not None:
            self._reconnect.wake()

    def _keep_trying(self, error: TuyaError) -> None:
        """A persistent link whose connect failed: let the supervisor bring it up, with backoff.

        Requests made meanwhile get the supervisor's fail-fast, rate-limited attempts.
        """
        if (
            self.persist
            and self._conn is None
            and not self.reconnecting
            and self.state is not ConnectionState.CLOSED
        ):
            self._supervisor().retry(error)

    # -- teardown ------------------------------------------------------------------------

    def set_persist(self, persist: bool) -> None:
        """Switch persistence; turning it off closes the connection and stops reconnecting."""
        self.persist = persist
        if persist:
            return
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._conn is not None:
            self._release(self._conn)
        self._set_state(ConnectionState.DISCONNECTED)

    def drop(self) -> None:
        """Close the current connection now (the next request reconnects with current settings)."""
        if self._conn is not None:
            self._release(self._conn)
            self._set_state(ConnectionState.DISCONNECTED)

    async def close(self) -> None:
        """Close the connection and stop reconnecting (idempotent). A later request reconnects."""
        self._epoch += 1
        loop = asyncio.get_running_loop()
        interrupted: list[asyncio.Future[None]] = []
        waiting = self._interruptible or {}
        for task in list(waiting):
            unwound = waiting[task] = loop.create_future()
            interrupted.append(unwound)
            task.cancel()  # that wait ends with "link closed" (see _until_closed)
        if self._reconnect is not None:
            await self._reconnect.stop()
        connection, self._conn = self._conn, None
        if connection is not None:
            connection.close()
            await connection.wait_closed()
        if interrupted:
            await asyncio.wait(interrupted, timeout=_UNWIND_TIMEOUT)
        for closing in list(self._closing or ()):
            await closing.wait_closed()
        self._set_state(ConnectionState.CLOSED)


def _ignore_push(answer: Answer) -> None:
    return None
