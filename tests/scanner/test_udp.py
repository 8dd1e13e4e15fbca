"""The scanner's UDP side against the simulator broadcasting on loopback (ports chosen here)."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest

from tinytuya_asyncio.exceptions import ConnectError
from tinytuya_asyncio.protocol import encode_announcement
from tinytuya_asyncio.scanner import DiscoveredDevice, DiscoveryListener, Scanner, Source
from tinytuya_asyncio.scanner.udp import ListenConfig
from tinytuya_asyncio.simulator import Simulator

from .conftest import Ports

DEADLINE = 5.0


async def _collect(scanner: Scanner, count: int) -> list[DiscoveredDevice]:
    found: list[DiscoveredDevice] = []
    async with asyncio.timeout(DEADLINE):
        async for record in scanner:
            found.append(record)
            if len(found) == count:
                return found
    return found


@pytest.fixture
async def fleet() -> AsyncIterator[Simulator]:
    async with Simulator(seed=11) as sim:
        await sim.add_many(10, versions="mixed", host="127.0.6.1", address_mode="ips")
        yield sim


async def test_announcements_and_probe_answers_are_reported_once(fleet: Simulator, ports: Ports) -> None:
    discovery = await fleet.start_discovery(ports.simulator(silent_until_probed=True))
    entries = fleet.devices_file_entries()
    async with Scanner(devices=entries, **ports.scanner()) as scanner:
        # The scanner probed at the start: the silent 3.5 devices answer that probe.
        discovery.announce()
        discovery.announce()  # a second round: duplicates, folded
        found = await _collect(scanner, 10)
        assert scanner.stats.probes_sent == 1
    assert {r.id for r in found} == {d.dev_id for d in fleet}
    for record in found:
        device = fleet[record.id]
        assert (record.ip, record.version, record.port) == (device.host, device.version, device.port)
        assert record.product_key == device.product_key
        assert record.source is (Source.PROBE if device.version == "3.5" else Source.BROADCAST)
        assert (record.name, record.key) == (device.name, device.local_key)
        assert device.local_key not in repr(record)
    assert len(found) == 10  # two rounds were sent before reading: no device came twice
    assert scanner.stats.datagrams == len(scanner.found) + scanner.stats.duplicates
    assert discovery.probes_answered == 2


async def test_a_device_that_moves_is_reported_at_its_new_address(fleet: Simulator, ports: Ports) -> None:
    discovery = await fleet.start_discovery(ports.simulator())
    async with Scanner(**ports.scanner()) as scanner:
        discovery.announce()
        await _collect(scanner, 10)
        moved = fleet.devices[2]
        await fleet.move(moved, "127.0.6.200")
        discovery.announce()
        (record,) = await _collect(scanner, 1)
    assert (record.id, record.ip) == (moved.dev_id, "127.0.6.200")
    assert scanner.found[moved.dev_id].ip == "127.0.6.200"


async def test_bad_datagrams_are_counted_and_dropped(ports: Ports) -> None:
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    try:
        async with Scanner(listen=ports.listen(), probe_targets=[]) as scanner:
            good = encode_announcement({"gwId": "bf0123456789abcdefgh", "version": "3.3"}, "3.3")
            target = ("127.0.0.1", ports.encrypted)
            sender.sendto(b"\x00" * 5000, target)  # oversize
            sender.sendto(good[:-3], target)  # truncated
            sender.sendto(os.urandom(48), target)  # undecodable
            broken = bytearray(good)
            broken[-6] ^= 1
            sender.sendto(bytes(broken), target)  # integrity
            sender.sendto(encode_announcement({"no": "id"}, "3.3"), target)  # names no device
            sender.sendto(good, target)
            sender.sendto(good, target)  # a duplicate
            other = {"gwId": "bf0123456789abcdef00", "version": "3.4"}
            sender.sendto(encode_announcement(other, "3.4"), target)
            first, second = await _collect(scanner, 2)
    finally:
        sender.close()
    assert (first.id, first.ip, first.version) == ("bf0123456789abcdefgh", "127.0.0.1", "3.3")
    assert (second.id, second.version, second.source) == ("bf0123456789abcdef00", "3.4", Source.BROADCAST)
    # Everything arrived before the last one (one socket, in order).
    assert scanner.stats.duplicates == 1
    assert dict(scanner.stats.dropped) == {"oversize": 1, "truncated": 1, "undecodable": 1, "integrity": 1}
    assert scanner.stats.invalid == 1


async def test_scanners_of_one_loop_share_one_listener(ports: Ports) -> None:
    config = ports.listen()
    first = await DiscoveryListener.acquire(config)
    second = await DiscoveryListener.acquire(config)
    assert first is second
    unicast_only = ListenConfig(
        bind=("127.0.0.1",), plain_port=ports.plain, encrypted_port=ports.encrypted, app_port=ports.app
    )
    other = await DiscoveryListener.acquire(unicast_only)
    assert other is not first
    await first.release()
    assert second.is_open
    await second.release()
    await other.release()
    assert not first.is_open
    third = await DiscoveryListener.acquire(config)
    assert third is not first
    assert third.is_open
    await third.release()


async def test_a_port_in_use_without_reuse_is_a_clear_error(ports: Ports) -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", ports.plain))  # no SO_REUSEADDR/PORT: nobody may share it
    try:
        with pytest.raises(ConnectError, match=f"127.0.0.1:{ports.plain}"):
            async with Scanner(listen=ports.listen(), probe_targets=[]):
                pass
    finally:
        blocker.close()
