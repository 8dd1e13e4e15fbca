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
BROADCAST = "127.255.255.255"


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
    """Factory of UDP sockets on loopback (ephemeral ports by default), closed afterwards."""
    opened: list[asyncio.DatagramTransport] = []

    async def bind(address: str = LOOPBACK, port: int = 0) -> _Socket:
        transport, inbox = await asyncio.get_running_loop().create_datagram_endpoint(
            _Inbox, local_addr=(address, port), reuse_port=True, allow_broadcast=True
        )
        opened.append(transport)
        return _Socket(transport, inbox)

    yield bind
    for transport in opened:
        transport.close()


def _probe(key: bytes = tuya.UDP_KEY, cmd: int = tuya.REQ_DEVINFO, ip: str = LOOPBACK) -> bytes:
    body = json.dumps({"from": "app", "ip": ip}).encode()
    return tuya.pack_message(0, cmd, body, prefix=tuya.PREFIX_6699, key=key, iv=os.urandom(12))


async def test_announcements_are_broadcast_and_decode_with_tinytuya(udp: Any) -> None:
    # Listeners bound to the loopback broadcast address, as a scanner bound to "" hears a LAN's.
    plain, encrypted = await udp(BROADCAST), await udp(BROADCAST)
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


async def test_each_device_sends_from_its_own_address(udp: Any) -> None:
    sock = await udp(BROADCAST)
    async with Simulator(seed=3) as sim:
        devices = await sim.add_many(6, versions="3.3,3.4,3.5", host="127.0.3.1", address_mode="ips")
        discovery = await sim.start_discovery(
            DiscoveryConfig(encrypted_port=sock.port, probe_port=None, announce=False)
        )
        assert discovery.announce() == 6
        senders = {}
        for _ in range(6):
            data, addr = await sock.inbox.get()
            senders[json.loads(tinytuya.decrypt_udp(data))["gwId"]] = addr[0]
        assert senders == {d.dev_id: d.host for d in devices}
        # A device given a new address announces from there.
        moved = devices[0]
        await sim.move(moved, "127.0.3.200")
        assert discovery.announce() == 6
        moved_from = [
            addr[0]
            for data, addr in [await sock.inbox.get() for _ in range(6)]
            if json.loads(tinytuya.decrypt_udp(data))["gwId"] == moved.dev_id
        ]
        assert moved_from == ["127.0.3.200"]


async def test_3_5_devices_answer_probes_on_the_app_port(udp: Any) -> None:
    app = await udp()  # the app's port: where answers must go, whoever sent the probe
    prober = await udp()
    async with Simulator(seed=4) as sim:
        devices = await sim.add_many(4, versions="3.3,3.5", host="127.0.4.1", address_mode="ips")
        discovery = await sim.start_discovery(
            DiscoveryConfig(probe_port=0, app_port=app.port, announce=False)
        )
        assert discovery.probe_port
        broadcast = (BROADCAST, discovery.probe_port)
        # Junk, a probe under the wrong key and a different command are ignored...
        prober.transport.sendto(os.urandom(64), broadcast)
        prober.transport.sendto(_probe(key=b"k" * 16), broadcast)
        prober.transport.sendto(_probe(cmd=tuya.HEART_BEAT), broadcast)
        # ...and a probe whose reply address is not on this host is never answered.
        prober.transport.sendto(_probe(ip="192.0.2.1"), broadcast)
        # A broadcast probe gets one answer per 3.5 device, unicast to the app port, each
        # from the device's own address.
        prober.transport.sendto(_probe(), broadcast)
        fives = {d.dev_id: d.host for d in devices if d.version == "3.5"}
        answers = {}
        for _ in range(2):
            data, addr = await app.inbox.get()
            answers[json.loads(tinytuya.decrypt_udp(data))["gwId"]] = addr[0]
        assert answers == fives
        # A unicast probe to one device's address is answered by that device alone.
        one = next(d for d in devices if d.version == "3.5")
        assert one.host is not None
        prober.transport.sendto(_probe(), (one.host, discovery.probe_port))
        data, addr = await app.inbox.get()
        assert (json.loads(tinytuya.decrypt_udp(data))["gwId"], addr[0]) == (one.dev_id, one.host)
        assert discovery.probes_answered == 3
        assert discovery.probes_refused == 1
    assert prober.inbox.queue.empty()  # nothing went back to the probe's source port
    assert app.inbox.queue.empty()


async def test_silent_until_probed(udp: Any) -> None:
    encrypted, app, prober = await udp(BROADCAST), await udp(), await udp()
    async with Simulator(seed=5) as sim:
        devices = await sim.add_many(2, versions="3.4,3.5")
        discovery = await sim.start_discovery(
            DiscoveryConfig(
                encrypted_port=encrypted.port,
                probe_port=0,
                app_port=app.port,
                announce=False,
                silent_until_probed=True,
            )
        )
        assert discovery.announce() == 1  # the 3.4 device only
        data, _ = await encrypted.inbox.get()
        assert json.loads(tinytuya.decrypt_udp(data))["gwId"] == devices[0].dev_id
        assert discovery.probe_port
        prober.transport.sendto(_probe(), (BROADCAST, discovery.probe_port))
        data, _ = await app.inbox.get()
        assert json.loads(tinytuya.decrypt_udp(data))["gwId"] == devices[1].dev_id
    assert encrypted.inbox.queue.empty()


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
    with pytest.raises(ValueError):
        DiscoveryConfig(probe_broadcast=address)


def test_loopback_broadcast_and_ipv6_loopback_are_allowed() -> None:
    assert DiscoveryConfig().address == "127.255.255.255"
    assert DiscoveryConfig(address="127.0.0.1").address == "127.0.0.1"
    assert require_loopback("::1") == "::1"
    with pytest.raises(ValueError):
        DiscoveryConfig(interval=0)


async def test_discovery_stop_is_idempotent_and_leaves_nothing(udp: Any) -> None:
    sock = await udp()
    tasks_before = asyncio.all_tasks()
    async with Simulator() as sim:
        await sim.add_many(1, versions="3.3")
        discovery = await sim.start_discovery(
            DiscoveryConfig(address=LOOPBACK, encrypted_port=sock.port, probe_port=0, interval=0.05)
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
        await sim.start_discovery(
            DiscoveryConfig(address=LOOPBACK, encrypted_port=sock.port, probe_port=None, interval=30)
        )
        heard = {json.loads(tinytuya.decrypt_udp((await sock.inbox.get())[0]))["gwId"] for _ in range(250)}
    assert heard == {d.dev_id for d in devices}
