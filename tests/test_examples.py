"""The examples run as written (against the simulator when no device is given)."""

from __future__ import annotations

import asyncio
import importlib
import sys
from pathlib import Path

import pytest

from tinytuya_asyncio.simulator import Simulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))


async def test_status(capsys: pytest.CaptureFixture[str]) -> None:
    status = importlib.import_module("status")
    assert await status.main([]) == 0  # as a user runs it first: no device, a simulated 3.3 one
    out = capsys.readouterr().out
    assert "using a simulated 3.3 device" in out
    assert "status: {'devId': 'bf00example0000000000', 'dps': {'1': False" in out
    assert await status.main(["--version", "3.4"]) == 0
    out = capsys.readouterr().out
    assert "status: {'dps': {'1': False" in out
    assert "after toggling switch 1: {'protocol': 4" in out
    assert "'dps': {'1': True}" in out


def test_half_a_real_device_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    status = importlib.import_module("status")
    with pytest.raises(SystemExit, match="--id, --ip and --key together"):
        asyncio.run(status.main(["--id", "bf0123456789abcdefgh", "--ip", "127.0.0.1"]))
    assert "simulated" not in capsys.readouterr().out


async def test_push_updates(capsys: pytest.CaptureFixture[str]) -> None:
    push_updates = importlib.import_module("push_updates")
    assert await push_updates.main(["--version", "3.5", "--seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert out.count("push: changed") == 3
    assert "connection: connected" in out
    assert "connection: closed" in out


async def test_many_devices(capsys: pytest.CaptureFixture[str]) -> None:
    many = importlib.import_module("many_devices")
    assert await many.main(["--count", "12", "--seconds", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "12 devices in" in out  # 9 plugs, a hub and its 2 children, from a devices.json
    assert "0 failed" in out
    assert "push from sim" in out
    assert "many_devices" in sys.modules


async def test_prometheus_exporter(capsys: pytest.CaptureFixture[str]) -> None:
    exporter = importlib.import_module("prometheus_exporter")
    assert exporter.CLIENT is not None  # the dev extra has it
    assert await exporter.main([]) == 0
    out = capsys.readouterr().out
    assert "# TYPE tuya_requests_total counter" in out
    lines = [line for line in out.splitlines() if line.startswith("tuya_requests_total{")]
    assert len(lines) == 6  # one series per device, labelled with its full id
    assert all(line.endswith(" 1.0") for line in lines)
    assert 'tuya_bytes_received_total{device="sim' in out


async def test_prometheus_exporter_without_the_client(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = importlib.import_module("prometheus_exporter")
    monkeypatch.setattr(exporter, "CLIENT", None)
    assert await exporter.main([]) == 0
    out = capsys.readouterr().out
    assert "prometheus_client is not installed" in out
    assert '"requests": 6' in out


@pytest.mark.parametrize("bulb_type", ["A", "B", "C"])
async def test_bulb_effects(bulb_type: str, capsys: pytest.CaptureFixture[str]) -> None:
    effects = importlib.import_module("bulb_effects")
    argv = ["--version", "3.4", "--steps", "4", "--delay", "0", "--simulated-type", bulb_type]
    assert await effects.main(argv) == 0
    out = capsys.readouterr().out
    assert f"bulb type {bulb_type}" in out
    if bulb_type == "C":  # white only: no colours, no scenes
        assert "hue" not in out
        assert "scene" not in out
    else:
        assert "hue 0.00: rgb (255, 0, 0)" in out
        assert "hue 0.50: rgb (0, 255, 255)" in out
        assert out.count("scene ") == 4
        assert ("mode scene_4" if bulb_type == "A" else "mode scene") in out
    assert "white: brightness 80 %, colour temperature 30 %" in out


@pytest.mark.parametrize(("cover_type", "closed"), [(1, "close"), (2, False), (8, "FZ")])
async def test_cover(cover_type: int, closed: object, capsys: pytest.CaptureFixture[str]) -> None:
    cover = importlib.import_module("cover")
    assert await cover.main(["--delay", "0", "--simulated-type", str(cover_type)]) == 0
    out = capsys.readouterr().out
    assert f"close_cover: {{'1': {closed!r}}}" in out
    assert f"cover type {cover_type}" in out
    assert ("stop_cover: not supported" in out) is (cover_type == 2)


async def test_bulk_control(capsys: pytest.CaptureFixture[str]) -> None:
    bulk = importlib.import_module("bulk_control")
    assert await bulk.main(["--count", "10", "--concurrency", "4"]) == 0
    out = capsys.readouterr().out
    assert out.count("on, reported {'1': True}") == 10  # every version, toggled from off
    assert "10 of 10 devices switched in" in out
    assert "(simulated fleet: 10 of 10 now on)" in out
    assert await bulk.main(["--count", "5", "--set", "off"]) == 0
    assert "(simulated fleet: 0 of 5 now on)" in capsys.readouterr().out


async def test_bulk_control_of_a_devices_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bulk = importlib.import_module("bulk_control")
    devices_file = tmp_path / "devices.json"
    async with Simulator(seed=8) as simulator:
        await simulator.add_many(3, versions="3.3,3.5")
        await simulator.add_gateway(children=2, dps={"1": False})
        dead = await simulator.add(simulator.generate("3.4"))
        simulator.write_devices_file(devices_file)
        await dead.stop()
        argv = ["--devices-file", str(devices_file), "--set", "on", "--timeout", "0.5", "--retries", "1"]
        assert await bulk.main(argv) == 1
        assert [d.dps["1"] for d in simulator.devices[:4]] == [True, True, True, True]
    out = capsys.readouterr().out
    assert "4 of 5 devices switched" in out  # three plugs and the gateway; its children are skipped
    assert out.count("ERROR writing: {'Error'") == 1


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_gateway(version: str, capsys: pytest.CaptureFixture[str]) -> None:
    gateway = importlib.import_module("gateway")
    assert await gateway.main(["--version", version, "--seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "'online': ['a4c1380000bulb01', 'a4c1380000cover1', 'a4c1380000plug01']" in out
    assert "OutletDeviceAsync a4c1380000plug01: {'1': False" in out
    assert "BulbDeviceAsync a4c1380000bulb01: {'20': False" in out
    assert "CoverDeviceAsync a4c1380000cover1: {'1': 'stop'" in out
    assert "switch a4c1380000plug01 on: {'1': True}" in out
    assert "push from a4c1380000plug01: {'19': 415}" in out
    assert "push from a4c1380000cover1: {'3': 40}" in out
    assert out.count("connection: connected") == 1  # one connection for the hub and its children


def test_gateway_arguments() -> None:
    gateway = importlib.import_module("gateway")
    with pytest.raises(SystemExit):
        asyncio.run(gateway.main(["--child", "a4c1380000plug01"]))  # sub-devices of what?
    assert gateway.child_spec("a4c13800:bulb") == ("a4c13800", "bulb")
    assert gateway.child_spec("a4c13800") == ("a4c13800", "device")
