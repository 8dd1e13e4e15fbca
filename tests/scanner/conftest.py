"""Fixtures for the scanner tests: loopback only (tests/conftest.py watches every socket),
ports chosen here, nothing left behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.ports import free_udp_ports
from tinytuya_asyncio.scanner import ListenConfig, ProbeTarget
from tinytuya_asyncio.simulator import DiscoveryConfig

BROADCAST = "127.255.255.255"


@pytest.fixture(autouse=True)
async def no_leftover_tasks() -> AsyncIterator[None]:
    yield
    current = asyncio.current_task()
    left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert not left, f"tasks left running: {left}"


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
