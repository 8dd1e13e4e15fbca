"""Gateway children share their parent's connection; requests and pushes are routed by cid."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.devices.conftest import next_state, port_of
from tests.devices.test_faults import bounded, err
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import DeviceAsync, DeviceUpdate
from tinytuya_asyncio.exceptions import ConnectError
from tinytuya_asyncio.simulator import SimulatedGateway

GW_ID = "gw0123456789abcdefgh"
KEY = "0123456789abcdef"


@pytest.fixture(params=["3.3", "3.4", "3.5"])
async def gateway(request: pytest.FixtureRequest) -> AsyncIterator[SimulatedGateway]:
    gw = SimulatedGateway(
        GW_ID,
        KEY,
        version=request.param,
        dps={"1": True},  # the hub's own data point
        children={"sub1": {"1": False, "2": 20}, "sub2": {"1": True}, "sub3": {"1": False}},
    )
    await gw.start(host="127.0.0.1", port=0)
    yield gw
    await gw.stop()


def hub(gw: SimulatedGateway, **kwargs: Any) -> DeviceAsync:
    kwargs.setdefault("persist", True)
    kwargs.setdefault("connection_timeout", 2)
    kwargs.setdefault("connection_retry_limit", 1)
    kwargs.setdefault("connection_retry_delay", 0)
    return DeviceAsync(GW_ID, "127.0.0.1", KEY, version=gw.version, port=port_of(gw), **kwargs)


def query_cmd(gw: SimulatedGateway) -> int:
    """The command a sub-device status query travels as on ``gw``'s version."""
    return tuya.DP_QUERY if gw.version == "3.3" else tuya.DP_QUERY_NEW


async def test_children_share_one_connection_and_get_their_own_answers(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    first = DeviceAsync("child-one", cid="sub1", parent=parent)
    second = DeviceAsync("child-two", node_id="sub2", parent=parent)
    try:
        assert parent.children == {"child-one": first, "child-two": second}
        one, two = await bounded(asyncio.gather(first.status(), second.status()))
        assert one is not None
        assert two is not None
        assert one["dps"] == {"1": False, "2": 20}
        assert two["dps"] == {"1": True}
        assert one["device"] is first  # tinytuya tags gateway results with the child object
        assert two["device"] is second

        changed = await bounded(first.set_value(2, 21))
        assert changed is not None
        assert changed["dps"] == {"2": 21}
        assert gateway.children["sub1"]["2"] == 21
        assert gateway.children["sub2"] == {"1": True}
        own = await bounded(parent.status())
        assert own is not None
        assert own["dps"] == {"1": True}
        assert "device" not in own
        assert gateway.stats.connections == 1
    finally:
        await parent.close()


@pytest.mark.parametrize("order", ["child-connects-first", "children-after-connect", "child-closed-first"])
async def test_children_never_open_a_connection_of_their_own(gateway: SimulatedGateway, order: str) -> None:
    parent = hub(gateway)
    try:
        if order == "children-after-connect":
            await bounded(parent.connect())
        child = DeviceAsync("child-one", cid="sub1", parent=parent)
        sibling = DeviceAsync("child-two", cid="sub2", parent=parent)
        if order == "child-connects-first":
            await bounded(child.connect())
            assert parent.connection_state is ConnectionState.CONNECTED
        if order == "child-closed-first":
            assert err(await bounded(child.status())) is None
            await child.close()
            assert parent.connection_state is ConnectionState.CONNECTED
        results = await bounded(asyncio.gather(child.status(), sibling.status(), parent.status()))
        dps = [None if r is None else r["dps"] for r in results]
        assert dps == [{"1": False, "2": 20}, {"1": True}, {"1": True}]
        assert child.connection_state is ConnectionState.CONNECTED
        assert gateway.stats.connections == 1
        assert gateway.connected_clients == 1
    finally:
        await parent.close()
    assert gateway.stats.replaced == 0


async def test_a_non_persistent_gateway_holds_one_connection_at_a_time(gateway: SimulatedGateway) -> None:
    parent = hub(gateway, persist=False)
    children = [DeviceAsync(f"child-{cid}", cid=cid, parent=parent) for cid in gateway.children]
    try:
        results = await bounded(asyncio.gather(*(c.status() for c in children for _ in range(3))))
        assert all(err(r) is None for r in results)
    finally:
        await parent.close()
    # Each request opened and closed the parent's connection; none ran beside another
    # (the simulated gateway replaces an older client with a newer one and counts it).
    assert gateway.stats.connections == 9
    assert gateway.stats.replaced == 0


async def test_pushes_reach_only_their_child(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    first = DeviceAsync("child-one", cid="sub1", parent=parent, connection_timeout=0.05)
    second = DeviceAsync("child-two", cid="sub2", parent=parent)
    seen: dict[str, list[DeviceUpdate]] = {"parent": [], "sub1": [], "sub2": []}
    parent.subscribe(seen["parent"].append)
    first.subscribe(seen["sub1"].append)
    stream = second.updates()
    try:
        await bounded(parent.connect())
        await gateway.wait_for_clients(1)
        await gateway.push({"1": False}, cid="sub2")
        update = await bounded(anext(stream))
        assert update.cid == "sub2"
        assert update.device_id == "child-two"
        assert update.changed == {"1": False}
        assert seen == {"parent": [], "sub1": [], "sub2": []}
        received = await bounded(second.receive())
        assert received is not None
        assert received["dps"] == {"1": False}
        # tinytuya's gateway receive() returns its children's pushes too, tagged with the child.
        on_gateway = await bounded(parent.receive())
        assert on_gateway is not None
        assert on_gateway["device"] is second
        assert await bounded(first.receive()) is None  # nothing for sub1 (after its timeout)
    finally:
        await parent.close()
    # Closing the parent ends the children's streams too.
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_gateway_streams_carry_children_only_when_asked(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    DeviceAsync("child-two", cid="sub2", parent=parent)  # sub3 has no child object
    own: list[DeviceUpdate] = []
    everything: list[DeviceUpdate] = []
    mine: list[DeviceUpdate] = []
    parent.subscribe(own.append)
    parent.subscribe(everything.append, children=True)
    child.subscribe(mine.append)
    stream = parent.updates(children=True)
    try:
        await bounded(parent.connect())
        await gateway.wait_for_clients(1)
        await gateway.push({"2": 30}, cid="sub1")
        await gateway.push({"1": False})  # the hub itself
        await gateway.push({"1": True, "9": 5}, cid="sub3")
        got = [await bounded(anext(stream)) for _ in range(3)]
        written = await bounded(child.set_value(1, True))  # a reply is an update too
        assert written is not None
        got.append(await bounded(anext(stream)))
    finally:
        await parent.close()
    assert [(u.device_id, u.cid, u.changed) for u in got] == [
        ("child-one", "sub1", {"2": 30}),
        (GW_ID, None, {"1": False}),
        (GW_ID, "sub3", {"1": True, "9": 5}),  # no child object: tagged with the cid alone
        ("child-one", "sub1", {"1": True}),
    ]
    assert everything == got
    assert [u.changed for u in own] == [{"1": False}]
    assert [u.changed for u in mine] == [{"2": 30}, {"1": True}]
    assert mine[1].dps == {"1": True, "2": 30}  # merged with what the child knew
    # The stray sub-device's data points never mix with the hub's own.
    assert (await parent.cached_status(historic=True) or {}).get("dps") == {"1": False}
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_children_true_is_for_the_gateway(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    with pytest.raises(ValueError, match="gateway"):
        child.updates(children=True)
    with pytest.raises(ValueError, match="gateway"):
        child.subscribe(print, children=True)
    await parent.close()


async def test_subdev_query_lists_the_sub_devices(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    DeviceAsync("child-one", cid="sub1", parent=parent)
    try:
        result = await bounded(parent.subdev_query())
        assert result == {
            "reqType": "subdev_online_stat_query",
            "data": {"online": ["sub1", "sub2", "sub3"], "offline": []},
        }
        assert await bounded(parent.subdev_query(nowait=True)) is None
    finally:
        await parent.close()
    assert gateway.stats.requests[tuya.LAN_EXT_STREAM] == 2


async def test_children_follow_their_parents_persistence(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)  # persist=False, as tinytuya users write
    try:
        status = await bounded(child.status())
        assert status is not None
        await gateway.push({"2": 44}, cid="sub1")
        await bounded(child.receive())
        cached = await child.cached_status(nowait=True)  # no request: kept fresh by the push
        assert cached is not None
        assert cached["dps"] == {"1": False, "2": 44}
        assert gateway.stats.requests[query_cmd(gateway)] == 1
        parent.set_socketPersistent(False)
        assert await child.cached_status(nowait=True) is None
    finally:
        await parent.close()


async def test_connection_setters_on_a_child_leave_the_shared_link_alone(gateway: SimulatedGateway) -> None:
    parent = hub(gateway, connection_timeout=2, connection_retry_limit=3, connection_retry_delay=0.25)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    link = parent._link
    try:
        assert err(await bounded(child.status())) is None
        child.set_socketRetryLimit(9)
        child.set_socketRetryDelay(7.5)
        child.set_socketTimeout(0.05)
        child.set_socketPersistent(False)
        # Stored, as tinytuya does, so code reads them back ...
        assert (child.socketRetryLimit, child.socketRetryDelay, child.connection_timeout) == (9, 7.5, 0.05)
        assert child.socketPersistent is False
        # ... and the connection every sibling shares keeps the gateway's settings.
        assert (link.retry_limit, link.retry_delay, link.timeout, link.persist) == (3, 0.25, 2, True)
        assert (parent.socketRetryLimit, parent.socketRetryDelay, parent.connection_timeout) == (3, 0.25, 2)
        assert parent.connection_state is ConnectionState.CONNECTED
        # The child's own wait, receive(), follows its timeout: nothing pushed, back at once.
        assert await bounded(child.receive()) is None
        # The gateway's setters do apply to the shared connection.
        parent.set_socketTimeout(1.5)
        parent.set_socketRetryLimit(2)
        assert (link.timeout, link.retry_limit) == (1.5, 2)
        assert gateway.stats.connections == 1
    finally:
        await parent.close()


async def test_closing_a_child_keeps_the_gateway(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    sibling = DeviceAsync("child-two", cid="sub2", parent=parent)
    try:
        assert err(await bounded(child.status())) is None
        stream = child.updates()
        sibling_stream = sibling.updates()
        await child.close()
        with pytest.raises(StopAsyncIteration):
            await anext(stream)
        assert parent.connection_state is ConnectionState.CONNECTED
        await gateway.push({"1": False}, cid="sub2")
        assert (await bounded(anext(sibling_stream))).changed == {"1": False}
        again = await bounded(child.set_value(1, True))  # a closed child works when used again
        assert again is not None
        assert again["dps"] == {"1": True}
        assert gateway.stats.connections == 1
    finally:
        await parent.close()


async def test_closing_the_gateway_ends_a_childs_request_in_flight(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    await bounded(parent.connect())
    gateway.faults.silent = True  # the request will get no answer
    request = asyncio.create_task(child.status())
    await gateway.wait_for_requests(query_cmd(gateway))  # on the wire, its reply never coming
    await bounded(parent.close())
    result = await bounded(request)
    assert err(result) == str(tuya.ERR_PAYLOAD)  # the connection closed under it, as tinytuya says
    await gateway.wait_for_clients(0)
    # It was on the wire when the gateway closed, and nothing reconnected afterwards.
    assert sum(gateway.stats.requests.values()) == 1
    assert gateway.stats.connections == 1
    assert parent.connection_state is ConnectionState.CLOSED


async def test_a_closed_gateway_is_not_reopened_by_its_children(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    assert err(await bounded(child.status())) is None
    stream = child.updates()
    await parent.close()
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert err(await bounded(child.status())) == str(tuya.ERR_CONNECT)
    assert err(await bounded(child.set_value(1, True))) == str(tuya.ERR_CONNECT)
    assert err(await bounded(child.send(child.generate_payload(tuya.CONTROL, {"1": True})))) == "901"
    assert err(await bounded(child.receive())) == str(tuya.ERR_CONNECT)
    with pytest.raises(ConnectError, match="gateway is closed"):
        await child.connect()
    assert parent.connection_state is ConnectionState.CLOSED
    assert gateway.stats.connections == 1
    assert gateway.children["sub1"]["1"] is False
    # Using the gateway again reopens it, as tinytuya does, and its children with it.
    assert err(await bounded(parent.status())) is None
    again = await bounded(child.set_value(1, True))
    assert again is not None
    assert again["dps"] == {"1": True}
    assert gateway.stats.connections == 2
    await parent.close()


async def test_children_cannot_start_requests_while_the_gateway_closes(gateway: SimulatedGateway) -> None:
    parent = hub(gateway)
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    assert err(await bounded(child.status())) is None
    closing = asyncio.create_task(parent.close())
    await asyncio.sleep(0)  # close() has started and waits for the socket to go
    assert err(await bounded(child.status())) == str(tuya.ERR_CONNECT)
    await bounded(closing)
    assert gateway.stats.connections == 1


async def test_closing_the_gateway_fails_childrens_queued_requests(gateway: SimulatedGateway) -> None:
    parent = hub(gateway, connection_timeout=0.2)
    children = [DeviceAsync(f"child-{cid}", cid=cid, parent=parent) for cid in gateway.children]
    await bounded(parent.connect())
    gateway.faults.silent = True
    requests = [asyncio.create_task(c.status()) for c in children]
    try:
        await gateway.wait_for_requests(query_cmd(gateway))  # one is on the wire, the others queue
        await bounded(parent.close())
        results = await bounded(asyncio.gather(*requests))
        state = parent.connection_state
    finally:
        for request in requests:
            request.cancel()
        await asyncio.wait(requests)
        await parent.close()
    assert all(err(r) is not None for r in results)
    assert state is ConnectionState.CLOSED
    assert gateway.stats.connections == 1


async def test_children_follow_their_parents_reconnect(gateway: SimulatedGateway) -> None:
    parent = hub(gateway, backoff=Backoff(floor=0.01, cap=0.05))
    child = DeviceAsync("child-one", cid="sub1", parent=parent)
    sibling = DeviceAsync("child-two", cid="sub2", parent=parent)
    heard: list[ConnectionState] = []
    child.add_state_listener(lambda change: heard.append(change.state))
    stream = sibling.updates()
    try:
        assert err(await bounded(child.status())) is None
        lost = next_state(child, ConnectionState.RECONNECTING)
        await gateway.stop()
        await bounded(lost)
        assert child.connection_state is not ConnectionState.CONNECTED
        back = next_state(child, ConnectionState.CONNECTED)
        await gateway.start()
        child.wake()  # a child wakes its gateway's reconnect, as the gateway itself would
        await bounded(back)
        # What the child's listener heard: up, lost, reconnecting, up again.
        assert heard.index(ConnectionState.CONNECTED) < heard.index(ConnectionState.RECONNECTING)
        assert heard[-1] is ConnectionState.CONNECTED
        written = await bounded(child.set_value(2, 99))
        assert written is not None
        assert written["dps"] == {"2": 99}
        await gateway.wait_for_clients(1)
        await gateway.push({"1": False}, cid="sub2")
        assert (await bounded(anext(stream))).changed == {"1": False}
        assert gateway.stats.connections == 2
    finally:
        await parent.close()
