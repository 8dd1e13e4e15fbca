"""tinytuya's own sync client against the simulator: the independent referee.

The simulator and our asyncio client share the protocol core, so only a client written
by someone else can tell whether the simulator speaks the protocol as devices do.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tinytuya

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.simulator import SimulatedGateway

from .conftest import DeviceFactory
from .helpers import KEY, in_thread, tuya_device

#: (version, device22) for every firmware flavour tinytuya handles.
FLAVOURS = [
    pytest.param("3.1", False, id="3.1"),
    pytest.param("3.2", False, id="3.2"),  # 3.2 is always device22
    pytest.param("3.3", False, id="3.3"),
    pytest.param("3.3", True, id="3.3-device22"),
    pytest.param("3.4", False, id="3.4"),
    pytest.param("3.4", True, id="3.4-device22"),
    pytest.param("3.5", False, id="3.5"),
]
DPS = {"1": False, "2": 0, "3": "auto"}


@pytest.mark.parametrize(("version", "device22"), FLAVOURS)
async def test_status(make_device: DeviceFactory, version: str, device22: bool) -> None:
    dev = await make_device(version, device22=device22, dps=DPS)
    result = await in_thread(dev, lambda d: d.status())
    assert "Err" not in result, result
    if dev.device22 and version != "3.2":
        # tinytuya saw "data unvalid", switched to CONTROL_NEW and asked for DP 1 only.
        assert result["dps"] == {"1": False}
        assert dev.stats.requests[tuya.CONTROL_NEW] == 1
    else:
        # 3.2 learns the DP list in its constructor; the others get everything.
        assert result["dps"] == DPS
    if dev.version in ("3.1", "3.2", "3.3"):
        assert result["devId"] == dev.dev_id


@pytest.mark.parametrize(("version", "device22"), FLAVOURS)
async def test_set_value_returns_the_status_push(
    make_device: DeviceFactory, version: str, device22: bool
) -> None:
    dev = await make_device(version, device22=device22, dps=DPS, clock=lambda: 1_700_000_000)
    result = await in_thread(dev, lambda d: d.set_value(2, 42))
    assert result["dps"] == {"2": 42}
    assert result.get("t", result.get("data", {}).get("t")) == 1_700_000_000
    assert dev.dps == {**DPS, "2": 42}


@pytest.mark.parametrize(("version", "device22"), FLAVOURS)
async def test_turn_on_and_off(make_device: DeviceFactory, version: str, device22: bool) -> None:
    dev = await make_device(version, device22=device22, dps=DPS)

    def switch(d: Any) -> tuple[Any, bool, Any]:
        on = d.turn_on()
        state_on = dev.dps["1"]  # read between calls: the device changed before it answered
        return on, state_on, d.turn_off()

    on, state_on, off = await in_thread(dev, switch)
    assert on["dps"] == {"1": True}
    assert state_on is True
    assert off["dps"] == {"1": False}
    assert dev.dps["1"] is False


@pytest.mark.parametrize(("version", "device22"), FLAVOURS)
async def test_heartbeat(make_device: DeviceFactory, version: str, device22: bool) -> None:
    dev = await make_device(version, device22=device22)
    before = dev.stats.requests[tuya.HEART_BEAT]
    # tinytuya reads again after the empty ack and returns None when that read times out.
    result = await in_thread(dev, lambda d: d.heartbeat(nowait=False), timeout=0.5)
    assert result is None
    assert dev.stats.requests[tuya.HEART_BEAT] == before + 1


@pytest.mark.parametrize(("version", "device22"), FLAVOURS)
async def test_updatedps_returns_the_requested_dps(
    make_device: DeviceFactory, version: str, device22: bool
) -> None:
    dev = await make_device(version, device22=device22, dps=DPS)
    result = await in_thread(dev, lambda d: d.updatedps([1, 3, 99]))
    assert result["dps"] == {"1": False, "3": "auto"}


@pytest.mark.parametrize(("version", "device22"), FLAVOURS)
async def test_pushes_arrive_on_a_persistent_socket(
    make_device: DeviceFactory, version: str, device22: bool
) -> None:
    dev = await make_device(version, device22=device22, dps=DPS)

    def make() -> Any:
        client = tuya_device(dev)
        client.set_socketPersistent(True)
        client.status()  # connects (and negotiates the session key) and stays connected
        return client

    client = await asyncio.to_thread(make)
    try:
        assert dev.connected_clients == 1
        assert await dev.push({"2": 7}) == 1
        first = await asyncio.to_thread(client.receive)
        assert await dev.push({"1": True, "3": "eco"}) == 1
        second = await asyncio.to_thread(client.receive)
    finally:
        await asyncio.to_thread(client.close)
    assert first["dps"] == {"2": 7}
    assert second["dps"] == {"1": True, "3": "eco"}
    assert dev.dps == {"1": True, "2": 7, "3": "eco"}
    await dev.wait_for_clients(0)


@pytest.mark.parametrize("version", ["3.3", "3.4", "3.5"])
async def test_gateway_children_through_tinytuya_cid_support(version: str) -> None:
    gateway = SimulatedGateway(
        "simgateway0000000001", KEY, version=version, children={"sub1": {"1": False}, "sub2": {"1": True}}
    )
    await gateway.start(host="127.0.0.1", port=0)

    def exercise() -> dict[str, Any]:
        parent = tuya_device(gateway, cls=tinytuya.Device, persist=True)
        child1 = tinytuya.Device("child-one", cid="sub1", parent=parent)
        child2 = tinytuya.Device("child-two", cid="sub2", parent=parent)
        try:
            out = {
                "status1": child1.status(),
                "status2": child2.status(),
                "on1": child1.turn_on(),
                "subdevs": parent.subdev_query(),
            }
            out["after"] = child1.status()
            return out
        finally:
            parent.close()

    try:
        out = await asyncio.to_thread(exercise)
    finally:
        await gateway.stop()
    assert out["status1"]["dps"] == {"1": False}
    assert out["status1"]["device"].cid == "sub1"
    assert out["status2"]["dps"] == {"1": True}
    assert out["status2"]["device"].cid == "sub2"
    assert out["on1"]["dps"] == {"1": True}
    assert out["on1"]["device"].cid == "sub1"
    assert out["after"]["dps"] == {"1": True}
    assert out["subdevs"]["data"]["online"] == ["sub1", "sub2"]
    assert gateway.children == {"sub1": {"1": True}, "sub2": {"1": True}}


async def test_gateway_push_reaches_the_right_child() -> None:
    gateway = SimulatedGateway("simgateway0000000002", KEY, version=3.4, children={"sub1": {"1": False}})
    await gateway.start(host="127.0.0.1", port=0)

    def connect() -> tuple[Any, Any]:
        parent = tuya_device(gateway, cls=tinytuya.Device, persist=True)
        child = tinytuya.Device("child-one", cid="sub1", parent=parent)
        child.status()
        return parent, child

    try:
        parent, child = await asyncio.to_thread(connect)
        try:
            assert await gateway.push({"1": True}, cid="sub1") == 1
            pushed = await asyncio.to_thread(child.receive)
        finally:
            await asyncio.to_thread(parent.close)
    finally:
        await gateway.stop()
    assert pushed["dps"] == {"1": True}
    assert pushed["device"] is child
    assert pushed["data"]["cid"] == "sub1"
