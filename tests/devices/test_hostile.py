"""Hostile bytes from a device end as error results or through the connection's one funnel.

Nothing a device sends may escape into the event loop (asyncio would log "Fatal error:
protocol.buffer_updated() call failed" and drop the transport behind our back).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory
from tests.devices.test_faults import bounded, err
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection import conn
from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason
from tinytuya_asyncio.devices.status_cache import CHECK_EVERY, MAX_CACHED_KEYS, StatusCache
from tinytuya_asyncio.simulator import firmware


def _loop_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR]


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_a_push_nested_thousands_deep_is_a_json_error(
    version: str, simulate: SimFactory, connect_to: DeviceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    assert err(await bounded(dev.status())) is None
    await sim.wait_for_clients(1)
    deep = b'{"dps":{"1":' + b"[" * 5000 + b"]" * 5000 + b"}}"
    assert sim._server.broadcast(firmware.Outgoing(tuya.STATUS, deep, push=True)) == 1
    received = await bounded(dev.receive())
    assert err(received) == str(tuya.ERR_JSON)
    assert dev.state is ConnectionState.CONNECTED  # a bad body is not a broken connection
    assert err(await bounded(dev.status())) is None
    assert not _loop_errors(caplog)


async def test_a_defect_on_hostile_bytes_goes_through_the_funnel(
    simulate: SimFactory,
    connect_to: DeviceFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    assert err(await bounded(dev.status())) is None
    lost = []
    dev.add_state_listener(lambda change: lost.append(change) if change.reason else None)

    def broken_decoder(*args: Any) -> Any:
        raise ZeroDivisionError("a defect in decoding")

    monkeypatch.setattr(conn, "decode_result", broken_decoder)
    result = await bounded(dev.status())
    assert err(result) == str(tuya.ERR_PAYLOAD)  # the request fails; the process does not
    assert lost[0].reason is DisconnectReason.PROTOCOL_ERROR
    assert not _loop_errors(caplog)


async def test_a_device_inventing_data_points_cannot_grow_its_cache_without_bound(
    simulate: SimFactory, connect_to: DeviceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    assert err(await bounded(dev.status())) is None
    real = set(sim.dps)
    await sim.wait_for_clients(1)
    caplog.set_level(logging.DEBUG, logger="tinytuya_asyncio.devices.xenon")
    frames = 2 * CHECK_EVERY - 1  # the status above was the first frame: checked twice
    for batch in range(frames):  # 31 x 30 new ids, each push a valid status
        invented = {f"x{batch}-{i}": i for i in range(30)}
        body = json.dumps({"dps": {"1": batch, **invented}}).encode()
        assert sim._server.broadcast(firmware.Outgoing(tuya.STATUS, body, push=True)) == 1
        assert err(await bounded(dev.receive())) is None
    historic = dev._cache.historic["dps"]
    assert len(historic) == MAX_CACHED_KEYS
    assert real <= set(historic)  # the device's own data points stay...
    assert historic["1"] == frames - 1  # ...and keep being updated
    assert f"x{frames - 1}-29" not in historic  # the newest inventions are what is left out
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "left out" in r.getMessage()]
    assert len(warnings) == 1  # once per device, then at DEBUG
    assert dev.id not in warnings[0].getMessage()  # ids are redacted in log text


def test_every_level_of_both_caches_is_bounded() -> None:
    cache = StatusCache()
    many = {str(i): i for i in range(MAX_CACHED_KEYS + 100)}
    result = {**{f"k{i}": i for i in range(MAX_CACHED_KEYS + 100)}, "dps": many, "data": {"dps": dict(many)}}
    assert [cache.absorb(result, live=True) for _ in range(CHECK_EVERY - 1)] == [0] * (CHECK_EVERY - 1)
    assert len(cache.historic["dps"]) > MAX_CACHED_KEYS  # between checks
    dropped = cache.absorb(result, live=True)
    assert dropped > 0
    for kept in (cache.historic, cache.last):
        assert len(kept) == MAX_CACHED_KEYS + 2  # "dps" and "data" always stay
        assert len(kept["dps"]) == MAX_CACHED_KEYS
        assert len(kept["data"]["dps"]) == MAX_CACHED_KEYS
        assert "0" in kept["dps"]  # the first ids stay; the last ones are left out
        assert str(MAX_CACHED_KEYS + 99) not in kept["dps"]
    assert [cache.absorb({"dps": {"0": "again"}}, live=True) for _ in range(CHECK_EVERY)] == [0] * CHECK_EVERY
    assert cache.historic["dps"]["0"] == "again"
