"""The reconnect supervisor of a persistent link: brings the connection back after a loss.

It is one task, alive only while the link is down. Its first attempt is immediate (a dropped
idle connection usually comes straight back); after that it backs off exponentially with
jitter, between a floor and a cap, and waits the cap when the device proved the key wrong.

Callers do not simply wait out the backoff: a request made while the supervisor is backing
off gets a real attempt of its own, so that a device freed by another client, or back from
a reboot, answers the next call instead of one a minute later. Those attempts are shared
(concurrent callers wait for the same one) and rate-limited (one per ``min_interval``, which
is tinytuya's ``connection_retry_delay``), so many callers cannot storm a device. A caller
whose attempt could not start within its budget fails at once with the last error.

A device that keeps dropping fresh connections (right after connecting, or during the 3.4/3.5
handshake) is reported as ``REPLACED``: another client is taking it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.conn import TuyaConnection
from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason, reason_for
from tinytuya_asyncio.exceptions import (
    ConnectionClosedError,
    DeviceOfflineError,
    InvalidKeyError,
    TuyaError,
)
from tinytuya_asyncio.metrics import Reporter

_LOGGER = logging.getLogger(__name__)

#: A connection the device closes within this many seconds of opening it counts as a flap.
FLAP_WINDOW: Final = 10.0
#: Consecutive flaps after which we conclude another client keeps taking the device.
FLAPS_FOR_REPLACED: Final = 3


class Settings(Protocol):
    """What the supervisor reads of its link's settings, live (they may change)."""

    @property
    def backoff(self) -> Backoff: ...

    #: tinytuya's connection_retry_delay: the least time between two callers' attempts.
    @property
    def retry_delay(self) -> float: ...


SetState = Callable[[ConnectionState, DisconnectReason | None, TuyaError | None, float | None], None]


class Reconnector:
    """The supervisor of one persistent link; see the module docstring."""

    __slots__ = (
        "_adopt",
        "_attempt",
        "_demand_at",
        "_last_error",
        "_last_start",
        "_link",
        "_name",
        "_open",
        "_pause_handle",
        "_pause_until",
        "_pause_waiter",
        "_report",
        "_set_state",
        "_stopping",
        "_task",
        "flaps",
    )

    def __init__(
        self,
        *,
        name: str,
        link: Settings,
        open_connection: Callable[[], Awaitable[TuyaConnection]],
        adopt: Callable[[TuyaConnection], None],
        set_state: SetState,
        report: Reporter,
    ) -> None:
        self._name = name
        self._link = link
        self._open = open_connection
        self._adopt = adopt
        self._set_state = set_state
        self._report = report
        self._task: asyncio.Task[None] | None = None
        self._stopping: set[asyncio.Task[None]] = set()  # cancelled runs stop() still awaits
        #: The attempt callers share: the one running, or the next one a caller asked for.
        self._attempt: asyncio.Future[TuyaConnection] | None = None
        self._demand_at = 0.0  # when the attempt a caller asked for may start
        self._last_start = -math.inf
        self._last_error: TuyaError | None = None
        self._pause_waiter: asyncio.Future[None] | None = None
        self._pause_handle: asyncio.TimerHandle | None = None
        self._pause_until = 0.0
        #: Consecutive connections the device dropped at once (see FLAP_WINDOW).
        self.flaps = 0

    def __repr__(self) -> str:
        return f"<Reconnector {self._name} active={self.active} flaps={self.flaps}>"

    @property
    def active(self) -> bool:
        """True while the link is down and being brought back."""
        return self._task is not None

    # -- starting --------------------------------------------------------------------------

    def lost(self, error: TuyaError, lived: float) -> None:
        """The link's connection ended after ``lived`` seconds: reconnect."""
        reason = reason_for(error)
        if reason is DisconnectReason.CLOSED_BY_DEVICE and lived < FLAP_WINDOW:
            self.flaps += 1
        else:
            self.flaps = 0
        replaced = self.flaps >= FLAPS_FOR_REPLACED
        if replaced:
            reason = DisconnectReason.REPLACED
        _LOGGER.info("%s: connection lost (%s); reconnecting", self._name, reason.value)
        delay = self._link.backoff.delay(self.flaps - FLAPS_FOR_REPLACED) if replaced else 0.0
        self._start(reason, error, delay)

    def retry(self, error: TuyaError) -> None:
        """A connect failed before the link was ever up: keep trying, after the first backoff."""
        reason = reason_for(error)
        backoff = self._link.backoff
        delay = backoff.maximum() if reason is DisconnectReason.BAD_KEY else backoff.delay(0)
        self._start(reason, error, delay)

    def renew(self, reason: DisconnectReason) -> None:
        """Replace a connection the link gave up on (not the device's doing): reconnect now."""
        self._start(reason, None, 0.0)

    def _start(self, reason: DisconnectReason, error: TuyaError | None, delay: float) -> None:
        if self._task is not None:
            return
        self._last_error = error
        loop = asyncio.get_running_loop()
        # Created now, not in the task, so a request made before the task runs waits for it.
        if delay == 0 and self._attempt is None:
            self._attempt = loop.create_future()
            self._demand_at = loop.time()
            self._report("reconnect_scheduled", reason=reason.value, delay=0.0, attempt=1)
        self._set_state(ConnectionState.RECONNECTING, reason, error, None)
        self._task = loop.create_task(
            self._run(reason, delay), name=f"tinytuya-asyncio reconnect {self._name}"
        )

    # -- the supervisor --------------------------------------------------------------------

    async def _run(self, reason: DisconnectReason, delay: float) -> None:
        loop = asyncio.get_running_loop()
        failures = 0
        try:
            while True:
                if self._attempt is None:
                    if delay > 0:
                        self._set_state(ConnectionState.RECONNECTING, reason, self._last_error, delay)
                        self._report(
                            "reconnect_scheduled", reason=reason.value, delay=delay, attempt=failures + 1
                        )
                        await self._pause(delay)
                elif self._demand_at > loop.time():  # a caller's attempt, not before its turn
                    await self._pause(self._demand_at - loop.time())
                attempt = self._attempt
                if attempt is None:
                    attempt = self._attempt = loop.create_future()
                self._last_start = loop.time()
                try:
                    connection = await self._open()
                except Exception as exc:  # noqa: BLE001 - a failed attempt must never end the supervisor
                    self._attempt = None
                    error = exc if isinstance(exc, TuyaError) else _unexpected(self._name, exc)
                    attempt.set_exception(error)
                    attempt.exception()  # retrieved: nobody may be waiting for this attempt
                    self._last_error = error
                    self._report(
                        "connect_failed",
                        error=type(error).__name__,
                        code=error.err_code,
                        attempt=failures + 1,
                    )
                    reason = self._classify(error)
                    backoff = self._link.backoff
                    bad_key = reason is DisconnectReason.BAD_KEY
                    delay = backoff.maximum() if bad_key else backoff.delay(failures)
                    failures += 1
                    _LOGGER.debug("%s: reconnect failed (%s); next in %.1f s", self._name, error, delay)
                    continue
                self._attempt = None
                self._task = None
                # The last error (with its traceback, and the frames and connection it holds)
                # is only needed while the link is down: a thousand recovered devices must
                # not each keep their last fault alive.
                self._last_error = None
                attempt.set_result(connection)
                self._adopt(connection)
                return
        finally:
            self._cancel_pause()
            attempt = self._attempt
            self._attempt = None
            if attempt is not None and not attempt.done():
                attempt.set_exception(ConnectionClosedError(f"{self._name}: link closed"))
                attempt.exception()
            if self._task is asyncio.current_task():
                self._task = None

    def _classify(self, error: TuyaError) -> DisconnectReason:
        reason = reason_for(error)
        if isinstance(error, ConnectionClosedError):  # dropped during the handshake
            self.flaps += 1
            if self.flaps >= FLAPS_FOR_REPLACED:
                return DisconnectReason.REPLACED
        return reason

    async def _pause(self, delay: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._pause_waiter = loop.create_future()
        self._pause_until = loop.time() + delay
        self._pause_handle = loop.call_at(self._pause_until, self._end_pause)
        try:
            await waiter  # bounded by the timer; ended early by wake() or a caller's attempt
        finally:
            self._cancel_pause()

    def _end_pause(self) -> None:
        self._pause_handle = None
        if self._pause_waiter is not None and not self._pause_waiter.done():
            self._pause_waiter.set_result(None)

    def _cancel_pause(self) -> None:
        if self._pause_handle is not None:
            self._pause_handle.cancel()
        self._pause_handle = self._pause_waiter = None

    def _end_pause_at(self, when: float) -> None:
        if self._pause_waiter is None or when >= self._pause_until:
            return
        if self._pause_handle is not None:
            self._pause_handle.cancel()
        loop = asyncio.get_running_loop()
        self._pause_until = when
        self._pause_handle = loop.call_at(when, self._end_pause)

    # -- callers ---------------------------------------------------------------------------

    async def acquire(self, budget: float) -> TuyaConnection:
        """A connection for a caller while the link is down: the running attempt, or one of its
        own if one may start within ``budget`` seconds; otherwise the last error at once."""
        attempt = self._attempt
        if attempt is None:
            loop = asyncio.get_running_loop()
            start = max(loop.time(), self._last_start + self._link.retry_delay)
            if start - loop.time() > budget:
                raise self.still_down()
            attempt = self._attempt = loop.create_future()
            self._demand_at = start
            self._end_pause_at(start)
        return await asyncio.shield(attempt)  # bounded: one connect and handshake, each with a deadline

    def still_down(self) -> TuyaError:
        """The error for a caller that cannot have an attempt now: fail fast, don't wait."""
        last = self._last_error
        message = f"{self._name}: device is down ({last}); reconnecting in the background"
        return InvalidKeyError(message) if isinstance(last, InvalidKeyError) else DeviceOfflineError(message)

    def wake(self) -> None:
        """Attempt now instead of at the end of the backoff (e.g. the device was just seen)."""
        if self._pause_handle is not None:
            self._pause_handle.cancel()
        self._end_pause()

    # -- stopping --------------------------------------------------------------------------

    def cancel(self) -> None:
        """Stop reconnecting now; :meth:`stop` awaits what is still finishing."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        """Stop reconnecting and wait until the supervisor is gone (idempotent)."""
        self.cancel()
        self.flaps = 0
        if self._stopping:
            await asyncio.wait(set(self._stopping))  # each ends at its next await: cancelled


def _unexpected(name: str, exc: Exception) -> TuyaError:
    _LOGGER.error("%s: reconnect attempt failed unexpectedly", name, exc_info=exc)
    error = TuyaError(f"{name}: reconnect attempt failed: {exc!r}")
    error.__cause__ = exc
    return error
