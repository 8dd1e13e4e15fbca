"""Fixtures for the scanner tests: loopback only (tests/conftest.py watches every socket),
ports chosen here, nothing left behind."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tinytuya_asyncio.scanner import ListenConfig, ProbeTarget
from tinytuya_asyncio.simulator import DiscoveryConfig

BROADCAST = "127.255.255.255"


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
