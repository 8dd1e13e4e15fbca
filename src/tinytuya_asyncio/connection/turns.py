"""Waiting one's turn: a FIFO counting semaphore with a free uncontended path, and a bound.

Devices handle one request at a time, so a link serializes its requests (:class:`Turns`, one
slot); the event loop's connects in flight are bounded the same way (``connect_slots()``, 32
slots). ``asyncio.Lock`` and ``asyncio.Semaphore`` do that, but ``async with`` builds coroutine
objects on every use even when nobody waits (and Python 3.11's ``Semaphore.locked()`` scans its
waiters with a generator each time); :meth:`Slots.take_now` makes the common, uncontended case
a plain call::

    if not turns.take_now():
        await turns.wait(timeout)
    try:
        ...
    finally:
        turns.done()

Backpressure: with a ``limit``, at most that many callers queue for a slot. A caller that
finds the queue full waits for a place, first come first served, for at most ``timeout``
seconds; then :meth:`Slots.wait` raises :class:`TimeoutError` and the caller has not queued.
So a producer faster than the device is slowed to its pace, and one that keeps pushing gets
errors at its deadline, while the queue, and the memory behind it, stays bounded.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """``capacity`` slots, first come, first served; cancellation-safe; optionally bounded.

    Callers are *admitted* (holding a slot, queued for one, or given a place and about to
    queue) up to ``capacity + limit`` at once; the others wait outside for a place. A queued
    caller exists only while every slot is taken, so a holder always hands its slot on.
    """

    __slots__ = ("_admitted", "_capacity", "_free", "_overflow", "_waiters", "limit")

    def __init__(self, capacity: int = 1, limit: int | None = None) -> None:
        if capacity < 1:
            raise ValueError("at least one slot")
        if limit is not None and limit < 0:
            raise ValueError("the number of waiting callers cannot be negative")
        self._capacity = capacity
        self._free = capacity
        # Made when someone first has to queue: an empty deque costs 760 bytes, and most
        # devices never see two requests at once.
        self._waiters: deque[asyncio.Future[None]] | None = None
        #: Callers waiting for a place in the queue (made when the queue first fills).
        self._overflow: deque[asyncio.Future[None]] | None = None
        self._admitted = 0
        #: How many callers may queue for a slot; ``None``: any number.
        self.limit = limit

    def locked(self) -> bool:
        """True while every slot is taken."""
        return self._free <= 0

    @property
    def waiting(self) -> int:
        """Callers queued for a slot (not counting those waiting for a place)."""
        return len(self._waiters) if self._waiters else 0

    def full(self) -> bool:
        """True when a caller arriving now would have to wait for a place in the queue."""
        limit = self.limit
        return limit is not None and (bool(self._overflow) or self._admitted >= self._capacity + limit)

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody is queued; never waits."""
        if self._free <= 0 or self._waiters or self._overflow:
            return False
        if self.limit is not None and self._admitted >= self._capacity + self.limit:
            return False  # a slot is free but promised to callers about to take it
        self._free -= 1
        self._admitted += 1
        return True

    async def wait(self, timeout: float | None = None) -> None:
        """Queue for a slot (call after :meth:`take_now` returned False).

        ``timeout`` bounds only the wait for a place when the queue is full (TimeoutError,
        and the caller has not queued); a queued caller waits for the holders ahead, each
        bounded by its own deadlines.
        """
        if self.take_now():
            return
        if self.full():
            await self._wait_for_place(timeout)  # admitted when it returns
            if self._free > 0 and not self._waiters:  # a slot came free meanwhile
                self._free -= 1
                return
        else:
            self._admitted += 1
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = deque()
        self._waiters.append(waiter)
        try:
            await waiter  # bounded by the holders ahead, each bounded by its own deadlines
        except BaseException:
            if not waiter.cancelled() and waiter.done():
                self.done()  # the slot was handed to us as we were cancelled: pass it on
            else:
                if waiter in self._waiters:  # done() may have skipped it already
                    self._waiters.remove(waiter)
                self._admitted -= 1
                self._admit_next()
            raise

    async def _wait_for_place(self, timeout: float | None) -> None:
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._overflow is None:
            self._overflow = deque()
        self._overflow.append(place)
        try:
            async with asyncio.timeout(timeout):
                await place  # bounded by the timeout (None only when the caller bounds it)
        except BaseException:
            if not place.cancelled() and place.done():
                self._admitted -= 1  # admitted as we gave up: pass the place on
                self._admit_next()
            elif place in self._overflow:
                self._overflow.remove(place)
            raise

    def _admit_next(self) -> None:
        """Give free places to the callers waiting outside, longest-waiting first."""
        overflow = self._overflow
        limit = self.limit
        while overflow and (limit is None or self._admitted < self._capacity + limit):
            place = overflow.popleft()
            if not place.done():
                self._admitted += 1
                place.set_result(None)

    def done(self) -> None:
        """Give the slot to the next in line, or free it."""
        self._admitted -= 1
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: still taken
                break
        else:
            self._free += 1
        if self._overflow:
            self._admit_next()


class Turns(Slots):
    """Whose turn it is to talk to one device: a single slot, with ``limit`` callers queued at most."""

    __slots__ = ()

    def __init__(self, limit: int | None = None) -> None:
        super().__init__(1, limit)
