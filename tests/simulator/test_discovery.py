"""UDP discovery on loopback: announcements decode with tinytuya, 3.5 devices answer probes."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import tinytuya

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.simulator import DiscoveryConfig, Simulator
from tinytuya_asyncio.simulator.discovery import decode_probe, require_loopback

LOOPBACK = "127.0.0.1"


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr))

    async def get(self, timeout: float = 2.0) -> tuple[bytes, tuple[str, int]]:
        return await asyncio.wait_for(self.queue.get(), timeout)


class _Socket:
    def __init__(self, transport: asyncio.DatagramTransport, inbox: _Inbox) -> None:
        self.transport = transport
        self.inbox = inbox

    @property
    def port(self) -> int:
        return int(self.transport.get_extra_info("sockname")[1])


@pytest.fixture
async def udp() -> AsyncIterator[Any]:
    """Factory of UDP sockets on 127.0.0.1 (ephemeral ports), closed afterwards."""
    opened: list[asyncio.DatagramTransport] = []

    async def bind() -> _Socket:
        transport, inbox = await asyncio.get_running_loop().create_datagram_endpoint(
            _Inbox, local_addr=(LOOPBACK, 0)
        )
        opened.append(transport)
        return _Socket(transport, inbox)

    yield bind
    for transport in opened:
        transport.close()


def _probe(key: bytes = tuya.UDP_KEY, cmd: int = tuya.REQ_DEVINFO) -> bytes:
    body = json.dumps({"from": "app", "ip": LOOPBACK}).encode()
    return tuya.pack_message(0, cmd, body, prefix=tuya.PREFIX_6699, key=key, iv=os.urandom(12))


async def test_announcements_decode_with_tinytuya(udp: Any) -> None:
    plain, encrypted = await udp(), await udp()
    async with Simulator(seed=2) as sim:
        devices = await sim.add_many(5, versions="mixed")
        discovery = await sim.start_discovery(
            DiscoveryConfig(
                plain_port=plain.port, encrypted_port=encrypted.port, probe_port=None, interval=0.05
            )
        )
        heard: dict[str, list[bytes]] = {}
        # Two rounds (announcements repeat every interval): one 3.1 device on the plain
        # port, four devices on the encrypted one.
        for sock, count in ((plain, 2), (encrypted, 8)):
            for _ in range(count):
                data, _ = await sock.inbox.get()
                info = json.loads(tinytuya.decrypt_udp(data))
                heard.setdefault(info["gwId"], []).append(data)
                dev = sim[info["gwId"]]
                assert sock is (plain if dev.version == "3.1" else encrypted)
                assert info["ip"] == dev.host
                assert info["port"] == dev.port
                assert info["version"] == dev.version
                assert info["productKey"] == dev.product_key
                assert info["encrypt"] is (dev.version != "3.1")
        assert sorted(len(v) for v in heard.values()) == [2] * 5
        assert discovery.sent >= 10
    by_version = {sim_dev.version: heard[sim_dev.dev_id][0] for sim_dev in devices}
    assert by_version["3.5"][:4] == tuya.PREFIX_6699_BIN
    assert all(by_version[v][:4] == tuya.PREFIX_55AA_BIN for v in ("3.1", "3.2", "3.3", "3.4"))
    assert b"gwId" in by_version["3.1"]  # 3.1 announces in clear...
    assert b"gwId" not in by_version["3.3"]  # ...the others do not


async def test_3_5_devices_answer_probes_by_unicast(udp: Any) -> None:
    app = await udp()
    async with Simulator(seed=4) as sim:
        devices = await sim.add_many(4, versions="3.3,3.5")
        discovery = await sim.start_discovery(DiscoveryConfig(probe_port=0, announce=False))
        assert discovery.probe_port
        target = (LOOPBACK, discovery.probe_port)
        # Junk, a probe under the wrong key and a different command are ignored...
        app.transport.sendto(os.urandom(64), target)
        app.transport.sendto(_probe(key=b"k" * 16), target)
        app.transport.sendto(_probe(cmd=tuya.HEART_BEAT), target)
        # ...a real probe gets one answer per 3.5 device, sent back to the prober.
        app.transport.sendto(_probe(), target)
        answers = [json.loads(tinytuya.decrypt_udp((await app.inbox.get())[0])) for _ in range(2)]
        assert sorted(a["gwId"] for a in answers) == sorted(d.dev_id for d in devices if d.version == "3.5")
        assert discovery.probes_answered == 2
    assert app.inbox.queue.empty()


def test_decode_probe_is_strict() -> None:
    assert decode_probe(_probe()) == {"from": "app", "ip": LOOPBACK}
    assert decode_probe(_probe(key=b"k" * 16)) is None
    assert decode_probe(_probe() * 2) is None
    assert decode_probe(b"\x00" * 5000) is None
    assert decode_probe(b"") is None


@pytest.mark.parametrize("address", ["0.0.0.0", "localhost", "not an address"])
def test_discovery_never_leaves_loopback(address: str) -> None:
    with pytest.raises(ValueError):
        require_loopback(address)
    with pytest.raises(ValueError):
        DiscoveryConfig(address=address)


def test_loopback_broadcast_and_ipv6_loopback_are_allowed() -> None:
    assert DiscoveryConfig(address="127.255.255.255").address == "127.255.255.255"
    assert require_loopback("::1") == "::1"
    with pytest.raises(ValueError):
        DiscoveryConfig(interval=0)


async def test_discovery_stop_is_idempotent_and_leaves_nothing(udp: Any) -> None:
    sock = await udp()
    tasks_before = asyncio.all_tasks()
    async with Simulator() as sim:
        await sim.add_many(1, versions="3.3")
        discovery = await sim.start_discovery(
            DiscoveryConfig(encrypted_port=sock.port, probe_port=0, interval=0.05)
        )
        await sock.inbox.get()
        with pytest.raises(RuntimeError):
            await sim.start_discovery()
    await discovery.stop()
    assert discovery.announce() == 0
    assert asyncio.all_tasks() == tasks_before


async def test_large_fleets_announce_in_batches(udp: Any) -> None:
    sock = await udp()
    async with Simulator() as sim:
        devices = await sim.add_many(250, versions="3.3")
        await sim.start_discovery(DiscoveryConfig(encrypted_port=sock.port, probe_port=None, interval=30))
        heard = {json.loads(tinytuya.decrypt_udp((await sock.inbox.get())[0]))["gwId"] for _ in range(250)}
    assert heard == {d.dev_id for d in devices}
