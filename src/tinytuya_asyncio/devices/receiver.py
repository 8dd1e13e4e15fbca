"""The backlog behind ``receive()``: pushes kept until a caller asks for the next one.

tinytuya's ``receive()`` reads the next frame off the socket; here frames are read as they
arrive, so pushes wait in a bounded backlog, and callers waiting on an empty backlog are
woken in the order they came, one push each. When nobody calls, the backlog keeps the most
recent pushes: the oldest are dropped, and the drop is reported (as the update streams do).

Most applications never call ``receive()`` (they subscribe, or only poll). Until the first
call the backlog keeps just the latest push, so that ``status()`` followed by ``receive()``
still sees what came in between, and a fleet of devices nobody reads from does not fill
64 results per device.
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

    __slots__ = ("_items", "_latest", "_maxlen", "_on_dropped", "_waiters", "_warned", "dropped")

    def __init__(
        self, maxlen: int = RECEIVE_BACKLOG, on_dropped: Callable[[int], None] | None = None
    ) -> None:
        # Both made at the first receive(): empty deques cost 760 bytes each.
        self._items: deque[dict[str, Any]] | None = None
        self._waiters: deque[asyncio.Future[None]] | None = None
        self._latest: dict[str, Any] | None = None  # before any receive(): the last push only
        self._maxlen = maxlen
        self._on_dropped = on_dropped
        self._warned = False
        #: Pushes dropped because ``receive()`` was not called often enough.
        self.dropped = 0

    def __bool__(self) -> bool:
        return bool(self._items) or self._latest is not None

    def put(self, result: dict[str, Any]) -> None:
        """Keep a pushed result and wake the longest-waiting caller."""
        items = self._items
        if items is None:
            self._latest = result
            return
        if len(items) >= self._maxlen:
            items.popleft()
            self.dropped += 1
            if not self._warned:
                self._warned = True
                _LOGGER.warning("receive() is not called often enough: dropping the oldest pushes")
            if self._on_dropped is not None:
                self._on_dropped(1)
        items.append(result)
        self._wake_next()

    def _start(self) -> deque[dict[str, Any]]:
        items = self._items
        if items is None:
            items = self._items = deque()
            self._waiters = deque()
            if self._latest is not None:
                items.append(self._latest)
                self._latest = None
        return items

    def _wake_next(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def take_now(self) -> dict[str, Any] | None:
        """The oldest kept result if no caller is waiting for it, else ``None``."""
        items = self._start()
        return items.popleft() if items and not self._waiters else None

    async def wait(self, timeout: float) -> dict[str, Any] | None:
        """The oldest result, waiting up to ``timeout`` seconds for one; ``None`` if none came."""
        kept = self.take_now()  # a woken waiter's push is not ours to take
        if kept is not None:
            return kept
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        assert self._waiters is not None  # made by take_now()
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
        items = self._items
        return items.popleft() if items else None

    def _give_up(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            assert self._waiters is not None
            self._waiters.remove(waiter)
        elif self._items:  # woken as we gave up: the push goes to the next caller
            self._wake_next()
