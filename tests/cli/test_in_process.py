"""The commands' coroutines run in this process (the subprocess tests cannot be measured for
coverage), against a simulated fleet on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tinytuya_asyncio.cli import _commands, main
from tinytuya_asyncio.cli.app import build_parser
from tinytuya_asyncio.cli.output import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Output, UsageError
from tinytuya_asyncio.simulator import DiscoveryConfig, Simulator


@pytest.fixture
async def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    monkeypatch.chdir(tmp_path)
    async with Simulator(seed=41) as sim:
        await sim.add_many(5, versions="mixed", host="127.0.11.1", address_mode="ips")
        sim.write_devices_file(tmp_path / "devices.json")
        yield sim


async def _run(*argv: str, as_json: bool | None = None) -> int:
    args = build_parser().parse_args(list(argv))
    out = Output(as_json=args.json if as_json is None else as_json, no_color=True)
    return await _commands()[args.command](args, out)


async def test_tables_and_json(fleet: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert await _run("list") == EXIT_OK
    table = capsys.readouterr().out
    assert all(d.name in table for d in fleet)
    assert await _run("devices") == EXIT_OK
    assert "off" in capsys.readouterr().out
    assert await _run("devices", "--json") == EXIT_OK
    assert len(json.loads(capsys.readouterr().out)["devices"]) == 5
    name = fleet.devices[2].name
    commands = [["on"], ["off"], ["get"], ["set", "--dps", "20", "--value", "2345"], ["get", "--dps", "20"]]
    for argv in commands:
        assert await _run(*argv, "--name", name) == EXIT_OK
    assert capsys.readouterr().out.strip().endswith(f"{name}: 2345")
    assert await _run("get", "--name", name, "--dps", "99", "--json") == EXIT_FAILED
    assert "data point 99 not in the answer" in json.loads(capsys.readouterr().out)["error"]


async def test_scan_and_snapshot(
    fleet: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = []
    for _ in range(4):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    plain, encrypted, probe, app = ports
    discovery = await fleet.start_discovery(
        DiscoveryConfig(
            plain_port=plain, encrypted_port=encrypted, probe_port=probe, app_port=app, interval=0.1
        )
    )
    args = ["1", "--bind", "127.0.0.1", "--bind", "127.255.255.255", "--ports", f"{plain},{encrypted},{app}"]
    args += ["--broadcast", "127.255.255.255", "--probe-ip", "127.0.0.1", "--probe-port", str(probe)]
    assert await _run("scan", *args) == EXIT_OK
    table = capsys.readouterr().out
    assert all(str(d.host) in table for d in fleet)
    assert discovery.sent >= 5
    saved = json.loads((tmp_path / "snapshot.json").read_text())["devices"]
    assert {d["id"] for d in saved} == {d.dev_id for d in fleet}
    assert await _run("snapshot") == EXIT_OK
    table = capsys.readouterr().out
    assert all(d.name in table for d in fleet)
    device = fleet.devices[4]
    tcp = ["--force", f"{device.host}/32", "--no-broadcasts", "--tcp-port", str(device.port)]
    assert await _run("scan", "20", *tcp, "--json", "--snapshot-file", "") == EXIT_OK
    (record,) = json.loads(capsys.readouterr().out)
    assert (record["id"], record["version"]) == (device.dev_id, device.version)


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--broadcast", "127.255.255.255"],
        ["scan", "--concurrency", "0", "--no-broadcasts"],
        ["on", "--id", "a", "--id", "b", "--key", "0123456789abcdef"],
        ["get", "--id", "a", "--key", "0123456789abcdef", "--ip", "127.0.0.1", "--version", "9.9"],
    ],
)
async def test_usage_errors(fleet: Simulator, argv: list[str]) -> None:
    with pytest.raises(UsageError):
        await _run(*argv)


def test_main_without_a_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("tinytuya-asyncio ")
    assert main([]) == EXIT_USAGE
    assert main(["list"]) == EXIT_USAGE
    assert capsys.readouterr().err == "tinytuya-asyncio: devices file devices.json not found\n"
    (tmp_path / "devices.json").write_text(
        '[{"id": "bf0123456789abcdefgh", "name": "a", "key": "0123456789abcdef"}]'
    )
    assert main(["list", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["name"] == "a"


class _Lines(Output):
    """JSON lines into a queue, so the test can wait for each."""

    def __init__(self) -> None:
        super().__init__(as_json=True)
        self.lines: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    def json_line(self, value: Any) -> None:
        self.lines.put_nowait(value)


async def test_monitor_until_sigint(fleet: Simulator) -> None:
    watched = fleet.devices[:2]
    args = build_parser().parse_args(["monitor", "--json", *(a for d in watched for a in ("--id", d.dev_id))])
    out = _Lines()
    task = asyncio.create_task(_commands()["monitor"](args, out))
    async with asyncio.timeout(30):
        first = [await out.lines.get() for _ in watched]
        assert {line["id"] for line in first} == {d.dev_id for d in watched}
        await watched[0].wait_for_clients(1)
        await watched[0].push({"9": 5})
        change = await out.lines.get()
        assert (change["id"], change["changed"]) == (watched[0].dev_id, {"9": 5})
        await watched[1].stop()  # a dropped connection is reported too
        lost = await out.lines.get()
        assert lost["id"] == watched[1].dev_id
        assert "closed-by-device" in str(lost["connection"])
        os.kill(os.getpid(), signal.SIGINT)  # the command's own handler takes it
        assert await task == EXIT_OK
