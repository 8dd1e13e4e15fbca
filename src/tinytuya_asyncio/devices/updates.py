"""Push updates: callbacks and bounded ``async for`` streams.

A device publishes a :class:`DeviceUpdate` whenever a frame tells it something about its
data points: every STATUS push, and any reply whose values differ from what it knew.
Callbacks run synchronously on the event loop (keep them quick; use a stream for slow
work). Each stream has a bounded queue: when a consumer falls behind, the oldest updates
are dropped, and the next update it receives says how many (``dropped``) — the reader of
the connection never waits for a consumer, and memory never grows without bound.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Final

from tinytuya_asyncio.devices.redact import redact_id

_LOGGER = logging.getLogger(__name__)

#: Default capacity of one ``updates()`` stream.
DEFAULT_QUEUE_SIZE: Final = 100


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """What one frame changed on a device (or gateway sub-device)."""

    #: The device's id: a gateway child's own, or the gateway's for a sub-device that has
    #: no child object (heard through ``updates(children=True)``).
    device_id: str
    #: Gateway sub-device id, when the update is about one; ``None`` for the device itself.
    cid: str | None
    #: The data points this frame reported that differ from what was known (all of them
    #: for a push: devices re-report a value when, say, a button is pressed again).
    changed: dict[str, Any]
    #: Every data point known after merging this frame.
    dps: dict[str, Any]
    #: The frame decoded exactly as tinytuya's sync API would return it.
    result: dict[str, Any] = field(repr=False)
    #: True when the device sent it on its own (a STATUS push), False for a reply.
    pushed: bool = True
    #: Updates this stream dropped just before this one because its consumer fell behind.
    dropped: int = 0


#: DeviceUpdate's fields, in order (a test keeps this in step with the class).
UPDATE_FIELDS: Final = ("device_id", "cid", "changed", "dps", "result", "pushed", "dropped")
_new_object = object.__new__
# The slots' own setters: a frozen dataclass's __init__ goes through object.__setattr__ for each
# field, 1.6 µs a push; these do the same in half of that (see new_update).
(_set_id, _set_cid, _set_changed, _set_dps, _set_result, _set_pushed, _set_dropped) = (
    getattr(DeviceUpdate, name).__set__ for name in UPDATE_FIELDS
)


def new_update(
    device_id: str,
    cid: str | None,
    changed: dict[str, Any],
    dps: dict[str, Any],
    result: dict[str, Any],
    *,
    pushed: bool,
) -> DeviceUpdate:
    """``DeviceUpdate(...)`` with ``dropped=0``, made the cheap way: this runs for every push."""
    update: DeviceUpdate = _new_object(DeviceUpdate)
    _set_id(update, device_id)
    _set_cid(update, cid)
    _set_changed(update, changed)
    _set_dps(update, dps)
    _set_result(update, result)
    _set_pushed(update, pushed)
    _set_dropped(update, 0)
    return update


class UpdateStream:
    """An ``async for`` source of updates with a bounded queue (see the module docstring)."""

    def __init__(self, hub: UpdateHub, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError("an update stream holds at least one update")
        self._hub = hub
        self._queue: deque[DeviceUpdate] = deque()
        self._maxsize = maxsize
        self._dropped = 0
        self._warned = False
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def __aiter__(self) -> UpdateStream:
        return self

    async def __anext__(self) -> DeviceUpdate:
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter  # woken by a publish or by close(); waits as long as the consumer wants
            finally:
                self._waiter = None
        update = self._queue.popleft()
        if self._dropped:  # the gap is right before the oldest update still queued
            update = replace(update, dropped=self._dropped)
            self._dropped = 0
        return update

    async def __aenter__(self) -> UpdateStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    async def aclose(self) -> None:
        """:meth:`close`, awaitable (for ``contextlib.aclosing`` and async generators' habits)."""
        self.close()

    def close(self) -> None:
        """Stop receiving; iteration ends once the queued updates are consumed."""
        if self._closed:
            return
        self._closed = True
        self._hub.discard(self)
        self._wake()

    @property
    def pending(self) -> int:
        """Updates queued and not yet read."""
        return len(self._queue)

    def _put(self, update: DeviceUpdate) -> None:
        if self._closed:
            return
        if len(self._queue) >= self._maxsize:
            dropped = self._queue.popleft()
            self._dropped += 1
            if not self._warned:
                self._warned = True
                _LOGGER.warning(
                    "%s: update consumer is falling behind; dropping oldest updates",
                    redact_id(update.device_id),
                )
            self._hub.report_dropped(dropped)
        self._queue.append(update)
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class UpdateHub:
    """The subscribers of one device.

    Most devices never get a subscriber, so the two lists are made on first use. Streams are
    held by weak references, so that one abandoned by ``break`` without ``close()`` disappears
    with its consumer: a list of them, since iterating a ``WeakSet`` on every publish cost
    1.5 µs against 0.1 µs.
    """

    __slots__ = ("_callbacks", "_on_dropped", "_streams")

    def __init__(self, on_dropped: Callable[[DeviceUpdate], None] | None = None) -> None:
        self._callbacks: list[Callable[[DeviceUpdate], object]] | None = None
        self._streams: list[weakref.ref[UpdateStream]] | None = None
        self._on_dropped = on_dropped

    def __bool__(self) -> bool:
        return bool(self._callbacks) or bool(self._streams)

    def subscribe(self, callback: Callable[[DeviceUpdate], object]) -> Callable[[], None]:
        """Call ``callback(update)`` for every update; returns a function that unsubscribes."""
        if self._callbacks is None:
            self._callbacks = []
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if self._callbacks is not None and callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def stream(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> UpdateStream:
        stream = UpdateStream(self, maxsize)
        if self._streams is None:
            self._streams = []
        self._streams.append(weakref.ref(stream, self._collected))
        return stream

    def discard(self, stream: UpdateStream) -> None:
        if self._streams:
            # Over a copy: a collection meanwhile may drop a dead stream's reference from the list.
            self._streams = [ref for ref in self._streams[:] if ref() not in (stream, None)]

    def _collected(self, gone: weakref.ref[UpdateStream]) -> None:
        if self._streams and gone in self._streams:
            self._streams.remove(gone)

    def publish(self, update: DeviceUpdate) -> None:
        if self._callbacks:
            for callback in list(self._callbacks):
                try:
                    callback(update)
                except Exception:
                    _LOGGER.exception("%s: update callback failed", redact_id(update.device_id))
        if self._streams:
            # A copy: a collection during _put may drop a dead stream's reference from the list.
            for ref in self._streams[:]:
                stream = ref()
                if stream is not None:
                    stream._put(update)

    def report_dropped(self, dropped: DeviceUpdate) -> None:
        """A stream dropped ``dropped`` (its consumer fell behind): tell the owner."""
        if self._on_dropped is not None:
            self._on_dropped(dropped)

    def close(self) -> None:
        """End every stream (callbacks stay: they cost nothing while nothing arrives)."""
        if self._streams:
            for ref in self._streams[:]:
                stream = ref()
                if stream is not None:
                    stream.close()
