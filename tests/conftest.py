"""Suite-wide test configuration."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from fuzz.outcomes import ErrorLog
from tests.loops import LOOP_FACTORIES
from tests.ports import free_udp_ports
from tinytuya_asyncio.scanner import ListenConfig, ResolverConfig, set_default_resolver_config

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
_EVERY_LOOP = frozenset({"connection", "devices", "fleet", "metrics", "simulator"})


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


# -- loopback only -------------------------------------------------------------------------
# Every socket operation of the tests is watched (a Python audit hook, on the default event
# loop): binding, connecting or sending to anything but a loopback address fails the test, so
# a default meant for real networks (port 6666 on every interface, probes to the interfaces'
# broadcast addresses) can never slip into a test unnoticed.

_watching: list[list[str]] = []
_hook: list[bool] = []  # installed once per process (audit hooks cannot be removed)


def _loopback(host: object) -> bool:
    try:
        return isinstance(host, str) and ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _watching or event not in ("socket.bind", "socket.connect", "socket.sendto"):
        return
    address = args[1]
    if isinstance(address, tuple) and address and not _loopback(address[0]):
        _watching[-1].append(f"{event} {address!r}")


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    """Fail a test that touches a non-loopback address; "Auto" look-ups stay on loopback."""
    if not _hook:
        sys.addaudithook(_audit)
        _hook.append(True)
    plain, encrypted, app = free_udp_ports(3)
    listen = ListenConfig(bind=("127.0.0.1",), plain_port=plain, encrypted_port=encrypted, app_port=app)
    set_default_resolver_config(ResolverConfig(listen=listen, probe_targets=()))
    violations: list[str] = []
    _watching.append(violations)
    try:
        yield
    finally:
        _watching.remove(violations)
        set_default_resolver_config(None)
    assert not violations, f"non-loopback socket use: {violations}"


@pytest.fixture
def errors() -> Iterator[ErrorLog]:
    """What the package and asyncio log at ERROR while a fuzz test runs (the fuzz harness's log)."""
    log = ErrorLog()
    log.watch()
    yield log
    log.unwatch()
