"""Misbehaving devices: every call returns tinytuya's error code in time, and nothing hangs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest

from tests.devices.conftest import VERSIONS, DeviceFactory, SimFactory
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason, StateChange
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.metrics import CounterSink

#: Generous bound for "returns in time": no test may depend on the machine's speed, only
#: on the call not hanging (the real deadline is a few connection timeouts).
DEADLINE = 10.0
T = TypeVar("T")
FAST = {"connection_timeout": 0.3, "connection_retry_limit": 1, "connection_retry_delay": 0}


def err(result: dict[str, Any] | None) -> str | None:
    return None if result is None else result.get("Err")


async def bounded(call: Awaitable[T]) -> T:
    """Every wait in the device tests ends: a hang fails the test instead of stalling it."""
    async with asyncio.timeout(DEADLINE):
        return await call


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("persist", [False, True])
async def test_slow_device_times_out_then_recovers(
    version: str, persist: bool, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=persist, **FAST)
    assert err(await bounded(dev.status())) is None
    sim.faults.reply_delay = 1.0
    # 3.4/3.5: the retry's fresh connection cannot negotiate a session in time either; a
    # silent handshake is a timeout, not a wrong key (tinytuya says 914 for both).
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    sim.faults.clear()
    if persist and dev.state is not ConnectionState.CONNECTED:
        reconnected = _state_seen(dev, ConnectionState.CONNECTED)
        dev.wake()  # skip the backoff instead of waiting for it
        await bounded(reconnected)
    result = await bounded(dev.status())
    assert result is not None
    assert "dps" in result


@pytest.mark.parametrize("version", VERSIONS)
async def test_silent_device(version: str, simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate(version)
    sim.faults.silent = True
    dev = connect_to(sim, **FAST)
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    assert err(await bounded(dev.set_value(1, True))) == str(tuya.ERR_TIMEOUT)


@pytest.mark.parametrize("version", VERSIONS)
async def test_device_closing_mid_frame(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    sim.faults.close_mid_frame = True
    dev = connect_to(sim, **FAST)
    # 3.4/3.5 lose the handshake's answer: a closed connection, not a key problem.
    assert err(await bounded(dev.status())) == str(tuya.ERR_PAYLOAD)
    sim.faults.clear()
    assert err(await bounded(dev.status())) is None


@pytest.mark.parametrize("version", VERSIONS)
async def test_garbage_before_frames_is_skipped(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    sim.faults.garbage = True
    sink = CounterSink()
    dev = connect_to(sim, metrics=sink)
    result = await bounded(dev.set_value(2, 7))
    assert result is not None
    assert result["dps"] == {"2": 7}
    assert sink.counts["bytes_discarded"] >= 1


@pytest.mark.parametrize("version", VERSIONS)
async def test_corrupted_frames_are_rejected_not_returned(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True, **FAST)
    assert err(await bounded(dev.status())) is None
    sim.faults.corrupt_integrity = True
    # On a live session the bad frame kills the connection; the retry's handshake (3.4/3.5)
    # then fails its check too, which tinytuya reports as a key problem.
    expected = tuya.ERR_KEY_OR_VER if version in ("3.4", "3.5") else tuya.ERR_PAYLOAD
    assert err(await bounded(dev.status())) == str(expected)
    sim.faults.clear()
    dev.wake()
    await bounded(_wait_for_state(dev, ConnectionState.CONNECTED))
    assert err(await bounded(dev.status())) is None


@pytest.mark.parametrize("version", ["3.2", "3.3", "3.4", "3.5"])
async def test_wrong_key(version: str, simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, local_key="fedcba9876543210", **FAST)
    # 3.2/3.3 answers do not decrypt; a 3.4/3.5 device drops a handshake it cannot verify,
    # which looks like any closed connection, so the reason names both causes.
    result = await bounded(dev.status())
    assert err(result) == str(tuya.ERR_PAYLOAD)
    if version in ("3.4", "3.5"):
        assert result is not None
        assert "key or version" in result["Payload"]
    assert sim.dps["1"] is False
    await bounded(dev.set_value(1, True))
    assert sim.dps["1"] is False  # the device could not read it


async def test_short_key_is_a_key_error(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, local_key="short")
    assert err(await bounded(dev.status())) == str(tuya.ERR_KEY_OR_VER)
    assert sim.stats.connections == 0


@pytest.mark.parametrize("version", ["3.4", "3.5"])
async def test_rejected_handshake_is_a_key_error(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    sim.faults.reject_handshake = True
    dev = connect_to(sim, connection_retry_limit=3)
    assert err(await bounded(dev.status())) == str(tuya.ERR_KEY_OR_VER)
    assert sim.stats.handshakes_rejected == 1  # a bad proof is not retried: it cannot improve


async def test_refused_and_stopped_devices(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    sim.faults.refuse_connections = True
    dev = connect_to(sim, **FAST)
    assert err(await bounded(dev.status())) in {str(tuya.ERR_CONNECT), str(tuya.ERR_PAYLOAD)}
    await sim.stop()
    assert err(await bounded(dev.status())) == str(tuya.ERR_CONNECT)


async def test_connect_timeout_is_offline(
    simulate: SimFactory, connect_to: DeviceFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = await simulate("3.3")
    dev = connect_to(sim, **FAST)
    loop = asyncio.get_running_loop()
    never = loop.create_future()

    async def hanging_connect(*args: Any, **kwargs: Any) -> Any:
        return await never

    monkeypatch.setattr(loop, "create_connection", hanging_connect)
    assert err(await bounded(dev.status())) == str(tuya.ERR_OFFLINE)
    assert dev.last_state_change.reason is DisconnectReason.OFFLINE


@pytest.mark.parametrize("version", VERSIONS)
async def test_device_restart_reconnects_with_a_new_session(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True, backoff=Backoff(floor=0.01, cap=0.05))
    assert err(await bounded(dev.status())) is None
    reconnected = _state_seen(dev, ConnectionState.CONNECTED)
    await sim.stop()
    await sim.start()
    await bounded(reconnected)
    result = await bounded(dev.set_value(1, True))
    assert result is not None
    assert result["dps"] == {"1": True}
    assert sim.stats.connections == 2
    if version in ("3.4", "3.5"):
        assert sim.stats.handshakes == 2


async def test_calls_while_backing_off_get_a_rate_limited_attempt(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.4")
    sink = CounterSink()
    dev = connect_to(
        sim, persist=True, metrics=sink, backoff=Backoff(floor=30, cap=60), connection_retry_delay=0.2
    )
    assert err(await bounded(dev.status())) is None
    backing_off = _state_seen(dev, ConnectionState.RECONNECTING, retry_in=True)
    await sim.stop()
    change = await bounded(backing_off)
    assert change.retry_in is not None
    assert change.retry_in >= 30 * 0.75
    failed = sink.counts["connect_failed"]
    # The supervisor waits 30 s; callers do not: each call is a real attempt (refused here),
    # at most one per connection_retry_delay.
    for n in (1, 2):
        assert err(await bounded(dev.status())) == str(tuya.ERR_CONNECT)
        assert sink.counts["connect_failed"] == failed + n
    # An attempt that could only start after this call's budget (the connection timeout, 2 s)
    # is not made: the call fails at once with "device unreachable".
    dev.set_socketRetryDelay(30)
    offline = await bounded(dev.status())
    assert err(offline) == str(tuya.ERR_OFFLINE)
    assert offline is not None
    assert "reconnecting in the background" in offline["Payload"]
    assert sink.counts["connect_failed"] == failed + 2
    await sim.start()
    reconnected = _state_seen(dev, ConnectionState.CONNECTED)
    dev.wake()  # e.g. the scanner saw its broadcast
    await bounded(reconnected)
    assert err(await bounded(dev.status())) is None


@pytest.mark.parametrize("version", ["3.3", "3.5"])
async def test_replaced_by_another_client(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    reasons: list[DisconnectReason] = []
    dev = connect_to(sim, persist=True, backoff=Backoff(floor=0.01, cap=0.02))
    dev.add_state_listener(lambda change: reasons.append(change.reason) if change.reason else None)
    assert err(await bounded(dev.status())) is None
    other = connect_to(sim)  # a second client takes the device (REPLACE policy closes ours)
    for _ in range(3):
        reconnected = _state_seen(dev, ConnectionState.CONNECTED)
        assert err(await bounded(other.status())) is None
        await bounded(reconnected)  # ours comes back and takes it again
    assert DisconnectReason.REPLACED in reasons
    assert err(await bounded(dev.status())) is None


async def test_idle_connections_are_kept_alive_by_heartbeats(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.5")
    sim.faults.idle_timeout = 0.3
    beats = _EventCounter("heartbeat", 8)
    dev = connect_to(sim, persist=True, heartbeat_interval=0.05, metrics=beats)
    assert err(await bounded(dev.status())) is None
    await bounded(beats.reached.wait())  # 8 beats span more than the device's idle timeout
    assert sim.stats.idle_closes == 0
    assert sim.stats.connections == 1
    assert sim.stats.requests[tuya.HEART_BEAT] >= beats.target - 1  # the last may be in flight
    bodies = {body for cmd, body in sim.stats.received if cmd == tuya.HEART_BEAT}
    assert bodies == {dev.generate_payload(tuya.HEART_BEAT).payload}  # what heartbeat() sends


async def test_idle_close_without_heartbeats_reconnects(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.3")
    sim.faults.idle_timeout = 0.05
    dev = connect_to(sim, persist=True, heartbeat_interval=None)
    assert err(await bounded(dev.status())) is None
    change = await bounded(_state_seen(dev, ConnectionState.RECONNECTING))
    assert change.reason is DisconnectReason.CLOSED_BY_DEVICE
    assert err(await bounded(dev.status())) is None
    assert sim.stats.idle_closes >= 1


async def test_missed_heartbeat_means_dead_connection(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate("3.4")
    dev = connect_to(
        sim, persist=True, heartbeat_interval=0.05, heartbeat_timeout=0.1, backoff=Backoff(30, 60)
    )
    assert err(await bounded(dev.status())) is None
    lost = _state_seen(dev, ConnectionState.RECONNECTING)
    sim.faults.silent = True
    change = await bounded(lost)
    assert change.reason is DisconnectReason.TIMEOUT


async def test_drop_after_frames_is_retried(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.3")
    sim.faults.drop_after_frames = 1
    dev = connect_to(sim, persist=True, backoff=Backoff(floor=0.01, cap=0.02))
    for value in range(3):
        result = await bounded(dev.set_value(2, value))
        assert err(result) is None
    assert sim.dps["2"] == 2


# -- helpers -------------------------------------------------------------------------------


class _EventCounter(CounterSink):
    """A metrics sink that sets an event once ``name`` was reported ``target`` times."""

    def __init__(self, name: str, target: int) -> None:
        super().__init__()
        self.name = name
        self.target = target
        self.reached = asyncio.Event()

    def on_event(self, name: str, /, **data: object) -> None:
        super().on_event(name, **data)
        if self.counts[self.name] >= self.target:
            self.reached.set()


def _state_seen(
    dev: DeviceAsync,
    state: ConnectionState,
    *,
    retry_in: bool = False,
    reason: DisconnectReason | None = None,
) -> asyncio.Future[StateChange]:
    """A future resolved by the next change to ``state`` (with a backoff delay if ``retry_in``,
    for ``reason`` if given)."""
    future: asyncio.Future[StateChange] = asyncio.get_running_loop().create_future()

    def listener(change: StateChange) -> None:
        wanted = (not retry_in or change.retry_in) and (reason is None or change.reason is reason)
        if change.state is state and wanted and not future.done():
            future.set_result(change)
            remove()

    remove = dev.add_state_listener(listener)
    return future


async def _wait_for_state(dev: DeviceAsync, state: ConnectionState) -> None:
    if dev.state is not state:
        await _state_seen(dev, state)


async def test_v31_without_a_key_reads_but_cannot_write(
    simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    """As with tinytuya: 3.1 status travels in clear; control needs the key."""
    sim = await simulate("3.1")
    dev = connect_to(sim, local_key="")
    status = await bounded(dev.status())
    assert status is not None
    assert status["dps"] == sim.dps
    assert err(await bounded(dev.set_value(1, True))) == str(tuya.ERR_PARAMS)
    assert sim.dps["1"] is False
    short = connect_to(sim, local_key="short")
    assert err(await bounded(short.status())) == str(tuya.ERR_KEY_OR_VER)


@pytest.mark.parametrize("version", ["3.4", "3.5"])
async def test_integrity_failure_renews_the_session_key(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True, backoff=Backoff(floor=0.01, cap=0.02))
    assert err(await bounded(dev.status())) is None
    assert sim.stats.handshakes == 1
    sim.faults.corrupt_integrity = True
    reconnected = _state_seen(dev, ConnectionState.CONNECTED)
    await sim.push({"1": True})  # a forged-looking frame on the live session
    sim.faults.clear()
    await bounded(reconnected)
    result = await bounded(dev.status())
    assert sim.stats.handshakes == 2  # a fresh connection and a new session key
    assert result is not None
    assert result["dps"]["1"] is True


async def test_bad_key_backs_off_to_the_cap(simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate("3.4")
    dev = connect_to(sim, persist=True, backoff=Backoff(floor=0.01, cap=40))
    assert err(await bounded(dev.status())) is None
    sim.faults.reject_handshake = True  # from now on the device proves a different key
    capped = _state_seen(dev, ConnectionState.RECONNECTING, retry_in=True, reason=DisconnectReason.BAD_KEY)
    await sim.stop()
    await sim.start()
    change = await bounded(capped)
    assert change.reason is DisconnectReason.BAD_KEY
    assert change.retry_in is not None
    assert change.retry_in >= 40 * 0.75  # straight to the cap: retrying fast cannot help
    assert err(await bounded(dev.status())) == str(tuya.ERR_KEY_OR_VER)  # fails fast, as a key error
