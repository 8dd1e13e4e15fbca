"""The event loops the tests run on, instrumented so a test can see the timers left behind.

The library must work on any asyncio event loop, so the connection, device and simulator
tests run on both the default loop and uvloop (``--loops`` picks). Neither loop exposes its
scheduled timers publicly (uvloop not at all), so both are subclassed to remember the
handles made through ``call_at`` and ``call_later``; :func:`live_timers` lists the ones
still pending.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any

try:
    import uvloop
except ImportError:  # uvloop does not build on every platform
    uvloop = None  # type: ignore[assignment]


class _RecordsTimers:
    """Mixin: notes every timer with the module of the object whose method it calls."""

    def _owners(self) -> weakref.WeakKeyDictionary[asyncio.TimerHandle, str]:
        owners: weakref.WeakKeyDictionary[asyncio.TimerHandle, str] | None = getattr(
            self, "_timer_owners", None
        )
        if owners is None:
            owners = weakref.WeakKeyDictionary()
            self._timer_owners = owners
        return owners

    def _record(self, handle: asyncio.TimerHandle, callback: Callable[..., object]) -> asyncio.TimerHandle:
        # uvloop's handles keep their callback to themselves: note its owner when scheduled.
        self._owners()[handle] = type(getattr(callback, "__self__", None)).__module__
        return handle

    def call_at(self, when: float, callback: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
        return self._record(super().call_at(when, callback, *args, **kwargs), callback)  # type: ignore[misc]

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
        return self._record(super().call_later(delay, callback, *args, **kwargs), callback)  # type: ignore[misc]


class RecordingLoop(_RecordsTimers, asyncio.SelectorEventLoop):  # type: ignore[misc]
    """The default asyncio loop, remembering its timers."""


LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {"asyncio": RecordingLoop}

if uvloop is not None:
    # uvloop.Loop narrows many AbstractEventLoop signatures: nothing of ours to fix.
    class RecordingUVLoop(_RecordsTimers, uvloop.Loop):  # type: ignore[misc]
        """uvloop, remembering its timers."""

    LOOP_FACTORIES["uvloop"] = RecordingUVLoop


def live_timers(module_prefix: str = "tinytuya_asyncio") -> list[asyncio.TimerHandle]:
    """Pending timers of the running loop whose callback is a method of ``module_prefix``'s objects."""
    loop = asyncio.get_running_loop()
    assert isinstance(loop, _RecordsTimers), "run the test on one of tests.loops.LOOP_FACTORIES"
    now = loop.time()
    return [
        handle
        for handle, owner in list(loop._owners().items())
        if owner.startswith(module_prefix) and not handle.cancelled() and handle.when() >= now
    ]
