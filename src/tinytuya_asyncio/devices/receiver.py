"""The backlog behind ``receive()``: pushes kept until a caller asks for the next one.

tinytuya's ``receive()`` reads the next frame off the socket; here frames are read as they
arrive, so pushes wait in a bounded backlog, and callers waiting on an empty backlog are
woken in the order they came, one push each. When nobody calls, the backlog keeps the most
recent pushes: the oldest are dropped, and the drop is reported (as the update streams do).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Final

_LOGGER = logging.getLogger(__name__)

#: Pushes kept for ``receive()`` callers (tinytuya's equivalent is the socket buffer).
RECEIVE_BACKLOG: Final = 64


class PushBacklog:
    """Pushed results in arrival order, with the callers waiting for them."""

    __slots__ = ("_items", "_maxlen", "_on_dropped", "_waiters", "_warned", "dropped")

    def __init__(
        self, maxlen: int = RECEIVE_BACKLOG, on_dropped: Callable[[int], None] | None = None
    ) -> None:
        self._items: deque[dict[str, Any]] = deque()
        self._maxlen = maxlen
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._on_dropped = on_dropped
        self._warned = False
        #: Pushes dropped because nobody called ``receive()`` in time.
        self.dropped = 0

    def __bool__(self) -> bool:
        return bool(self._items)

    def put(self, result: dict[str, Any]) -> None:
        """Keep a pushed result and wake the longest-waiting caller."""
        if len(self._items) >= self._maxlen:
            self._items.popleft()
            self.dropped += 1
            if not self._warned:
                self._warned = True
                _LOGGER.warning("receive() is not called often enough: dropping the oldest pushes")
            if self._on_dropped is not None:
                self._on_dropped(1)
        self._items.append(result)
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def pop(self) -> dict[str, Any] | None:
        """The oldest kept result, or ``None``."""
        return self._items.popleft() if self._items else None

    def take_now(self) -> dict[str, Any] | None:
        """The oldest kept result if no caller is waiting for it, else ``None``."""
        return self._items.popleft() if self._items and not self._waiters else None

    async def wait(self, timeout: float) -> dict[str, Any] | None:
        """The oldest result, waiting up to ``timeout`` seconds for one; ``None`` if none came."""
        kept = self.take_now()  # a woken waiter's push is not ours to take
        if kept is not None:
            return kept
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            self._give_up(waiter)
            return None
        except BaseException:
            self._give_up(waiter)
            raise
        return self.pop()

    def _give_up(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            self._waiters.remove(waiter)
        elif self._items:  # woken as we gave up: the push goes to the next caller
            self._wake_next()
