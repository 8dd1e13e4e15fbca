"""Every peer byte is hostile: garbage and mutated frames never crash the simulator."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from tinytuya_asyncio import _tinytuya as tuya

from .conftest import DeviceFactory
from .helpers import in_thread, raw_client

VERSIONS = ["3.1", "3.2", "3.3", "3.4", "3.5"]


def _mutations(frame: bytes, rng: random.Random) -> list[bytes]:
    """Bit flips, truncations, bad lengths and splices of one valid frame."""
    out = []
    for _ in range(12):
        mutated = bytearray(frame)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] ^= 1 << rng.randrange(8)
        out.append(bytes(mutated))
    out.append(frame[: rng.randrange(1, len(frame))])
    out.append(frame[:12] + b"\xff\xff\xff\xff" + frame[16:])  # absurd length
    out.append(frame[:12] + b"\x00\x00\x00\x01" + frame[16:])  # impossible length
    out.append(rng.randbytes(rng.randrange(1, 300)))
    out.append(frame[: len(frame) // 2] + frame)
    return out


@pytest.mark.parametrize("version", VERSIONS)
async def test_garbage_and_mutated_frames_never_crash_the_device(
    make_device: DeviceFactory, version: str
) -> None:
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        dev = await make_device(version)
        rng = random.Random(version)
        async with raw_client(dev) as probe:
            valid = probe.frame(tuya.DP_QUERY, {"gwId": "x", "devId": "x"})
        for attempt in _mutations(valid, rng):
            negotiated = rng.random() < 0.5
            async with raw_client(dev, handshake=negotiated) as client:
                client.writer.write(attempt)
                await client.writer.drain()
                # Something well formed after the junk; the device answers or hangs up.
                client.writer.write(client.frame(tuya.HEART_BEAT, {}) if negotiated else valid)
                await client.writer.drain()
                client.writer.write_eof()
                await client.wait_closed()
        # Still healthy: tinytuya gets its status.
        assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps
    finally:
        loop.set_exception_handler(None)
    assert errors == []
    assert dev.stats.protocol_errors > 0


@pytest.mark.parametrize("version", VERSIONS)
async def test_requests_split_byte_by_byte(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version)
    async with raw_client(dev) as client:
        frame = client.frame(tuya.HEART_BEAT, {}) * 2
        for i in range(len(frame)):
            client.writer.write(frame[i : i + 1])
            await client.writer.drain()
        assert (await client.next_message()).cmd == tuya.HEART_BEAT
        assert (await client.next_message()).cmd == tuya.HEART_BEAT


async def test_wrong_key_on_3_3_gets_an_error_it_cannot_read(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3")
    result = await in_thread(dev, lambda d: d.status(), key="fedcba9876543210")
    assert result.get("Err") == str(tuya.ERR_PAYLOAD)
    # The device answered (under its own key) rather than hanging up.
    assert dev.stats.protocol_errors == 0
    assert dev.stats.frames_sent >= 1


async def test_wrong_version_frames_close_the_connection(make_device: DeviceFactory) -> None:
    dev = await make_device("3.5")
    result = await in_thread(dev, lambda d: d.status(), version="3.3", timeout=0.5)
    assert "Err" in result
    assert dev.stats.protocol_errors >= 1
