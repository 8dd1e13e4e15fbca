"""Suite-wide test configuration."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.loops import LOOP_FACTORIES

# Property tests run on every `make test`: no per-example deadline (CI machines stall), and
# few enough examples to keep the protocol suite quick. HYPOTHESIS_PROFILE=thorough digs deeper.
settings.register_profile(
    "fast", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

#: Test folders whose async tests run on every event loop: whatever touches sockets and timers.
_EVERY_LOOP = frozenset({"connection", "devices", "simulator"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--loops",
        default=",".join(LOOP_FACTORIES),
        help=f"event loops for the I/O tests, comma separated (default: {','.join(LOOP_FACTORIES)})",
    )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    folder = Path(str(item.path)).parent.name
    if folder not in _EVERY_LOOP:
        return {"asyncio": LOOP_FACTORIES["asyncio"]}
    names = [name.strip() for name in str(config.getoption("--loops")).split(",") if name.strip()]
    unknown = [name for name in names if name not in LOOP_FACTORIES]
    if unknown or not names:
        raise pytest.UsageError(f"--loops: unknown or unavailable {unknown}; have {list(LOOP_FACTORIES)}")
    return {name: LOOP_FACTORIES[name] for name in names}
