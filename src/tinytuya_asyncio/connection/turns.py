"""Waiting one's turn: a FIFO counting semaphore with a free uncontended path.

Devices handle one request at a time, so a link serializes its requests (:class:`Turns`, one
slot); the event loop's connects in flight are bounded the same way (``connect_slots()``, 32
slots). ``asyncio.Lock`` and ``asyncio.Semaphore`` do that, but ``async with`` builds coroutine
objects on every use even when nobody waits (and Python 3.11's ``Semaphore.locked()`` scans its
waiters with a generator each time); :meth:`Slots.take_now` makes the common, uncontended case
a plain call::

    if not turns.take_now():
        await turns.wait()
    try:
        ...
    finally:
        turns.done()
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    """``capacity`` slots, first come, first served; cancellation-safe."""

    __slots__ = ("_free", "_waiters")

    def __init__(self, capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError("at least one slot")
        self._free = capacity
        # Made when someone first has to queue: an empty deque costs 760 bytes, and most
        # devices never see two requests at once.
        self._waiters: deque[asyncio.Future[None]] | None = None

    def locked(self) -> bool:
        """True while every slot is taken."""
        return self._free <= 0

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody is queued; never waits."""
        if self._free <= 0 or self._waiters:
            return False
        self._free -= 1
        return True

    async def wait(self) -> None:
        """Queue for a slot (call after :meth:`take_now` returned False)."""
        if self.take_now():
            return
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
                self._waiters.remove(waiter)
            raise

    def done(self) -> None:
        """Give the slot to the next in line, or free it."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes on: still taken
                return
        self._free += 1


class Turns(Slots):
    """Whose turn it is to talk to one device: a single slot."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(1)
