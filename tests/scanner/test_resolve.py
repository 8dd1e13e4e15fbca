"""Address look-ups for "Auto": one shared listener, a deadline, a cache, a refresh."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DeviceNotFoundError, DeviceOfflineError
from tinytuya_asyncio.scanner import AddressResolver, ProbeTarget, ResolverConfig, resolve_address
from tinytuya_asyncio.simulator import Simulator

from .conftest import BROADCAST, Ports


def _config(ports: Ports) -> ResolverConfig:
    return ResolverConfig(
        listen=ports.listen(), probe_targets=(ProbeTarget(BROADCAST, "127.0.0.1"),), probe_port=ports.probe
    )


@pytest.fixture
async def fleet(ports: Ports) -> AsyncIterator[Simulator]:
    async with Simulator(seed=21) as sim:
        await sim.add_many(100, versions="mixed", host="127.0.7.1", address_mode="ips")
        # 3.5 devices stay silent until the resolver's probe: both paths are needed.
        await sim.start_discovery(ports.simulator(silent_until_probed=True, interval=0.2))
        yield sim


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_a_hundred_lookups_share_one_listener(fleet: Simulator, ports: Ports) -> None:
    config = _config(ports)
    resolver = AddressResolver.for_loop(config)
    fds = _open_fds()
    lookups = [asyncio.create_task(resolve_address(d.dev_id, timeout=10, config=config)) for d in fleet]
    found = await asyncio.gather(*lookups)
    assert [(r.id, r.ip, r.version) for r in found] == [(d.dev_id, d.host, d.version) for d in fleet]
    assert AddressResolver.for_loop(config) is resolver
    assert not resolver.listening  # closed once nobody waits
    assert _open_fds() == fds
    # Cached: answered without opening anything.
    again = await resolve_address(fleet.devices[0].dev_id, timeout=0.01, config=config)
    assert again == found[0]
    assert not resolver.listening


async def test_listener_count_during_lookups(fleet: Simulator, ports: Ports) -> None:
    config = _config(ports)
    resolver = AddressResolver.for_loop(config)
    fds = _open_fds()
    opened: list[int] = []
    original = resolver._start

    async def spy() -> None:
        await original()
        opened.append(_open_fds() - fds)

    resolver._start = spy  # type: ignore[method-assign]
    await asyncio.gather(*(resolver.resolve(d.dev_id, timeout=10) for d in fleet))
    # 3 ports at 2 addresses, and the probe's socket: the same for every one of the 100.
    assert set(opened) == {7}


async def test_an_absent_device_is_not_found_in_time(ports: Ports) -> None:
    with pytest.raises(DeviceNotFoundError) as info:
        await resolve_address("bf00000000000000none", timeout=0.2, config=_config(ports))
    assert isinstance(info.value, DeviceOfflineError)
    assert info.value.err_code == tuya.ERR_OFFLINE == 905
    assert not AddressResolver.for_loop(_config(ports)).listening


async def test_refresh_finds_a_device_that_moved(fleet: Simulator, ports: Ports) -> None:
    config = _config(ports)
    device = fleet.devices[3]
    first = await resolve_address(device.dev_id, timeout=10, config=config)
    await fleet.move(device, "127.0.7.250")
    assert (await resolve_address(device.dev_id, timeout=10, config=config)).ip == first.ip  # cached
    moved = await resolve_address(device.dev_id, timeout=10, refresh=True, config=config)
    assert (moved.ip, moved.version) == ("127.0.7.250", device.version)
