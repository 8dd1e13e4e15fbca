"""Gateway children share their parent's connection; requests and pushes are routed by cid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.devices.conftest import port_of
from tinytuya_asyncio.devices import DeviceAsync, DeviceUpdate
from tinytuya_asyncio.simulator import SimulatedGateway

GW_ID = "gw0123456789abcdefgh"
KEY = "0123456789abcdef"


@pytest.fixture(params=["3.3", "3.4", "3.5"])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[SimulatedGateway]:
    gw = SimulatedGateway(
        GW_ID, KEY, version=request.param, children={"sub1": {"1": False, "2": 20}, "sub2": {"1": True}}
    )
    await gw.start(host="127.0.0.1", port=0)
    yield gw
    await gw.stop()


async def test_children_share_one_connection_and_get_their_own_answers(gateway: SimulatedGateway) -> None:
    parent = DeviceAsync(
        GW_ID, "127.0.0.1", KEY, version=gateway.version, port=port_of(gateway), persist=True
    )
    first = DeviceAsync("child-one", cid="sub1", parent=parent)
    second = DeviceAsync("child-two", node_id="sub2", parent=parent)
    try:
        assert parent.children == {"child-one": first, "child-two": second}
        one, two = await asyncio.gather(first.status(), second.status())
        assert one is not None
        assert two is not None
        assert one["dps"] == {"1": False, "2": 20}
        assert two["dps"] == {"1": True}
        assert one["device"] is first  # tinytuya tags gateway results with the child object
        assert two["device"] is second

        changed = await first.set_value(2, 21)
        assert changed is not None
        assert changed["dps"] == {"2": 21}
        assert gateway.children["sub1"]["2"] == 21
        assert gateway.children["sub2"] == {"1": True}
        assert gateway.stats.connections == 1
    finally:
        await parent.close()


async def test_pushes_reach_only_their_child(gateway: SimulatedGateway) -> None:
    parent = DeviceAsync(
        GW_ID, "127.0.0.1", KEY, version=gateway.version, port=port_of(gateway), persist=True
    )
    first = DeviceAsync("child-one", cid="sub1", parent=parent)
    second = DeviceAsync("child-two", cid="sub2", parent=parent)
    seen: dict[str, list[DeviceUpdate]] = {"parent": [], "sub1": [], "sub2": []}
    parent.subscribe(seen["parent"].append)
    first.subscribe(seen["sub1"].append)
    stream = second.updates()
    try:
        await parent.connect()
        await gateway.wait_for_clients(1)
        await gateway.push({"1": False}, cid="sub2")
        async with asyncio.timeout(5):
            update = await anext(stream)
        assert update.cid == "sub2"
        assert update.changed == {"1": False}
        assert seen == {"parent": [], "sub1": [], "sub2": []}
        received = await second.receive()
        assert received is not None
        assert received["dps"] == {"1": False}
    finally:
        await parent.close()
    # Closing the parent ends the children's streams too.
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
