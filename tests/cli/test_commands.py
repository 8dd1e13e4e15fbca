"""Every command of ``tinytuya-asyncio``, run as a subprocess against a simulated fleet on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.ports import free_udp_ports
from tinytuya_asyncio.simulator import DiscoveryConfig, Simulator

DEADLINE = 60.0
BROADCAST = "127.255.255.255"


class Cli:
    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd

    async def run(self, *args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tinytuya_asyncio", *args,
            cwd=self.cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), DEADLINE)
        assert proc.returncode is not None
        return proc.returncode, stdout.decode(), stderr.decode()

    async def json(self, *args: str) -> Any:
        code, stdout, stderr = await self.run(*args, "--json")
        assert code == 0, stderr
        return json.loads(stdout)


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Simulator]:
    async with Simulator(seed=31) as sim:
        await sim.add_many(5, versions="mixed")
        sim.write_devices_file(tmp_path / "devices.json")
        yield sim


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


async def test_list(fleet: Simulator, cli: Cli) -> None:
    rows = await cli.json("list")
    assert [(r["name"], r["id"], r["ip"], r["version"]) for r in rows] == [
        (d.name, d.dev_id, d.host, d.version) for d in fleet
    ]
    code, table, _ = await cli.run("list")
    assert code == 0
    assert all(d.name in table and d.dev_id in table for d in fleet)


async def test_devices_polls_everything(fleet: Simulator, cli: Cli) -> None:
    result = await cli.json("devices")
    assert [d["dps"] for d in result["devices"]] == [dict(d.dps) for d in fleet]
    code, table, _ = await cli.run("devices")
    assert code == 0
    assert all(d.name in table for d in fleet)
    assert "off" in table


async def test_one_unreachable_device_fails_the_run(fleet: Simulator, cli: Cli) -> None:
    await fleet.devices[1].stop()
    code, stdout, _ = await cli.run("devices", "--json", "--timeout", "1")
    assert code == 1
    errors = {d["id"]: d.get("error") for d in json.loads(stdout)["devices"]}
    assert errors.pop(fleet.devices[1].dev_id) == "Network Error: Unable to Connect (901)"
    assert set(errors.values()) == {None}


async def test_on_off_set_get(fleet: Simulator, cli: Cli) -> None:
    first, second = fleet.devices[2], fleet.devices[4]
    turned = await cli.json("on", "--name", first.name)
    assert turned["result"]["dps"] == {"1": True}
    assert first.dps["1"] is True
    many = await cli.json("off", "--name", first.name, "--id", second.dev_id)
    assert [m["id"] for m in many] == [first.dev_id, second.dev_id]
    assert dict(first.dps)["1"] is False
    await cli.json("set", "--id", second.dev_id, "--dps", "20", "--value", "2222")
    assert second.dps["20"] == 2222
    got = await cli.json("get", "--id", second.dev_id, "--dps", "20")
    assert got["value"] == 2222
    code, line, _ = await cli.run("get", "--name", second.name, "--dps", "20")
    assert (code, line.strip()) == (0, f"{second.name}: 2222")
    status = await cli.json("get", "--name", first.name)
    assert status["result"]["dps"] == dict(first.dps)


async def test_a_device_not_in_the_file(fleet: Simulator, cli: Cli) -> None:
    device = fleet.devices[3]
    args = ["--id", device.dev_id, "--key", device.local_key, "--ip", str(device.host)]
    args += ["--port", str(device.port), "--version", device.version, "--device-file", "none.json"]
    got = await cli.json("get", *args, "--dps", "1")
    assert got["value"] is False


async def test_snapshot(fleet: Simulator, cli: Cli, tmp_path: Path) -> None:
    devices = [
        {"id": d.dev_id, "ip": d.host, "ver": d.version, "name": d.name, "key": d.local_key, "port": d.port}
        for d in fleet
    ]
    devices.append({"id": "bf0000000000000noip", "ip": "", "ver": "3.3", "name": "battery", "key": "k" * 16})
    (tmp_path / "snapshot.json").write_text(json.dumps({"timestamp": 0, "devices": devices}))
    code, stdout, _ = await cli.run("snapshot", "--json")
    assert code == 1  # the battery-powered one has no IP
    result = json.loads(stdout)["devices"]
    assert [r.get("dps") for r in result[:5]] == [dict(d.dps) for d in fleet]
    assert "no IP address" in result[5]["error"]
    code, table, _ = await cli.run("snapshot")
    assert code == 1
    assert "battery" in table


async def test_scan(cli: Cli, tmp_path: Path) -> None:
    plain, encrypted, probe, app = free_udp_ports(4)
    async with Simulator(seed=32) as sim:
        await sim.add_many(5, versions="mixed", host="127.0.9.1", address_mode="ips")
        sim.write_devices_file(tmp_path / "devices.json")
        await sim.start_discovery(
            DiscoveryConfig(plain_port=plain, encrypted_port=encrypted, probe_port=probe, app_port=app,
                            interval=0.2, silent_until_probed=True)
        )  # fmt: skip
        args = ["2", "--bind", "127.0.0.1", "--bind", BROADCAST, "--ports", f"{plain},{encrypted},{app}"]
        args += ["--broadcast", BROADCAST, "--probe-ip", "127.0.0.1", "--probe-port", str(probe)]
        found = await cli.json("scan", *args)
        assert {(r["id"], r["ip"], r["version"], r["origin"]) for r in found} == {
            (d.dev_id, d.host, d.version, "probe" if d.version == "3.5" else "broadcast") for d in sim
        }
        snapshot = json.loads((tmp_path / "snapshot.json").read_text())
        assert {d["id"] for d in snapshot["devices"]} == {d.dev_id for d in sim}
        code, table, stderr = await cli.run("scan", *args)
        assert code == 0
        assert all(str(d.host) in table for d in sim)
        assert "5 devices found" in table
        assert "saved to snapshot.json" in stderr
        # TCP only, one address.
        target = sim.devices[3]
        tcp = [
            "--force",
            f"{target.host}/32",
            "--no-broadcasts",
            "--tcp-port",
            str(target.port),
            "--timeout",
            "2",
        ]
        (record,) = await cli.json("scan", "30", *tcp)
        assert (record["id"], record["version"], record["origin"]) == (target.dev_id, target.version, "tcp")


async def test_monitor_prints_pushes_until_interrupted(fleet: Simulator, tmp_path: Path) -> None:
    watched = fleet.devices[:2]
    args = [a for d in watched for a in ("--id", d.dev_id)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tinytuya_asyncio", "monitor", "--json", *args,
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        initial = [json.loads(await asyncio.wait_for(proc.stdout.readline(), DEADLINE)) for _ in watched]
        assert {line["id"] for line in initial} == {d.dev_id for d in watched}
        assert all("status" in line for line in initial)
        await watched[1].wait_for_clients(1)
        await watched[1].push({"1": True})
        change = json.loads(await asyncio.wait_for(proc.stdout.readline(), DEADLINE))
        assert (change["id"], change["changed"]) == (watched[1].dev_id, {"1": True})
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), DEADLINE) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--device-file", "missing.json"], "devices file missing.json not found"),
        (["devices", "--device-file", "broken.json"], "devices file broken.json is not valid JSON"),
        (["devices", "--device-file", "wrong.json"], "is not a list of devices"),
        (["on", "--name", "no such device"], "no device named 'no such device' in devices.json"),
        (["set", "--name", "sim-0001-v3.1", "--dps", "1", "--value", "tru"], "--value 'tru' is not JSON"),
        (["snapshot", "--snapshot-file", "missing.json"], "snapshot file missing.json not found"),
        (["get", "--id", "x", "--key", "short", "--ip", "127.0.0.1"], "no 16-character local key"),
        (["scan", "--force", "not-a-network", "--no-broadcasts"], "not an address or network"),
    ],
)
async def test_bad_input_is_one_line_and_exit_2(
    fleet: Simulator, cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "wrong.json").write_text('{"devices": 3}')
    code, stdout, stderr = await cli.run(*args)
    assert code == 2
    assert stderr.count("\n") == 1, stderr
    assert message in stderr
    assert "Traceback" not in stderr + stdout


async def test_bad_arguments_exit_2(cli: Cli) -> None:
    code, _, stderr = await cli.run("on")
    assert code == 2
    assert "name a device with --id or --name" in stderr
    code, _, stderr = await cli.run("frobnicate")
    assert code == 2
    assert "invalid choice" in stderr
    code, stdout, _ = await cli.run("--help")
    assert code == 0
    assert "exit codes: 0 all ok; 1 some devices failed" in " ".join(stdout.split())


async def test_an_unreachable_device_is_one_line_and_exit_1(cli: Cli) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    args = ["--id", "bf0123456789abcdefgh", "--key", "0123456789abcdef", "--ip", "127.0.0.1"]
    code, stdout, stderr = await cli.run(
        "get", *args, "--port", str(port), "--timeout", "1", "--device-file", "x"
    )
    assert code == 1
    assert stdout.strip() == "bf0123456789abcdefgh: Network Error: Unable to Connect (901)"
    assert stderr == ""


async def test_without_the_cli_extra(fleet: Simulator, tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['rich'] = None; from tinytuya_asyncio.cli import main;"
        " sys.exit(main(sys.argv[1:]))"
    )
    for args, expected in ((["list"], 3), (["list", "--json"], 0)):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, *args, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(proc.communicate(), DEADLINE)
        assert proc.returncode == expected, stderr
        if expected == 3:
            extra = "pip install 'tinytuya-asyncio[cli]' (or use --json)"
            assert stderr.decode().strip() == f"tinytuya-asyncio: tables need the 'cli' extra: {extra}"
        else:
            assert len(json.loads(stdout)) == 5


async def test_simulate_and_the_console_scripts(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    for script in ("tinytuya-asyncio", "tinytuya-asyncio-simulator"):
        assert (bin_dir / script).exists(), script
    proc = await asyncio.create_subprocess_exec(
        str(bin_dir / "tinytuya-asyncio"), "simulate", "--count", "2", "--versions", "3.3",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), DEADLINE)
        assert line.startswith(b"simulator ready: 2 devices on 127.0.0.1")
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), DEADLINE) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    code, stdout, _ = await Cli(tmp_path).run("demo", "--help")
    assert code == 0
    assert "--devices" in stdout
    assert os.path.basename(sys.executable).startswith("python")
