"""The scanner's events, each where it happens, checked against the catalogue."""

from __future__ import annotations

import asyncio
import os

from tests.metrics.recording import RecordingSink
from tests.ports import free_tcp_port
from tinytuya_asyncio.protocol import encode_announcement
from tinytuya_asyncio.scanner import Scanner
from tinytuya_asyncio.simulator import Simulator

from .conftest import Ports


async def test_a_scan_reports_what_it_opens_finds_refuses_and_sweeps(ports: Ports) -> None:
    events = RecordingSink()
    block = 10 + os.getpid() % 200
    first = f"127.{block}.7.1"
    port = free_tcp_port(first)
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    try:
        async with Simulator(seed=3) as sim:
            devices = await sim.add_many(2, versions="3.3", host=first, address_mode="ips", port=port)
            async with Scanner(
                listen=ports.listen(),
                probe_targets=[],
                devices=sim.devices_file_entries(),
                tcp_port=port,
                connect_timeout=2.0,
                metrics=events,
            ) as scanner:
                sender.sendto(b"\x00" * 5000, ("127.0.0.1", ports.encrypted))  # oversize
                sender.sendto(
                    encode_announcement({"gwId": "bf0123456789abcdefgh", "version": "3.3"}, "3.3"),
                    ("127.0.0.1", ports.encrypted),
                )
                sweep = scanner.sweep(f"127.{block}.7.0/30")
                await asyncio.wait_for(sweep.done, 10)
                await events.wait_for("scan_found", 3)
                await events.wait_for("scan_sweep_done")
    finally:
        sender.close()
    assert not events.problems, events.problems
    assert events.first("scan_started") == {"listen": True, "probe_targets": 0}
    assert events.first("scan_dropped") == {"reason": "oversize"}
    found = {data["device"]: data for data in events.named("scan_found")}
    assert found["bf0123456789abcdefgh"]["source"] == "broadcast"
    for device in devices:
        assert (found[device.dev_id]["ip"], found[device.dev_id]["version"]) == (device.host, "3.3")
        assert found[device.dev_id]["source"] == "tcp"
    assert events.first("scan_sweep") == {"addresses": 2}
    done = events.first("scan_sweep_done")
    assert (done["addresses"], done["found"]) == (2, 2)
    closed = events.first("scan_closed")
    assert (closed["found"], closed["datagrams"]) == (3, 2)
    assert closed["duration"] > 0
