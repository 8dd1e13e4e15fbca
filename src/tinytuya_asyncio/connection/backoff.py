"""Exponential backoff with jitter, and the process-wide limit on concurrent connects."""

from __future__ import annotations

import asyncio
import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from tinytuya_asyncio.connection.turns import Slots

#: TCP connects in flight allowed per event loop. After a router reboot, hundreds of devices
#: reconnect at once; spreading the connects keeps the loop responsive and avoids a burst of
#: SYNs (and ARP look-ups) that routers and the devices' small TCP stacks handle badly. The
#: 3.4/3.5 handshake that follows a connect runs outside the limit: it costs the client little.
DEFAULT_CONNECT_LIMIT: Final = 32


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnect attempts: ``floor * factor**n``, capped, with ± jitter."""

    #: Seconds before the first retry.
    floor: float = 1.0
    #: The longest delay, in seconds (also the delay after a bad key).
    cap: float = 60.0
    #: How much each delay grows over the previous one.
    factor: float = 2.0
    #: Fraction of the delay randomised either way, so devices that failed together do not
    #: retry together.
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if not 0 <= self.floor <= self.cap:
            raise ValueError("backoff needs 0 <= floor <= cap")
        if self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("backoff needs factor >= 1 and 0 <= jitter <= 1")

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Delay before retry number ``attempt`` (0 for the first retry)."""
        base = min(self.cap, self.floor * self.factor ** min(attempt, 64))
        return min(self.cap, max(0.0, base * (1 + self.jitter * (2 * rand() - 1))))

    def maximum(self, rand: Callable[[], float] = random.random) -> float:
        """The capped delay (used after a bad key: retrying fast cannot help)."""
        return min(self.cap, max(0.0, self.cap * (1 - self.jitter * rand())))


_limit = DEFAULT_CONNECT_LIMIT
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Slots] = weakref.WeakKeyDictionary()


def set_connect_limit(limit: int) -> None:
    """Allow ``limit`` TCP connects in flight at once per event loop (default 32).

    Applies to connects started after the call; attempts already waiting keep their slot.
    """
    global _limit  # noqa: PLW0603 - one process-wide setting, by design
    if limit < 1:
        raise ValueError("the connect limit must be at least 1")
    _limit = limit
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        _slots.clear()
        return
    _slots[loop] = Slots(limit)


def connect_slots() -> Slots:
    """The running loop's slots bounding concurrent connects."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = Slots(_limit)
    return slots
