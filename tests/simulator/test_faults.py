"""Every fault, observed from outside: by tinytuya's client or by a raw protocol client."""

from __future__ import annotations

import asyncio

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import IntegrityError, InvalidKeyError
from tinytuya_asyncio.protocol import BytesDiscarded, MessageReceived
from tinytuya_asyncio.simulator import Faults

from .conftest import DeviceFactory
from .helpers import body, in_thread, raw_client

QUERY = {"gwId": "x", "devId": "x", "uid": "x", "t": "0"}


def _err(result: object) -> str | None:
    return result.get("Err") if isinstance(result, dict) else None


async def test_reply_delay_holds_every_frame_in_order(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3", faults=Faults(reply_delay=0.3))
    loop = asyncio.get_running_loop()
    async with raw_client(dev) as client:
        sent_at = loop.time()
        seqno = await client.request(tuya.HEART_BEAT, QUERY)
        reply = await client.next_message()
        assert (reply.cmd, reply.seqno) == (tuya.HEART_BEAT, seqno)
        assert loop.time() - sent_at >= 0.29
        # A change takes effect at once, but a frame never overtakes one still held.
        assert await dev.push({"2": 1}) == 1
        dev.faults.reply_delay = 0.0
        assert await dev.push({"2": 2}) == 1
        first, second = await client.next_message(), await client.next_message()
        assert [body(first)["dps"], body(second)["dps"]] == [{"2": 1}, {"2": 2}]
        sent_at = loop.time()
        await client.request(tuya.HEART_BEAT, QUERY)
        await client.next_message()
        assert loop.time() - sent_at < 0.25


async def test_reply_delay_beyond_the_client_timeout_is_a_tinytuya_timeout(
    make_device: DeviceFactory,
) -> None:
    dev = await make_device("3.3", faults=Faults(reply_delay=1.0))
    result = await in_thread(dev, lambda d: d.status(), timeout=0.3)
    assert _err(result) == str(tuya.ERR_TIMEOUT)


@pytest.mark.parametrize(("version", "err"), [("3.3", tuya.ERR_TIMEOUT), ("3.5", tuya.ERR_KEY_OR_VER)])
async def test_silent_device_reads_but_never_answers(
    make_device: DeviceFactory, version: str, err: int
) -> None:
    dev = await make_device(version, faults=Faults(silent=True))
    result = await in_thread(dev, lambda d: d.status(), timeout=0.3)
    assert _err(result) == str(err)  # 3.5: no answer to the handshake
    assert dev.stats.frames_received >= 1
    assert dev.stats.frames_suppressed >= 1
    assert dev.stats.frames_sent == 0
    dev.faults.silent = False
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_close_mid_frame_cuts_the_reply(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version)
    async with raw_client(dev) as client:
        dev.faults.close_mid_frame = True
        await client.request(tuya.HEART_BEAT, QUERY)
        partial = await client.wait_closed()
        assert partial
        client.session.receive_data(partial)
        assert client.session.next_event() is None  # half a frame: nothing to decode
        assert client.session.buffered == len(partial)
    dev.faults.close_mid_frame = False
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps


async def test_close_mid_frame_seen_by_tinytuya(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3", faults=Faults(close_mid_frame=True))
    result = await in_thread(dev, lambda d: d.status(), timeout=0.5)
    assert _err(result) == str(tuya.ERR_PAYLOAD)


@pytest.mark.parametrize("version", ["3.1", "3.3", "3.4", "3.5"])
async def test_garbage_before_replies_is_skipped(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version)
    async with raw_client(dev) as client:
        dev.faults.garbage = True
        dev.faults.garbage_size = 23
        seqno = await client.request(tuya.HEART_BEAT, QUERY)
        discarded = 0
        while not isinstance(event := await client.next_event(), MessageReceived):
            assert isinstance(event, BytesDiscarded)
            discarded += event.count
        assert discarded == 23
        assert event.message.cmd == tuya.HEART_BEAT
        if version != "3.5":
            assert event.message.seqno == seqno
    # tinytuya resynchronises too.
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps


@pytest.mark.parametrize("version", ["3.1", "3.3", "3.4", "3.5"])
async def test_corrupt_integrity_fails_the_check(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version)
    async with raw_client(dev) as client:  # 3.4/3.5: negotiate first, then corrupt
        dev.faults.corrupt_integrity = True
        await client.request(tuya.HEART_BEAT, QUERY)
        with pytest.raises(IntegrityError):
            await client.next_event()


@pytest.mark.parametrize("version", ["3.4", "3.5"])
async def test_corrupt_integrity_breaks_the_handshake(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version, faults=Faults(corrupt_integrity=True))
    with pytest.raises(InvalidKeyError):
        async with raw_client(dev):
            pass
    # tinytuya notices too: GCM rejects the tag on 3.5 (tinytuya ignores 55AA checksums).
    if version == "3.5":
        result = await in_thread(dev, lambda d: d.status(), timeout=0.5)
        assert _err(result) == str(tuya.ERR_KEY_OR_VER)


@pytest.mark.parametrize("version", ["3.4", "3.5"])
async def test_reject_handshake(make_device: DeviceFactory, version: str) -> None:
    dev = await make_device(version, faults=Faults(reject_handshake=True))
    result = await in_thread(dev, lambda d: d.status())
    assert _err(result) == str(tuya.ERR_KEY_OR_VER)
    with pytest.raises(InvalidKeyError):
        async with raw_client(dev):
            pass
    assert dev.stats.handshakes_rejected == 2
    assert dev.stats.handshakes == 0
    dev.faults.reject_handshake = False
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps
    assert dev.stats.handshakes == 1


async def test_drop_after_frames_answers_then_closes(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3", faults=Faults(drop_after_frames=2, reply_delay=0.05))
    async with raw_client(dev) as client:
        await client.request(tuya.HEART_BEAT, QUERY)
        await client.request(tuya.HEART_BEAT, QUERY)
        await client.request(tuya.HEART_BEAT, QUERY)  # beyond the limit: never answered
        tail = await client.wait_closed()
        client.session.receive_data(tail)
        answered = [e for e in client.session.events() if isinstance(e, MessageReceived)]
    assert [e.message.cmd for e in answered] == [tuya.HEART_BEAT, tuya.HEART_BEAT]
    assert dev.stats.drops == 1
    assert dev.stats.requests[tuya.HEART_BEAT] == 2


async def test_drop_after_frames_counts_handshake_frames(make_device: DeviceFactory) -> None:
    dev = await make_device("3.4", faults=Faults(drop_after_frames=3))
    async with raw_client(dev) as client:  # START and FINISH are frames 1 and 2
        await client.request(tuya.DP_QUERY_NEW, {})
        message = await client.next_message()
        assert message.cmd == tuya.DP_QUERY_NEW
        assert await client.wait_closed() == b""


async def test_idle_timeout_closes_quiet_connections(make_device: DeviceFactory) -> None:
    dev = await make_device("3.3", faults=Faults(idle_timeout=0.5))
    loop = asyncio.get_running_loop()
    async with raw_client(dev) as client:
        opened = loop.time()
        # Frames keep the connection alive past the timeout...
        for _ in range(6):
            await asyncio.sleep(0.1)  # pacing the heartbeats, not waiting for an event
            await client.request(tuya.HEART_BEAT, QUERY)
            assert (await client.next_message()).cmd == tuya.HEART_BEAT
        last_frame = loop.time()
        assert last_frame - opened > 0.5
        # ...silence does not.
        assert await client.wait_closed() == b""
        assert loop.time() - last_frame >= 0.45
    assert dev.stats.idle_closes == 1


async def test_idle_timeout_set_at_runtime_arms_on_the_next_frame(make_device: DeviceFactory) -> None:
    dev = await make_device("3.5")
    async with raw_client(dev) as client:
        dev.faults.idle_timeout = 0.1
        await client.request(tuya.HEART_BEAT, {})
        await client.next_message()
        assert await client.wait_closed() == b""
    assert dev.stats.idle_closes == 1


@pytest.mark.parametrize(
    ("version", "errs"),
    [
        # The reset reaches tinytuya while it sends (901) or while it reads (904).
        ("3.3", {tuya.ERR_CONNECT, tuya.ERR_PAYLOAD}),
        ("3.4", {tuya.ERR_KEY_OR_VER}),
    ],
)
async def test_refuse_connections(make_device: DeviceFactory, version: str, errs: set[int]) -> None:
    dev = await make_device(version, faults=Faults(refuse_connections=True))
    result = await in_thread(dev, lambda d: d.status(), timeout=0.5)
    assert _err(result) in {str(e) for e in errs}
    async with raw_client(dev, handshake=False) as client:
        assert await client.wait_closed() == b""
    assert dev.stats.refused == dev.stats.connections >= 2
    assert dev.connected_clients == 0
    dev.faults.refuse_connections = False
    assert (await in_thread(dev, lambda d: d.status()))["dps"] == dev.dps


def test_faults_clear_restores_good_behaviour() -> None:
    faults = Faults(reply_delay=1, silent=True, garbage=True, drop_after_frames=3, idle_timeout=2)
    faults.clear()
    assert faults == Faults()
