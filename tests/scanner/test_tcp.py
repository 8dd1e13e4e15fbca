"""TCP probing of loopback ranges: identification by key and version, held addresses, limits."""

from __future__ import annotations

import asyncio
import ipaddress
import os
from typing import Any

import pytest

from tests.ports import free_tcp_port
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.scanner import Scanner, Source, expand_targets, local_networks, scan_network
from tinytuya_asyncio.scanner.held import hold, release
from tinytuya_asyncio.simulator import Faults, Simulator

from .conftest import without

#: Loopback is fast: short deadlines keep a failing test short too.
FAST: dict[str, Any] = {"connect_timeout": 2.0, "reply_timeout": 1.0}


def _block() -> int:
    """A third octet of our own, so parallel test processes use different 127.0.x.0/24 ranges."""
    return 10 + os.getpid() % 200


async def test_a_254_address_range_with_100_devices_of_every_version() -> None:
    block = _block()
    first = f"127.{block}.0.1"
    port = free_tcp_port(first)
    async with Simulator(seed=7) as sim:
        # 100 devices among the 254 addresses of the /24, each at its own address.
        await sim.add_many(
            100, versions="mixed", host=first, address_mode="ips", port=port, device22_share=0.3
        )
        # The file knows ids, names, keys and versions, but not where the devices are now.
        entries = without(sim.devices_file_entries(), "ip", "port")
        found = await scan_network(
            f"127.{block}.0.0/24", 60, devices=entries, listen=None, tcp_port=port, **FAST
        )
    assert len(found) == 100
    for record in found:
        device = sim[record.id]
        assert (record.ip, record.version, record.source) == (device.host, device.version, Source.TCP)
        assert (record.name, record.key) == (device.name, device.local_key)


async def test_identification_needs_nothing_but_keys() -> None:
    block = _block()
    first = f"127.{block}.1.1"
    port = free_tcp_port(first)
    async with Simulator(seed=8) as sim:
        await sim.add_many(10, versions="mixed", host=first, address_mode="ips", port=port, device22_count=1)
        strangers = await sim.add_many(2, versions="3.3,3.4", host=f"127.{block}.1.100", address_mode="ips",
                                       port=port)  # fmt: skip
        # Only ids, names and keys: version and address must come from the devices themselves.
        entries = without(sim.devices_file_entries(), "ip", "port", "version")
        entries = [e for e in entries if e["id"] not in {s.dev_id for s in strangers}]
        found = await scan_network(
            f"127.{block}.1.0/24", 60, devices=entries, listen=None, tcp_port=port, **FAST
        )
    by_ip = {r.ip: r for r in found}
    assert len(found) == 12
    for device in sim:
        record = by_ip[str(device.host)]
        if device in strangers:
            # Answering, but with no key in the file: reported without an id.
            assert (record.id, record.name, record.key) == ("", None, None)
            assert record.version == ("3.3" if device.version == "3.3" else "")
        else:
            assert (record.id, record.version) == (device.dev_id, device.version)


async def test_held_addresses_are_reported_not_probed() -> None:
    block = _block()
    first = f"127.{block}.2.1"
    port = free_tcp_port(first)
    async with Simulator(seed=9) as sim:
        devices = await sim.add_many(2, versions="3.4", host=first, address_mode="ips", port=port)
        entries = sim.devices_file_entries()
        held = devices[0]
        assert held.host is not None
        hold(held.host, port, dev_id=held.dev_id, version="3.4")
        try:
            found = await scan_network(
                [str(d.host) for d in devices], 30, devices=entries, listen=None, tcp_port=port, **FAST
            )
        finally:
            release(held.host, port)
        assert held.stats.connections == 0  # never connected to
        assert devices[1].stats.connections == 2  # the keyless query, then one handshake
    assert {(r.id, r.source) for r in found} == {(held.dev_id, Source.HELD), (devices[1].dev_id, Source.TCP)}
    assert next(r for r in found if r.source is Source.HELD).name == held.name


async def test_a_range_is_probed_concurrently_within_the_limit() -> None:
    block = _block()
    first = f"127.{block}.3.1"
    port = free_tcp_port(first)
    async with Simulator(seed=10) as sim:
        devices = await sim.add_many(6, versions="3.3", host=first, address_mode="ips", port=port)
        for device in devices:
            device.faults = Faults(reply_delay=0.3)
        entries = sim.devices_file_entries()
        async with Scanner(devices=entries, listen=None, tcp_port=port, concurrency=3, **FAST) as scanner:
            run = scanner.sweep([str(d.host) for d in devices])
            assert len(scanner._workers) == 3  # the limit, not one task per address
            async with asyncio.timeout(30):
                await run.done
        assert (run.total, run.completed, run.found) == (6, 6, 6)
        assert max(d.stats.connections for d in devices) >= 1


class _SilentDevices:
    """TCP listeners that accept and never answer; ``waiting`` is set once ``count`` connected."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.connected = 0
        self.waiting = asyncio.Event()
        self.streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.streams.append((reader, writer))
        self.connected += 1
        if self.connected >= self.count:
            self.waiting.set()


async def test_cancelling_a_scan_cancels_every_probe_and_closes_every_socket() -> None:
    block = _block()
    hosts = [f"127.{block}.4.{n}" for n in range(1, 21)]
    port = free_tcp_port(hosts[0])
    silent = _SilentDevices(len(hosts))
    servers = [await asyncio.start_server(silent.accept, host, port) for host in hosts]
    try:
        fds_before = _open_fds()
        scanner = Scanner(devices=[{"id": "x" * 20, "key": "k" * 16}], listen=None, tcp_port=port,
                          connect_timeout=30, reply_timeout=30)  # fmt: skip
        await scanner.start()
        run = scanner.sweep(hosts)
        async with asyncio.timeout(10):
            await silent.waiting.wait()  # every probe is connected and waiting for an answer
        assert _open_fds() >= fds_before + len(hosts)
        await scanner.close()
        assert run.done.cancelled()
        assert not scanner._workers
        assert _open_fds() == fds_before + len(hosts)  # only the listeners' accepted ends remain
        for reader, _ in silent.streams:
            # The probe sent its keyless query, then closed: the device side reads to EOF.
            async with asyncio.timeout(5):
                while await reader.read(4096):
                    pass
    finally:
        for _, writer in silent.streams:
            writer.close()
        for server in servers:
            server.close()
            await server.wait_closed()


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_expand_targets() -> None:
    assert expand_targets("127.0.0.0/30") == ["127.0.0.1", "127.0.0.2"]
    assert expand_targets(["127.0.0.9", "127.0.0.9/32", ipaddress.IPv4Network("127.0.0.8/31")]) == [
        "127.0.0.9",
        "127.0.0.8",
    ]
    assert len(expand_targets("127.1.0.0/16")) == 65534
    for bad in ("127.0.0.0/8", "not an address", ["127.0.0.1", "x"]):
        with pytest.raises(LocalProtocolError):
            expand_targets(bad)


def test_local_networks_are_real_and_never_loopback() -> None:
    for network in local_networks():  # read only: nothing is sent
        assert not network.is_loopback
        assert network.prefixlen >= 22
