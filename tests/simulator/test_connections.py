"""Connection policies, sequence numbers, restart and clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.simulator import ConnectionPolicy, SimulatedDevice, service

from .conftest import DeviceFactory
from .helpers import DEV_ID, KEY, in_thread, raw_client

QUERY = {"gwId": "x", "devId": "x", "uid": "x", "t": "0"}


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_replace_closes_the_old_client(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version)  # REPLACE is the default
    async with raw_client(dev) as old:
        await dev.wait_for_clients(1)
        async with raw_client(dev) as new:
            assert await old.wait_closed() == b""
            await new.request(tuya.HEART_BEAT, QUERY)
            assert (await new.next_message()).cmd == tuya.HEART_BEAT
            await dev.wait_for_clients(1)
            assert await dev.push({"1": True}) == 1
            pushed = await new.next_message()
            assert pushed.cmd == tuya.STATUS
            assert "1" in pushed.payload.decode()
    assert dev.stats.replaced == 1
    await dev.wait_for_clients(0)


@pytest.mark.parametrize("version", ["3.3", "3.4"])
async def test_refuse_keeps_the_first_client(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version, policy=ConnectionPolicy.REFUSE)
    async with raw_client(dev) as first:
        await dev.wait_for_clients(1)
        async with raw_client(dev, handshake=False) as second:
            assert await second.wait_closed() == b""
        await first.request(tuya.HEART_BEAT, QUERY)
        assert (await first.next_message()).cmd == tuya.HEART_BEAT
        assert dev.connected_clients == 1
    assert dev.stats.refused == 1
    # Once the first client has gone, the next one is served.
    await dev.wait_for_clients(0)
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_multiple_pushes_to_every_client(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version, policy=ConnectionPolicy.MULTIPLE)
    async with raw_client(dev) as a, raw_client(dev) as b, raw_client(dev) as c:
        await dev.wait_for_clients(3)
        assert await dev.push({"2": 9}) == 3
        for client in (a, b, c):
            message = await client.next_message()
            assert message.cmd == tuya.STATUS
            assert "9" in message.payload.decode()
        # A control from one client: the ack goes to it, the status push to all.
        payload = (
            {"dps": {"1": True}}
            if version == "3.3"
            else {"protocol": 5, "t": 0, "data": {"dps": {"1": True}}}
        )
        await a.request(tuya.CONTROL if version == "3.3" else tuya.CONTROL_NEW, payload)
        ack = await a.next_message()
        assert ack.payload == b""
        for client in (a, b, c):
            assert (await client.next_message()).cmd == tuya.STATUS
    assert dev.stats.pushes == 6


async def test_sequence_numbers_up_to_3_4_echo_requests_and_pushes_carry_zero(
    make_device: DeviceFactory,
) -> None:
    dev = await make_device("3.4")
    async with raw_client(dev) as client:
        seqno = await client.request(tuya.DP_QUERY_NEW, {"x": 1})
        assert (await client.next_message()).seqno == seqno
        assert dev.stats.received[-1] == (tuya.DP_QUERY_NEW, b'{"x": 1}')
        await dev.push({"1": True})
        assert (await client.next_message()).seqno == 0


async def test_3_5_numbers_every_frame_from_one_device_counter(make_device: DeviceFactory) -> None:
    dev = await make_device("3.5")
    seen: list[int] = []
    for _ in range(2):  # the counter survives reconnects
        async with raw_client(dev) as client:
            await client.request(tuya.DP_QUERY_NEW, {})
            seen.append((await client.next_message()).seqno)
            await dev.push({"1": True})
            seen.append((await client.next_message()).seqno)
        await dev.wait_for_clients(0)
    # Each connection also consumed one number for its handshake answer.
    assert seen == [2, 3, 5, 6]


async def test_stop_closes_clients_and_restart_serves_again(make_device: DeviceFactory) -> None:
    dev = await make_device("3.4")
    port = dev.port
    async with raw_client(dev) as client:
        await dev.wait_for_clients(1)
        await dev.stop()
        assert await client.wait_closed() == b""
    assert not dev.is_serving
    assert dev.connected_clients == 0
    with pytest.raises(OSError):
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
    await dev.start()  # same address, fresh connections and session keys
    assert dev.port == port
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps
    assert dev.stats.handshakes == 2


async def test_stop_leaves_no_server_transport_or_task_behind() -> None:
    dev = SimulatedDevice(DEV_ID, KEY, version=3.3, dps={"1": False})
    tasks_before = asyncio.all_tasks()
    await dev.start(host="127.0.0.1", port=0)
    port = dev.port
    assert port is not None
    async with raw_client(dev) as client:
        await dev.wait_for_clients(1)
        await dev.stop()
        await client.wait_closed()
    await dev.stop()  # idempotent
    assert asyncio.all_tasks() == tasks_before
    # The port is free again: bind it ourselves.
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()


async def test_wait_for_clients_has_a_deadline(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3")
    with pytest.raises(TimeoutError):
        await dev.wait_for_clients(1, timeout=0.05)
    await dev.wait_for_clients(0)


async def test_push_without_clients_reaches_nobody_but_changes_state(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3")
    assert await dev.push({"7": "new"}) == 0
    assert dev.dps["7"] == "new"
    with pytest.raises(KeyError):
        await dev.push({"1": True}, cid="nope")


async def test_starting_twice_is_refused(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3")
    with pytest.raises(RuntimeError):
        await dev.start()


def test_repr_and_state_never_show_the_key() -> None:
    dev = SimulatedDevice(DEV_ID, "s3cr3tk3y0000000", version=3.4)
    assert "s3cr3tk3y" not in repr(dev)
    assert "s3cr3tk3y" not in repr(dev.state)
    assert DEV_ID in repr(dev)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"version": 3.3, "local_key": "short"}, ValueError),
        ({"version": 3.5, "device22": True}, ValueError),
        ({"version": 3.6}, Exception),
    ],
)
def test_invalid_devices_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    key = kwargs.pop("local_key", KEY)
    with pytest.raises(error):
        SimulatedDevice(DEV_ID, key, **kwargs)  # type: ignore[arg-type]


def test_3_2_is_always_device22() -> None:
    assert SimulatedDevice(DEV_ID, KEY, version=3.2).device22
    assert not SimulatedDevice(DEV_ID, KEY, version=3.3).device22


async def test_a_client_that_stops_reading_gets_no_more_pushes(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", dev.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    try:
        await dev.wait_for_clients(1)
        pushed = 0
        while await dev.push({"2": pushed}) == 1:  # until the write buffer passes its high-water mark
            pushed += 1
            assert pushed < 1_000_000
        assert pushed > 0
        # Once the client reads again, pushes flow again.
        while await dev.push({"2": -1}) == 0:
            assert await asyncio.wait_for(reader.read(1 << 20), 2)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_replaced_client_that_never_reads_is_reset_after_a_grace_period(
    make_device: DeviceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_CLOSE_GRACE", 0.2)
    dev = await make_device("3.3")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", dev.port))
    _, writer = await asyncio.open_connection(sock=sock)
    try:
        await dev.wait_for_clients(1)
        (stuck,) = dev._server._connections
        while await dev.push({"2": 1}) == 1:  # fill its buffers: a graceful close cannot finish
            pass
        async with raw_client(dev) as newcomer:
            await asyncio.wait_for(stuck.closed, 2)
            await newcomer.request(tuya.HEART_BEAT, QUERY)
            assert (await newcomer.next_message()).cmd == tuya.HEART_BEAT
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
