"""The rest of the API surface: multi-DP paths, raw sends, gateways' queries, settings."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import DeviceAsync, XenonDeviceAsync
from tinytuya_asyncio.exceptions import DeviceNotFoundError
from tinytuya_asyncio.protocol import Role, Session
from tinytuya_asyncio.simulator import SimulatedGateway


async def test_set_multiple_values_one_at_a_time(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.4")
    dev = connect_to(sim, max_simultaneous_dps=1)
    result = await dev.set_multiple_values({"1": True, "2": 3})
    assert result is not None
    assert result["dps"] == {"1": True, "2": 3}
    controls = [body for cmd, body in sim.stats.received if cmd == tuya.CONTROL_NEW]
    assert [json.loads(b)["data"]["dps"] for b in controls] == [{"1": True}, {"2": 3}]


async def test_set_multiple_values_nowait(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    assert await dev.set_multiple_values({"1": True, "2": 9}, nowait=True) is None
    dev.max_simultaneous_dps = 1
    assert await dev.set_multiple_values({"2": 10, "3": "x"}, nowait=True) is None
    assert (await dev.status())["dps"] == {"1": True, "2": 10, "3": "x"}  # type: ignore[index]


async def test_set_multiple_values_falls_back_to_single_dps(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    """A device that cannot take several DPs answers with an error; single writes succeed."""
    sim = await simulate("3.3")
    dev = connect_to(sim)
    calls: list[dict[str, object]] = []
    original = dev._send_receive

    async def refuse_multiple(payload: object, **kwargs: object) -> dict[str, object] | None:
        body = json.loads(payload.payload)  # type: ignore[attr-defined]
        calls.append(body.get("dps", {}))
        if len(body.get("dps", {})) > 1:
            return tuya.error_json(tuya.ERR_PAYLOAD)
        return await original(payload, **kwargs)  # type: ignore[arg-type]

    dev._send_receive = refuse_multiple  # type: ignore[method-assign]
    result = await dev.set_multiple_values({"1": True, "2": 4})
    assert result is not None
    assert result["dps"] == {"1": True, "2": 4}
    assert dev.max_simultaneous_dps == 1
    assert calls == [{"1": True, "2": 4}, {"1": True}, {"2": 4}]


async def test_send_and_generate_payload(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.5")
    dev = connect_to(sim, persist=True)
    payload = dev.generate_payload(tuya.CONTROL, {"1": True})
    assert payload.cmd == tuya.CONTROL_NEW  # 3.5 sends CONTROL as CONTROL_NEW
    assert await dev.send(payload) is None
    assert (await dev.receive())["dps"] == {"1": True}  # type: ignore[index]
    assert sim.dps["1"] is True
    # Not a frame: tinytuya's "missing parameters" dict with the reason, never an exception.
    refused = await dev._send_receive(b"raw")
    assert refused is not None
    assert refused["Err"] == str(tuya.ERR_PARAMS)
    assert "frame" in refused["Payload"]


async def test_send_raw_frame(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    frame = Session(Role.CLIENT, "3.3", sim.local_key.encode()).send(tuya.CONTROL, b'{"dps":{"2":5}}')
    assert await dev.send(frame) is None
    assert (await dev.receive())["dps"] == {"2": 5}  # type: ignore[index]


@pytest.mark.parametrize("persist", [False, True])
async def test_raw_frame_request_gets_its_answer(
    persist: bool, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    """tinytuya's _send_receive takes encoded bytes and returns the reply; so does ours."""
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=persist)
    body = dev.generate_payload(tuya.DP_QUERY).payload
    frame = Session(Role.CLIENT, "3.3", sim.local_key.encode()).send(tuya.DP_QUERY, body)
    result = await dev._send_receive(frame)
    assert result is not None
    assert result["dps"] == sim.dps


async def test_product_and_unanswered_requests(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, connection_timeout=0.2)
    assert await dev.product() is None  # acked with an error code, no data: tinytuya says None
    assert dev.cmd_retcode is None


async def test_gateway_subdevice_query() -> None:
    gw = SimulatedGateway(
        "gw0123456789abcdefgh", "0123456789abcdef", version="3.4", children={"a1": {"1": True}}
    )
    await gw.start(host="127.0.0.1", port=0)
    parent = DeviceAsync(gw.dev_id, "127.0.0.1", gw.local_key, version=3.4, port=gw.port or 0)
    try:
        result = await parent.subdev_query()
        assert result is not None
        assert "a1" in json.dumps(result)
    finally:
        await parent.close()
        await gw.stop()


async def test_settings_apply_to_the_connection(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, persist=True)
    await dev.status()
    states = [dev.state]
    dev.set_socketRetryLimit(3)
    dev.set_socketRetryDelay(0.5)
    dev.set_socketTimeout(1.5)
    dev.set_retry(False)
    dev.set_sendWait(None)
    dev.set_socketNODELAY(False)
    assert (dev._link.retry_limit, dev._link.retry_delay, dev._link.timeout) == (3, 0.5, 1.5)
    dev.set_socketPersistent(False)  # closes the connection now, as tinytuya does
    await sim.wait_for_clients(0)
    states.append(dev.state)
    assert states == [ConnectionState.CONNECTED, ConnectionState.DISCONNECTED]
    assert await dev.cached_status(nowait=True) is None


async def test_set_version_reconnects_with_the_new_protocol(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim33 = await simulate("3.3")
    sim35 = await simulate("3.5")
    dev = connect_to(sim33, persist=True)
    assert (await dev.status()) is not None
    dev.set_version(3.5)
    dev.port = dev._link.port = sim35.port or 0
    assert (dev.version, dev.version_str, dev.version_bytes) == (3.5, "v3.5", b"3.5")
    result = await dev.status()
    assert result is not None
    assert result["dps"] == sim35.dps
    assert sim35.stats.handshakes == 1
    dev.set_version("3.2")
    assert dev.dev_type == "device22"


async def test_no_address_and_not_heard_is_tinytuyas_905() -> None:
    # The suite's resolver listens on loopback only and sends no probe (tests/conftest.py).
    dev = XenonDeviceAsync(
        "bf0123456789abcdefgh", None, "secretsecret1234", version=3.3, connection_timeout=0.1,
        connection_retry_limit=1,
    )  # fmt: skip
    result = await dev.status()
    assert result is not None
    assert result["Err"] == "905"
    with pytest.raises(DeviceNotFoundError):
        await dev.connect()
    assert "secret" not in repr(dev)
    assert "<redacted>" in repr(dev)
    await dev.close()


async def test_detect_gives_up_on_an_unreachable_device(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.2")
    dev = connect_to(sim)
    await sim.stop()
    async with asyncio.timeout(5):
        found = await dev.detect_available_dps()
    assert found == {}
    assert sim.stats.connections == 0
