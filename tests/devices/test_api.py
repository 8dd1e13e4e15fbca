"""DeviceAsync against the simulator: every method, every version, persistent or not."""

from __future__ import annotations

import pytest

from tests.devices.conftest import DEV_ID, VERSIONS, DeviceFactory, SimFactory, port_of
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import DeviceAsync

pytestmark = pytest.mark.parametrize("version", VERSIONS)


@pytest.mark.parametrize("persist", [False, True])
async def test_status_and_control(
    version: str, persist: bool, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=persist)

    status = await dev.status()
    assert status is not None
    if version == "3.3-device22":
        # As with tinytuya: after "data unvalid" the query names DP 1 only, until DPs are detected.
        assert status["dps"] == {"1": False}
        await dev.detect_available_dps()
        status = await dev.status()
        assert status is not None
    assert status["dps"] == {"1": False, "2": 50, "3": "auto"}

    changed = await dev.set_value(2, 75)
    assert changed is not None
    assert changed["dps"] == {"2": 75}
    assert sim.dps["2"] == 75

    assert (await dev.turn_on())["dps"] == {"1": True}  # type: ignore[index]
    assert sim.dps == {"1": True, "2": 75, "3": "auto"}
    assert (await dev.turn_off(1))["dps"] == {"1": False}  # type: ignore[index]
    assert sim.dps == {"1": False, "2": 75, "3": "auto"}

    both = await dev.set_multiple_values({1: True, "3": "manual"})
    assert both is not None
    assert both["dps"] == {"1": True, "3": "manual"}
    assert (await dev.status())["dps"] == sim.dps  # type: ignore[index]
    assert sim.dps == {"1": True, "2": 75, "3": "manual"}

    if persist:
        assert sim.stats.connections == 1
    else:  # one connection per request, each closed after its answer
        assert sim.stats.connections == sum(sim.stats.requests.values())
    assert dev.state is (ConnectionState.CONNECTED if persist else ConnectionState.DISCONNECTED)


async def test_heartbeat_and_updatedps(version: str, simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    assert await dev.heartbeat() is None  # nowait by default, as in tinytuya
    assert await dev.heartbeat(nowait=False) is None  # answered by an empty HEART_BEAT
    sim.dps["2"] = 99  # the device's value changed without a push
    updated = await dev.updatedps([2])
    assert updated is not None
    assert updated["dps"] == {"2": 99}
    assert sim.stats.requests[tuya.HEART_BEAT] == 2
    assert sim.stats.requests[tuya.UPDATEDPS] == 1


async def test_nowait_sends_without_reading(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    if version == "3.3-device22":
        await dev.detect_available_dps()  # otherwise device22 firmware reports only DP 1
    assert await dev.set_value(1, True, nowait=True) is None
    # The next request's answer is still its own, not the push the nowait write caused
    # (which reports DP 1 alone).
    status = await dev.status()
    assert status is not None
    assert status["dps"] == {"1": True, "2": 50, "3": "auto"}


async def test_set_timer_picks_the_highest_dp(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version, dps={"1": False, "9": 0, "10": 0})
    dev = connect_to(sim)
    if version == "3.3-device22":
        await dev.detect_available_dps()  # otherwise device22 firmware reports only DP 1
    result = await dev.set_timer(60)
    assert result is not None
    assert result["dps"] == {"10": 60}
    assert sim.dps["10"] == 60


async def test_detect_available_dps(version: str, simulate: SimFactory, connect_to: DeviceFactory) -> None:
    sim = await simulate(version, dps={"1": True, "2": 1, "24": "x", "101": 5})
    dev = connect_to(sim)
    found = await dev.detect_available_dps()
    assert set(found) == {"1", "2", "24", "101"}  # device22 firmware included: every range probed
    assert dev.dps_to_request == found


async def test_device22_is_detected_and_remembered(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim)
    first = await dev.status()
    assert first is not None
    device22 = sim.device22 or version == "3.2"
    assert dev.dev_type == ("device22" if device22 else "default")
    queries_before = sim.stats.requests[tuya.CONTROL_NEW]
    second = await dev.status()
    assert second == first
    # device22 firmware is queried with CONTROL_NEW naming the DPs; others with DP_QUERY(_NEW).
    assert (sim.stats.requests[tuya.CONTROL_NEW] - queries_before == 1) is device22


async def test_cached_status_is_kept_fresh_by_pushes(
    version: str, simulate: SimFactory, connect_to: DeviceFactory
) -> None:
    sim = await simulate(version)
    dev = connect_to(sim, persist=True)
    assert await dev.cached_status(nowait=True) is None
    if version == "3.3-device22":
        await dev.detect_available_dps()  # otherwise device22 firmware reports only DP 1
    await dev.status()
    pushed = dev.updates()
    await sim.push({"2": 12})
    update = await anext(pushed)
    assert update.changed == {"2": 12}
    cached = await dev.cached_status(nowait=True)
    assert cached is not None
    assert cached["dps"]["2"] == 12
    historic = await dev.cached_status(historic=True)
    assert historic is not None
    assert historic["dps"] == sim.dps


async def test_async_with_connects_and_closes(version: str, simulate: SimFactory) -> None:
    sim = await simulate(version)
    number = version.split("-", maxsplit=1)[0]
    states: list[ConnectionState] = []
    async with DeviceAsync(DEV_ID, "127.0.0.1", sim.local_key, version=number, port=port_of(sim)) as dev:
        states.append(dev.state)
        await sim.wait_for_clients(1)
    states.append(dev.state)
    await sim.wait_for_clients(0)
    await dev.close()  # idempotent
    states.append(dev.state)
    assert states == [ConnectionState.CONNECTED, ConnectionState.CLOSED, ConnectionState.CLOSED]
