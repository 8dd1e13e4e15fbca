"""Hostile bytes from a device end as error results or through the connection's one funnel.

Nothing a device sends may escape into the event loop (asyncio would log "Fatal error:
protocol.buffer_updated() call failed" and drop the transport behind our back).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory
from tests.devices.test_faults import bounded, err
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection import conn
from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason
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
