"""Many devices in one process: generation, addressing, devices file, and 1,000 at once."""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tinytuya_asyncio.simulator import (
    PROFILES,
    SimulatedDevice,
    Simulator,
    parse_versions,
    profile_dps,
    raise_nofile_limit,
)
from tinytuya_asyncio.simulator.fleet import loopback_addresses

from .helpers import tuya_device, tuya_device_from_entry

SCALE = 1000


def _status(dev: SimulatedDevice) -> tuple[SimulatedDevice, Any]:
    client = tuya_device(dev, timeout=5.0)
    try:
        return dev, client.status()
    finally:
        client.close()


def _expected(dev: SimulatedDevice, result: dict[str, Any]) -> dict[str, Any]:
    if dev.device22 and dev.version != "3.2":
        return {"1": dev.dps["1"]}  # tinytuya asks device22 firmware for DP 1 only
    return dev.dps


async def _query_sample(
    devices: list[SimulatedDevice], per_flavour: int
) -> list[tuple[SimulatedDevice, Any]]:
    """tinytuya's status() on ``per_flavour`` devices of every version/device22 mix, in a pool."""
    sample: list[SimulatedDevice] = []
    taken: Counter[tuple[str, bool]] = Counter()
    for dev in devices:
        flavour = (dev.version, dev.device22)
        if taken[flavour] < per_flavour:
            taken[flavour] += 1
            sample.append(dev)
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=16) as pool:
        return await asyncio.gather(*(loop.run_in_executor(pool, _status, dev) for dev in sample))


def _assert_no_leaks(ports: list[tuple[str, int]]) -> None:
    current = asyncio.current_task()
    assert {t for t in asyncio.all_tasks() if t is not current} == set()
    for host, port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))


async def test_a_thousand_mixed_devices_in_one_process() -> None:
    raise_nofile_limit()
    started = time.perf_counter()
    async with Simulator(seed=7) as sim:
        devices = await sim.add_many(SCALE, versions="mixed", device22_share=0.3)
        startup = time.perf_counter() - started
        assert len({d.port for d in devices}) == SCALE
        assert Counter(d.version for d in devices) == dict.fromkeys(parse_versions("mixed"), SCALE // 5)
        results = await _query_sample(devices, per_flavour=6)
        addresses = [(d.host or "", d.port or 0) for d in devices]
    assert {(d.version, d.device22) for d, _ in results} == {
        ("3.1", False),
        ("3.2", True),
        ("3.3", False),
        ("3.3", True),
        ("3.4", False),
        ("3.4", True),
        ("3.5", False),
    }
    for dev, result in results:
        assert result["dps"] == _expected(dev, result), (dev, result)
    assert startup < 10  # measured well under a second; a generous bound for slow CI
    _assert_no_leaks(addresses[:: SCALE // 20])


async def test_one_loopback_address_per_device_on_one_port() -> None:
    first = "127.1.0.254"  # crosses a .255/.0 boundary on the way
    with socket.socket() as finder:
        try:
            finder.bind((first, 0))
        except OSError:
            pytest.skip("this system routes only 127.0.0.1 to loopback")
        port = finder.getsockname()[1]
    async with Simulator(seed=3) as sim:
        devices = await sim.add_many(
            SCALE, versions=["3.3", "3.5"], host=first, port=port, address_mode="ips"
        )
        assert {d.port for d in devices} == {port}
        assert len({d.host for d in devices}) == SCALE
        assert devices[0].host == "127.1.0.254"
        assert devices[1].host == "127.1.1.1"
        results = await _query_sample(devices, per_flavour=5)
        addresses = [(d.host or "", port) for d in devices]
    for dev, result in results:
        assert result["dps"] == dev.dps
    _assert_no_leaks(addresses[:: SCALE // 10])


def _free_port_run(length: int) -> int:
    """A first port such that ``length`` consecutive ports are free on 127.0.0.1 right now."""
    for _ in range(50):
        with socket.socket() as finder:
            finder.bind(("127.0.0.1", 0))
            base = int(finder.getsockname()[1])
        sockets = []
        try:
            for port in range(base, base + length):
                sock = socket.socket()
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    pytest.skip("no run of free ports found")


async def test_consecutive_ports_from_a_first_port() -> None:
    base = _free_port_run(3)
    async with Simulator() as sim:
        devices = await sim.add_many(3, versions="3.3", port=base)
        assert [d.port for d in devices] == [base, base + 1, base + 2]


def test_generation_is_deterministic_for_a_seed() -> None:
    def identities(seed: int) -> list[tuple[str, str]]:
        sim = Simulator(seed=seed)
        return [(d.dev_id, d.local_key) for d in (sim.generate("3.3"), sim.generate("3.4", device22=True))]

    assert identities(5) == identities(5)
    assert identities(5) != identities(6)
    ids = identities(5)
    assert [len(i) for i, _ in ids] == [20, 22]
    assert all(len(k) == 16 for _, k in ids)


async def test_device22_count_and_share() -> None:
    async with Simulator() as sim:
        by_count = await sim.add_many(10, versions="3.3,3.4,3.5", device22_count=2)
        by_share = await sim.add_many(10, versions=["3.2", 3.3], device22_share=0.4)
    assert sum(d.device22 for d in by_count) == 2
    assert all(d.version in ("3.3", "3.4") for d in by_count if d.device22)
    assert sum(d.device22 for d in by_share if d.version == "3.3") == 2
    assert all(d.device22 for d in by_share if d.version == "3.2")


async def test_devices_file_is_tinytuya_format_with_ports(tmp_path: Path) -> None:
    path = tmp_path / "devices.json"
    async with Simulator(seed=11) as sim:
        await sim.add_many(2, versions="3.3,3.5")
        gateway = await sim.add_gateway(children=2, version=3.4)
        sim.write_devices_file(path)
        entries = json.loads(path.read_text())
        assert [e["id"] for e in entries[:3]] == [d.dev_id for d in sim.devices]
        first = entries[0]
        assert {"id", "name", "key", "ip", "version", "port"} <= first.keys()
        assert first["version"] == "3.3"
        children = [e for e in entries if e.get("parent") == gateway.dev_id]
        assert [c["node_id"] for c in children] == list(gateway.children)

        def use_entry() -> Any:
            client = tuya_device_from_entry(first)
            try:
                return client.status()
            finally:
                client.close()

        assert (await asyncio.to_thread(use_entry))["dps"] == sim[first["id"]].dps


async def test_simulator_lookup_and_iteration() -> None:
    async with Simulator() as sim:
        devices = await sim.add_many(3, versions="3.1")
        assert list(sim) == devices
        assert len(sim) == 3
        assert sim[devices[1].dev_id] is devices[1]
        with pytest.raises(KeyError):
            sim["missing"]
    assert not any(d.is_serving for d in devices)


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("mixed", ["3.1", "3.2", "3.3", "3.4", "3.5"]),
        ("3.3,3.5", ["3.3", "3.5"]),
        ([3.4, "v3.1"], ["3.4", "3.1"]),
    ],
)
def test_parse_versions(arg: Any, expected: list[str]) -> None:
    assert parse_versions(arg) == expected


@pytest.mark.parametrize("arg", ["", "3.0", "4"])
def test_parse_versions_refuses_unknown(arg: str) -> None:
    with pytest.raises(Exception):  # noqa: B017 - LocalProtocolError or ValueError
        parse_versions(arg)


def test_loopback_addresses() -> None:
    assert loopback_addresses("127.0.0.254", 3) == ["127.0.0.254", "127.0.1.1", "127.0.1.2"]
    with pytest.raises(ValueError):
        loopback_addresses("10.0.0.1", 1)
    with pytest.raises(ValueError):
        loopback_addresses("127.255.255.250", 10)


async def test_bad_arguments() -> None:
    async with Simulator() as sim:
        with pytest.raises(ValueError):
            await sim.add_many(1, address_mode="nope")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            await sim.add_gateway(children=0)


def test_raise_nofile_limit_raises_the_soft_limit_and_never_lowers_it() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_nofile_limit(16) == soft
    assert raise_nofile_limit() >= soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft - 10, hard))
    try:
        assert raise_nofile_limit(soft - 5) == soft - 5
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft - 5
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_profiles_round_robin() -> None:
    async with Simulator(seed=3) as sim:
        devices = await sim.add_many(5, versions="3.3", profiles=["bulb_b", "cover_8", "dimmer"])
        assert [d.dps for d in devices[:3]] == [
            profile_dps("bulb_b"),
            profile_dps("cover_8"),
            profile_dps("dimmer"),
        ]
        assert devices[3].dps == profile_dps("bulb_b")
        devices[0].dps["20"] = True  # each device has its own copy
        assert devices[3].dps["20"] is False
        assert sim.generate("3.4", profile="cover_1").dps["1"] == "stop"
        with pytest.raises(ValueError, match="unknown profile"):
            sim.generate("3.4", profile="toaster")
        with pytest.raises(ValueError):
            await sim.add_many(1, profiles=[])
    assert sorted(PROFILES) == sorted(
        ["plug", "dimmer", "bulb_a", "bulb_b", "bulb_c", *(f"cover_{n}" for n in range(1, 9))]
    )


async def test_gateway_children_take_profiles_round_robin() -> None:
    async with Simulator(seed=5) as sim:
        plain = await sim.add_gateway(children=2)
        mixed = await sim.add_gateway(children=4, profiles=["plug", "bulb_a", "cover_8"])
        assert list(plain.children.values()) == [{"1": False}, {"1": False}]
        assert list(mixed.children.values()) == [
            profile_dps("plug"),
            profile_dps("bulb_a"),
            profile_dps("cover_8"),
            profile_dps("plug"),
        ]
        first, *_, last = mixed.children.values()
        first["1"] = True  # each child has its own copy
        assert last["1"] is False
        with pytest.raises(ValueError, match="profile"):
            await sim.add_gateway(children=1, profiles=[])
        with pytest.raises(ValueError, match="unknown profile"):
            await sim.add_gateway(children=1, profiles="toaster")
