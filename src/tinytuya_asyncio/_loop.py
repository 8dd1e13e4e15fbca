"""The event loop the command line and the demo run on: uvloop when it is installed.

The library itself never picks or installs a loop (applications choose); the programs this
package ships are applications, and run faster on uvloop (``pip install
'tinytuya-asyncio[speed]'``). They work the same on the default loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory if uvloop is installed, else ``None`` (asyncio's default)."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]  # noqa: PLC0415 - optional
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on :func:`loop_factory`'s loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)
