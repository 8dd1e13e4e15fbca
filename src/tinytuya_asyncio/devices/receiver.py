"""The backlog behind ``receive()``: pushes kept until a caller asks for the next one.

tinytuya's ``receive()`` reads the next frame off the socket; here frames are read as they
arrive, so pushes wait in a bounded backlog (the oldest go first when nobody calls), and a
caller waiting on an empty backlog is woken by the next push.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Final

#: Pushes kept for ``receive()`` callers (tinytuya's equivalent is the socket buffer).
RECEIVE_BACKLOG: Final = 64


class PushBacklog:
    """Pushed results in arrival order, with a waiter for the next one."""

    __slots__ = ("_items", "_waiter")

    def __init__(self, maxlen: int = RECEIVE_BACKLOG) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._waiter: asyncio.Future[None] | None = None

    def __bool__(self) -> bool:
        return bool(self._items)

    def put(self, result: dict[str, Any]) -> None:
        """Keep a pushed result and wake the caller waiting for one."""
        self._items.append(result)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pop(self) -> dict[str, Any] | None:
        """The oldest kept result, or ``None``."""
        return self._items.popleft() if self._items else None

    async def wait(self, timeout: float) -> dict[str, Any] | None:
        """The oldest result, waiting up to ``timeout`` seconds for one; ``None`` if none came."""
        if self._items:
            return self._items.popleft()
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return None
        finally:
            self._waiter = None
        return self.pop()
