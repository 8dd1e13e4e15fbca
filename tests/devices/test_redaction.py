"""No key reaches a log line or a repr, even with debug logging on."""

from __future__ import annotations

import logging

import pytest

from tests.devices.conftest import VERSIONS, DeviceFactory, SimFactory

SECRET = "s3cr3tK3yS3cr3t!"  # 16 characters, appears nowhere else


@pytest.mark.parametrize("version", VERSIONS)
async def test_keys_stay_out_of_logs_and_reprs(
    version: str, simulate: SimFactory, connect_to: DeviceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim = await simulate(version, key=SECRET)
    dev = connect_to(sim, persist=True, local_key=SECRET)
    assert await dev.status() is not None
    assert await dev.set_value(1, True) is not None
    await sim.stop()  # a lost connection and a reconnect are logged too
    await sim.start()
    await dev.status()
    wrong = connect_to(sim, local_key=SECRET[::-1])
    await wrong.status()  # failures are logged
    texts = [caplog.text, repr(dev), repr(dev._link), repr(wrong), repr(sim), repr(sim.state)]
    for text in texts:
        for secret in (SECRET, SECRET[::-1], SECRET.encode().hex()):
            assert secret not in text
    assert any("tinytuya_asyncio" in record.name for record in caplog.records)  # logging was on
