"""``python -m tinytuya_asyncio.simulator`` as a subprocess: ready line, devices file, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import tinytuya

from tinytuya_asyncio.simulator.__main__ import build_parser, main, serve

from .helpers import tuya_device_from_entry

READY_TIMEOUT = 30.0


@pytest.fixture
async def run_cli() -> AsyncIterator[Any]:
    procs: list[asyncio.subprocess.Process] = []

    async def start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tinytuya_asyncio.simulator",
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        procs.append(proc)
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        return proc, line.decode()

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _query(entry: dict[str, Any]) -> Any:
    client = tuya_device_from_entry(entry)
    try:
        return client.status(), client.turn_on()
    finally:
        client.close()


async def _terminate(proc: asyncio.subprocess.Process) -> tuple[int, bytes, bytes]:
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode is not None
    return proc.returncode, stdout, stderr


async def test_cli_serves_until_sigterm(run_cli: Any, tmp_path: Path) -> None:
    devices_file = tmp_path / "devices.json"
    proc, line = await run_cli("--count", "5", "--versions", "mixed", "--devices-file", str(devices_file))
    assert line.startswith("simulator ready: 5 devices on 127.0.0.1 (ports ")
    assert str(devices_file) in line
    entries = json.loads(devices_file.read_text())
    assert [e["version"] for e in entries] == ["3.1", "3.2", "3.3", "3.4", "3.5"]
    for entry in (entries[2], entries[4]):
        status, switched = await asyncio.to_thread(_query, entry)
        assert status["dps"]["1"] is False
        assert switched["dps"] == {"1": True}
    code, stdout, stderr = await _terminate(proc)
    assert (code, stdout, stderr) == (0, b"", b"")


async def test_cli_gateway_ips_and_discovery(run_cli: Any, tmp_path: Path) -> None:
    # An encrypted-port listener the simulator announces to.
    loop = asyncio.get_running_loop()
    received: asyncio.Queue[bytes] = asyncio.Queue()

    class Inbox(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
            received.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(Inbox, local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        devices_file = tmp_path / "devices.json"
        proc, line = await run_cli(
            "--count", "2", "--versions", "3.4", "--gateway", "--children", "3",
            "--discovery", "--discovery-address", "127.0.0.1",
            "--discovery-ports", f"{port},{port},0", "--discovery-interval", "0.1",
            "--devices-file", str(devices_file), "--seed", "9",
        )  # fmt: skip
        assert line.startswith("simulator ready: 3 devices")
        assert "discovery to 127.0.0.1 (ports" in line
        info = json.loads(tinytuya.decrypt_udp(await asyncio.wait_for(received.get(), 10)))
        entries = json.loads(devices_file.read_text())
        assert info["gwId"] in {e["id"] for e in entries}
        assert sum(1 for e in entries if e.get("sub")) == 3
        code, _, _ = await _terminate(proc)
        assert code == 0
    finally:
        transport.close()


async def test_cli_reports_a_port_it_cannot_bind(run_cli: Any) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        proc, line = await run_cli("--count", "1", "--port", str(port), "--versions", "3.3")
        assert line == ""
        assert await asyncio.wait_for(proc.wait(), 10) == 1
        assert proc.stderr is not None
        assert b"cannot start" in await proc.stderr.read()
    finally:
        server.close()
        await server.wait_closed()


def test_argument_parsing() -> None:
    args = build_parser().parse_args(["--device22", "0.25", "--discovery-ports", "1,2,3"])
    assert args.device22 == 0.25
    assert args.discovery_ports == (1, 2, 3, 3)
    assert build_parser().parse_args(["--discovery-ports", "1,2,0"]).discovery_ports == (1, 2, 0, 7000)
    assert build_parser().parse_args(["--discovery-ports", "1,2,3,4"]).discovery_ports == (1, 2, 3, 4)
    assert build_parser().parse_args(["--silent-until-probed"]).silent_until_probed
    assert build_parser().parse_args(["--device22", "4"]).device22 == 4
    for bad in (
        ["--discovery-address", "0.0.0.0"],
        ["--discovery-ports", "1,2"],
        ["--discovery-ports", "a,b,c"],
        ["--device22", "-1"],
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(bad)
    assert build_parser().parse_args(["--profiles", "bulb_a, cover_2"]).profiles == ["bulb_a", "cover_2"]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--profiles", "toaster"])
    assert main(["--count", "-1"]) == 2
    assert main(["--versions", "3.9"]) == 2


async def test_serve_in_process(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["--count", "4", "--versions", "3.3", "--address-mode", "ips", "--host", "127.0.0.1", "--gateway"]
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(args, stop, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        line = capsys.readouterr().out
        assert line.startswith("simulator ready: 5 devices on 127.0.0.1-127.0.0.5 (ports ")
        assert line.endswith(", no devices file\n")
    finally:
        stop.set()
        assert await task == 0
