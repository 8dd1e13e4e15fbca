"""The benchmark-only fixed handshake nonce: precomputed client frames work, and only with it.

With ``fixed_nonce`` a 3.4/3.5 device answers every handshake with the same nonce, so a
client that also fixes its own nonce (and IV) knows the session key before it connects and
can compute every frame ahead of time. Without it the device draws a fresh nonce per
connection, as firmware does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    Codec,
    Frame,
    FrameReader,
    HandshakeRequested,
    HandshakeResponded,
    Role,
    Session,
    derive_session_key,
    version_spec,
)
from tinytuya_asyncio.simulator.__main__ import build_parser, serve
from tinytuya_asyncio.simulator.state import DeviceState, bench_nonce

from .conftest import DeviceFactory
from .helpers import DEV_ID, KEY, TIMEOUT

CLIENT_NONCE = bytes(range(16))
DEVICE_NONCE = bytes(range(16, 32))
CLIENT_IV = bytes(range(12))
DPS = {"1": True, "2": 7}
VERSIONS = ["3.4", "3.5"]


def _iv(version: str) -> bytes | None:
    return CLIENT_IV if version_spec(version).number >= 3.5 else None


def precompute(version: str, device_nonce: bytes) -> tuple[bytes, bytes, bytes]:
    """START, FINISH and a status query, computed without any connection."""
    spec = version_spec(version)
    key = KEY.encode("latin1")
    client = Session(Role.CLIENT, spec, key)
    device = Session(Role.DEVICE, spec, key)
    start = client.start_handshake(CLIENT_NONCE, iv=_iv(version))
    device.receive_data(start)
    requested = device.next_event()
    assert isinstance(requested, HandshakeRequested)
    client.receive_data(device.answer_handshake(device_nonce, seqno=requested.seqno, iv=bytes(12)))
    assert isinstance(client.next_event(), HandshakeResponded)
    finish = client.finish_handshake(iv=_iv(version))
    query = client.send(tuya.DP_QUERY_NEW, json.dumps({"devId": DEV_ID}).encode(), iv=_iv(version))
    return start, finish, query


async def read_frame(reader: asyncio.StreamReader) -> Frame:
    frames = FrameReader()
    async with asyncio.timeout(TIMEOUT):
        while True:
            data = await reader.read(4096)
            assert data, "the device closed the connection"
            found = frames.feed(data)
            if found:
                assert len(found) == 1
                return found[0]


async def device_nonce_of_one_connection(host: str, port: int, version: str, key: str = KEY) -> bytes:
    """Connect, send a fresh START, and return the nonce the device answers with."""
    spec = version_spec(version)
    client = Session(Role.CLIENT, spec, key.encode("latin1"))
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(client.start_handshake(CLIENT_NONCE, iv=_iv(version)))
        frame = await read_frame(reader)
    finally:
        writer.close()
        await writer.wait_closed()
    message = Codec(spec, key.encode("latin1"), Role.CLIENT).decode(frame)
    assert message.cmd == tuya.SESS_KEY_NEG_RESP
    return message.payload[:16]


@pytest.mark.parametrize("version", VERSIONS)
async def test_precomputed_frames_are_accepted(make_device: DeviceFactory, version: str) -> None:
    start, finish, query = precompute(version, DEVICE_NONCE)
    dev = await make_device(version, dps=DPS, fixed_nonce=DEVICE_NONCE)
    spec = version_spec(version)
    codec = Codec(spec, KEY.encode("latin1"), Role.CLIENT)
    codec.use_session_key(derive_session_key(spec, KEY.encode("latin1"), CLIENT_NONCE, DEVICE_NONCE))
    for _ in range(2):  # the same bytes work on every connection
        reader, writer = await asyncio.open_connection(dev.host, dev.port)
        try:
            writer.write(start)
            assert (await read_frame(reader)).cmd == tuya.SESS_KEY_NEG_RESP
            writer.write(finish + query)
            reply = codec.decode(await read_frame(reader))
        finally:
            writer.close()
            await writer.wait_closed()
        assert reply.cmd == tuya.DP_QUERY_NEW
        assert reply.retcode == 0
        assert json.loads(reply.payload)["dps"] == DPS
    assert dev.stats.handshakes == 2
    assert dev.stats.protocol_errors == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_nonces_differ_per_connection_without_the_option(
    make_device: DeviceFactory, version: str
) -> None:
    dev = await make_device(version)
    first = await device_nonce_of_one_connection(dev.host, dev.port, version)
    second = await device_nonce_of_one_connection(dev.host, dev.port, version)
    assert first != second


@pytest.mark.parametrize("version", VERSIONS)
async def test_precomputed_frames_fail_without_the_option(make_device: DeviceFactory, version: str) -> None:
    start, finish, query = precompute(version, DEVICE_NONCE)
    dev = await make_device(version, dps=DPS)
    reader, writer = await asyncio.open_connection(dev.host, dev.port)
    try:
        writer.write(start)
        await read_frame(reader)
        writer.write(finish + query)
        async with asyncio.timeout(TIMEOUT):
            assert await reader.read(4096) == b""  # the device drops a client whose proof fails
    finally:
        writer.close()
        await writer.wait_closed()
    assert dev.stats.handshakes == 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_fixed_nonce_is_used_on_every_connection(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version, fixed_nonce=DEVICE_NONCE)
    for _ in range(2):
        assert await device_nonce_of_one_connection(dev.host, dev.port, version) == DEVICE_NONCE


def test_fixed_nonce_must_be_a_nonce() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        DeviceState.create(DEV_ID, KEY, version=3.4, fixed_nonce=b"short")
    assert DeviceState.create(DEV_ID, KEY, version=3.4).fixed_nonce is None
    assert bench_nonce(DEV_ID) == bench_nonce(DEV_ID)
    assert len(bench_nonce(DEV_ID)) == 16
    assert bench_nonce(DEV_ID) != bench_nonce(DEV_ID[::-1])


async def test_cli_flag_derives_each_nonce_from_the_device_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    devices_file = tmp_path / "devices.json"
    args = build_parser().parse_args(
        ["--count", "2", "--versions", "3.4,3.5", "--bench-fixed-nonces", "--devices-file", str(devices_file)]
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(args, stop, ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        assert "fixed handshake nonces (benchmarks only)" in capsys.readouterr().out
        entries: list[dict[str, Any]] = json.loads(devices_file.read_text())
        for entry in entries:
            nonce = await device_nonce_of_one_connection(
                entry["ip"], entry["port"], entry["version"], entry["key"]
            )
            assert nonce == bench_nonce(entry["id"])
    finally:
        stop.set()
        assert await task == 0
