"""A Zigbee hub with two dozen children of every class: status, control and pushes at once,
then the hub restarts and everything goes on over the new connection.

Half of the children are written to while the others receive pushes, so that every
answer can be checked exactly: a push for a child whose own write is in flight could
answer that write (the device sends both as STATUS frames), which is the device's
ambiguity, not the routing's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any, TypeVar

import pytest

from tests.devices.conftest import next_state, port_of
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices import (
    BulbDeviceAsync,
    CoverDeviceAsync,
    DeviceAsync,
    DeviceUpdate,
    OutletDeviceAsync,
    UpdateStream,
    bulb_values,
)
from tinytuya_asyncio.simulator import SimulatedGateway, profile_dps

GW_ID = "gwhub0123456789abcde"
KEY = "0123456789abcdef"
CHILDREN = 24
#: Profiles round-robin over the children, and the class each is driven through.
KINDS: list[tuple[str, type[DeviceAsync]]] = [
    ("plug", OutletDeviceAsync),
    ("bulb_a", BulbDeviceAsync),
    ("cover_1", CoverDeviceAsync),
    ("dimmer", OutletDeviceAsync),
    ("bulb_b", BulbDeviceAsync),
    ("cover_8", CoverDeviceAsync),
    ("bulb_c", BulbDeviceAsync),
    ("cover_5", CoverDeviceAsync),
]
#: What each kind reports on its own, on a DP no write in these tests touches.
PUSHED_DP = {"plug": "19", "dimmer": "1", "cover": "3", "bulb_a": "7", "bulb_b": "26", "bulb_c": "3"}
PUSHES = 3
T = TypeVar("T")


async def bounded(call: Awaitable[T]) -> T:
    async with asyncio.timeout(10):
        return await call


def pushed_dp(profile: str) -> str:
    return PUSHED_DP["cover" if profile.startswith("cover") else profile]


class Hub:
    """The simulated hub, our gateway object and its children, by cid."""

    def __init__(self, version: str) -> None:
        self.profiles = {f"{n:02d}{KINDS[n % len(KINDS)][0]}": KINDS[n % len(KINDS)] for n in range(CHILDREN)}
        self.sim = SimulatedGateway(
            GW_ID,
            KEY,
            version=version,
            dps={"1": True},
            children={cid: profile_dps(profile) for cid, (profile, _) in self.profiles.items()},
        )
        self.parent: DeviceAsync | None = None
        self.children: dict[str, DeviceAsync] = {}

    async def start(self) -> DeviceAsync:
        await self.sim.start(host="127.0.0.1", port=0)
        self.parent = DeviceAsync(
            GW_ID,
            "127.0.0.1",
            KEY,
            version=self.sim.version,
            port=port_of(self.sim),
            persist=True,
            connection_timeout=3,
            backoff=Backoff(floor=0.01, cap=0.05),
        )
        self.children = {
            cid: cls(f"child{cid}", cid=cid, parent=self.parent) for cid, (_, cls) in self.profiles.items()
        }
        return self.parent

    async def stop(self) -> None:
        if self.parent is not None:
            await self.parent.close()
        await self.sim.stop()


@pytest.fixture(params=["3.3", "3.4", "3.5"])
async def hub(request: pytest.FixtureRequest) -> Any:
    made = Hub(request.param)
    await made.start()
    yield made
    await made.stop()


async def write(child: DeviceAsync, profile: str) -> dict[str, Any] | None:
    """The class's own control for this kind of device."""
    if isinstance(child, CoverDeviceAsync):
        return await child.open_cover()
    if isinstance(child, BulbDeviceAsync):
        return await child.set_brightness_percentage(60)
    assert isinstance(child, OutletDeviceAsync)
    if profile == "dimmer":
        return await child.set_dimmer(value=120)
    return await child.turn_on()


def expected_write(child: DeviceAsync, profile: str) -> dict[str, Any]:
    """What that control writes, from the class's own tables."""
    if isinstance(child, CoverDeviceAsync):
        assert child.cover_type is not None
        return {"1": CoverDeviceAsync.COVER_TYPES[child.cover_type]["open"]}
    if isinstance(child, BulbDeviceAsync):
        return {str(child.dpset["brightness"]): bulb_values.percent_of_range(child.dpset, 60)}  # white mode
    return {"3": 120} if profile == "dimmer" else {"1": True}


async def round_of_traffic(hub: Hub, written: Sequence[str], pushed: Sequence[str], base: int) -> None:
    """Status of every child, a write on ``written``, pushes to ``pushed``, all at once."""
    parent = hub.parent
    assert parent is not None
    await bounded(parent.connect())
    await hub.sim.wait_for_clients(1)  # pushes reach connected clients only
    streams: dict[str, UpdateStream] = {cid: hub.children[cid].updates() for cid in pushed}
    everything = parent.updates(children=True)

    async def control(cid: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        child = hub.children[cid]
        return await child.status(), await write(child, hub.profiles[cid][0])

    async def pusher() -> None:
        for n in range(PUSHES):
            for cid in pushed:
                assert await hub.sim.push({pushed_dp(hub.profiles[cid][0]): base + n}, cid=cid) == 1
                await asyncio.sleep(0)  # interleave with the requests on the wire

    controls = [control(cid) for cid in written]
    statuses = [hub.children[cid].status() for cid in pushed]
    results = await bounded(asyncio.gather(parent.status(), pusher(), *controls, *statuses))
    own, _, *answers = results
    assert own is not None
    assert own["dps"] == hub.sim.dps
    for cid, (status, answer) in zip(written, answers[: len(written)], strict=True):
        child = hub.children[cid]
        profile = hub.profiles[cid][0]
        assert status is not None
        assert status["device"] is child
        assert set(status["dps"]) == set(profile_dps(profile))
        assert answer is not None
        assert answer["device"] is child, cid
        want = expected_write(child, profile)
        assert {k: answer["dps"][k] for k in want} == want, cid
        assert {k: hub.sim.children[cid][k] for k in want} == want
    for cid, status in zip(pushed, answers[len(written) :], strict=True):
        assert status is not None
        assert status["device"] is hub.children[cid]
        assert set(status["dps"]) == set(profile_dps(hub.profiles[cid][0]))

    # Every push reaches its own child, in order, and the hub-wide stream, tagged.
    for cid, stream in streams.items():
        dp = pushed_dp(hub.profiles[cid][0])
        seen: list[DeviceUpdate] = []
        while len(seen) < PUSHES:
            update = await bounded(anext(stream))
            assert update.cid == cid
            assert update.device_id == f"child{cid}"
            if update.pushed:
                seen.append(update)
        assert [u.changed for u in seen] == [{dp: base + n} for n in range(PUSHES)]
        stream.close()
    tagged: dict[str | None, int] = {}
    while sum(tagged.get(cid, 0) for cid in pushed) < PUSHES * len(pushed):
        update = await bounded(anext(everything))
        if update.cid is not None:
            assert update.device_id == f"child{update.cid}"
        if update.pushed:
            tagged[update.cid] = tagged.get(update.cid, 0) + 1
    assert all(tagged.get(cid) == PUSHES for cid in pushed)
    everything.close()


async def test_two_dozen_children_of_every_class_through_a_hub_restart(hub: Hub) -> None:
    parent = hub.parent
    assert parent is not None
    cids = list(hub.children)
    first, second = cids[::2], cids[1::2]
    assert {type(c) for c in hub.children.values()} == {OutletDeviceAsync, BulbDeviceAsync, CoverDeviceAsync}

    await round_of_traffic(hub, written=first, pushed=second, base=100)
    assert hub.sim.stats.connections == 1

    # The hub restarts: every child hears its parent go and come back.
    lost = {cid: next_state(child, ConnectionState.RECONNECTING) for cid, child in hub.children.items()}
    await hub.sim.stop()
    await bounded(asyncio.gather(*lost.values()))
    back = {cid: next_state(child, ConnectionState.CONNECTED) for cid, child in hub.children.items()}
    await hub.sim.start()
    parent.wake()
    await bounded(asyncio.gather(*back.values()))

    await round_of_traffic(hub, written=second, pushed=first, base=200)
    assert hub.sim.stats.connections == 2
    assert hub.sim.stats.replaced == 0
    # Each child's view agrees with the device's, whatever crossed on the wire.
    finals = await bounded(asyncio.gather(*(c.status() for c in hub.children.values())))
    for cid, final in zip(cids, finals, strict=True):
        assert final is not None
        assert final["dps"] == hub.sim.children[cid], cid
        assert (await hub.children[cid].cached_status(nowait=True) or {}).get("dps") == hub.sim.children[cid]
