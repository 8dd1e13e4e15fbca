"""Whose turn it is to talk to a device: a FIFO mutex with a free uncontended path.

Devices handle one request at a time, so a link serializes its requests. ``asyncio.Lock``
does that, but ``async with lock`` builds three coroutine objects per request even when
nobody waits; :meth:`Turns.take_now` makes the common, uncontended case a plain call::

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


class Turns:
    """First come, first served; cancellation-safe."""

    __slots__ = ("_busy", "_waiters")

    def __init__(self) -> None:
        self._busy = False
        # Made when someone first has to queue: an empty deque costs 760 bytes, and most
        # devices never see two requests at once.
        self._waiters: deque[asyncio.Future[None]] | None = None

    def locked(self) -> bool:
        """True while someone holds the turn."""
        return self._busy

    def take_now(self) -> bool:
        """Take the turn if it is free and nobody is queued; never waits."""
        if self._busy or self._waiters:
            return False
        self._busy = True
        return True

    async def wait(self) -> None:
        """Queue for the turn (call after :meth:`take_now` returned False)."""
        if self.take_now():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = deque()
        self._waiters.append(waiter)
        try:
            await waiter  # bounded by the turns ahead, each bounded by its own deadlines
        except BaseException:
            if not waiter.cancelled() and waiter.done():
                self.done()  # the turn was handed to us as we were cancelled: pass it on
            else:
                self._waiters.remove(waiter)
            raise

    def done(self) -> None:
        """Give the turn to the next in line, or free it."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the turn passes on: still busy
                return
        self._busy = False
