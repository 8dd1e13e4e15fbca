"""Fixtures for the scanner tests: loopback only, ports chosen here, nothing left behind.

Every socket operation of these tests is watched (a Python audit hook): binding, connecting
or sending to anything but a loopback address fails the test, so a default (the machine's
interfaces, port 6666 on every interface) can never slip into a test unnoticed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tinytuya_asyncio.scanner import ListenConfig, ProbeTarget
from tinytuya_asyncio.simulator import DiscoveryConfig

BROADCAST = "127.255.255.255"
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
    if not _hook:
        sys.addaudithook(_audit)
        _hook.append(True)
    violations: list[str] = []
    _watching.append(violations)
    try:
        yield
    finally:
        _watching.remove(violations)
    assert not violations, f"non-loopback socket use: {violations}"


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    yield
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not left, f"tasks left running: {left}"


def free_udp_ports(count: int) -> list[int]:
    """Distinct UDP ports free on loopback right now (the test binds them at once after)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def free_tcp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Ports:
    """One test's discovery ports: announcements, the devices' probe port, the app port."""

    plain: int
    encrypted: int
    probe: int
    app: int

    def simulator(self, **kwargs: Any) -> DiscoveryConfig:
        kwargs.setdefault("interval", 30)
        return DiscoveryConfig(
            plain_port=self.plain, encrypted_port=self.encrypted, probe_port=self.probe, app_port=self.app,
            **kwargs,
        )  # fmt: skip

    def listen(self) -> ListenConfig:
        # Broadcasts arrive at the broadcast address, probe answers at the unicast one.
        return ListenConfig(
            bind=("127.0.0.1", BROADCAST),
            plain_port=self.plain,
            encrypted_port=self.encrypted,
            app_port=self.app,
        )

    def scanner(self) -> dict[str, Any]:
        """Keyword arguments for a Scanner that listens and probes on these ports."""
        return {
            "listen": self.listen(),
            "probe_targets": [ProbeTarget(BROADCAST, "127.0.0.1")],
            "probe_port": self.probe,
        }


@pytest.fixture
def ports() -> Ports:
    return Ports(*free_udp_ports(4))


def without(entries: list[dict[str, Any]], *fields: str) -> list[dict[str, Any]]:
    """Devices-file entries without some fields (as a file written before the devices moved)."""
    return [{k: v for k, v in e.items() if k not in fields} for e in entries]
