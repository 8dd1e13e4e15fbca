"""``address="Auto"``: looked up by broadcast at connect, again after the device moves; held
addresses are never probed by a scan of the same process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.ports import free_udp_ports
from tinytuya_asyncio import DeviceAsync, scan_network
from tinytuya_asyncio.scanner import (
    ListenConfig,
    ProbeTarget,
    ResolverConfig,
    Source,
    set_default_resolver_config,
)
from tinytuya_asyncio.simulator import DiscoveryConfig, SimulatedDevice, Simulator

BROADCAST = "127.255.255.255"


@pytest.fixture
def ports() -> list[int]:
    plain, encrypted, probe, app = free_udp_ports(4)
    listen = ListenConfig(
        bind=("127.0.0.1", BROADCAST), plain_port=plain, encrypted_port=encrypted, app_port=app
    )
    set_default_resolver_config(
        ResolverConfig(listen=listen, probe_targets=(ProbeTarget(BROADCAST, "127.0.0.1"),), probe_port=probe)
    )
    return [plain, encrypted, probe, app]  # tests/conftest.py resets the default afterwards


@pytest.fixture
async def fleet(ports: list[int]) -> AsyncIterator[Simulator]:
    plain, encrypted, probe, app = ports
    async with Simulator(seed=51) as sim:
        await sim.add_many(3, versions="3.3,3.4,3.5", host="127.0.12.1", address_mode="ips")
        await sim.start_discovery(
            DiscoveryConfig(plain_port=plain, encrypted_port=encrypted, probe_port=probe, app_port=app,
                            interval=0.1, silent_until_probed=True)
        )  # fmt: skip
        yield sim


def _auto(sim_device: SimulatedDevice) -> DeviceAsync:
    assert sim_device.port is not None
    return DeviceAsync(
        sim_device.dev_id, "Auto", sim_device.local_key, port=sim_device.port, connection_timeout=5,
        connection_retry_limit=2, connection_retry_delay=0,
    )  # fmt: skip


@pytest.mark.parametrize("address", ["Auto", None, ""])
async def test_auto_finds_the_address_and_the_version(fleet: Simulator, address: str | None) -> None:
    for sim_device in fleet:
        assert sim_device.port is not None
        device = DeviceAsync(sim_device.dev_id, address, sim_device.local_key, port=sim_device.port,
                             connection_timeout=5)  # fmt: skip
        try:
            status = await device.status()
            assert status is not None
            assert status["dps"] == dict(sim_device.dps)
            assert device.address == sim_device.host
            assert device.version == float(sim_device.version)  # the default 3.1 was replaced
        finally:
            await device.close()


async def test_a_device_that_moved_is_found_again(fleet: Simulator) -> None:
    sim_device = fleet.devices[1]
    device = _auto(sim_device)
    try:
        assert "dps" in (await device.status() or {})
        await fleet.move(sim_device, "127.0.12.99")
        # The first connect goes to the old address and is refused; the retry looks again.
        assert "dps" in (await device.status() or {})
        assert device.address == "127.0.12.99"
    finally:
        await device.close()


async def test_an_absent_device_gives_tinytuyas_905(ports: list[int]) -> None:
    device = DeviceAsync("bf00000000000000none", "Auto", "0123456789abcdef", version=3.3,
                         connection_timeout=0.2, connection_retry_limit=1)  # fmt: skip
    try:
        result = await device.status()
    finally:
        await device.close()
    assert result is not None
    assert result["Err"] == "905"


async def test_a_scan_does_not_probe_a_device_this_process_holds(fleet: Simulator) -> None:
    sim_device = fleet.devices[0]
    assert sim_device.host is not None
    assert sim_device.port is not None
    device = DeviceAsync(sim_device.dev_id, sim_device.host, sim_device.local_key, version=sim_device.version,
                         port=sim_device.port, persist=True)  # fmt: skip
    try:
        assert "dps" in (await device.status() or {})
        connections = sim_device.stats.connections
        (record,) = await scan_network(
            f"{sim_device.host}/32",
            30,
            listen=None,
            tcp_port=sim_device.port,
            devices=fleet.devices_file_entries(),
        )
        assert (record.id, record.source, record.version) == (
            sim_device.dev_id,
            Source.HELD,
            sim_device.version,
        )
        assert sim_device.stats.connections == connections
    finally:
        await device.close()
    (record,) = await scan_network(
        f"{sim_device.host}/32",
        30,
        listen=None,
        tcp_port=sim_device.port,
        devices=fleet.devices_file_entries(),
    )
    assert record.source is Source.TCP  # released with the connection
