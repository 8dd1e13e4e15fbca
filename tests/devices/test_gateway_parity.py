"""Children behind a gateway behave as tinytuya's: same results, same requests, same end state.

The same calls run on tinytuya's classes (a ``Device`` gateway with a switch, a bulb, a
dimmer and a cover as children, in a thread) and on ours, each against its own simulated
gateway with the same children, and the answers, the requests each gateway received and
the children's final data points are compared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import tinytuya

from tests.devices.conftest import port_of
from tests.devices.parity import Call, Raised, call, sent
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import BulbDeviceAsync, CoverDeviceAsync, DeviceAsync, OutletDeviceAsync
from tinytuya_asyncio.simulator import SimulatedGateway, profile_dps

GW_ID = "gwparity0123456789ab"
KEY = "0123456789abcdef"
TIMEOUT = 0.5
#: cid -> (data points, tinytuya's class, ours).
CHILDREN: dict[str, tuple[dict[str, Any], Any, type[DeviceAsync]]] = {
    "switch": ({"1": False, "2": 20}, tinytuya.Device, DeviceAsync),
    "bulb": (profile_dps("bulb_b"), tinytuya.BulbDevice, BulbDeviceAsync),
    "dimmer": (profile_dps("dimmer"), tinytuya.OutletDevice, OutletDeviceAsync),
    "cover": (profile_dps("cover_1"), tinytuya.CoverDevice, CoverDeviceAsync),
}
#: (cid or None for the gateway, call), run in this order on both sides.
SCENARIO: list[tuple[str | None, Call]] = [
    (None, call("status")),
    ("switch", call("status")),
    ("switch", call("set_value", 2, 33)),
    ("switch", call("turn_on")),
    ("bulb", call("status")),
    ("bulb", call("set_colour", 255, 0, 0)),
    ("switch", call("set_multiple_values", {"1": False, "2": 5})),
    ("bulb", call("set_brightness_percentage", 50)),
    ("dimmer", call("status")),
    ("bulb", call("set_white_percentage", 80, 30)),
    ("dimmer", call("set_dimmer", 40)),
    ("cover", call("status")),
    ("cover", call("open_cover")),
    ("switch", call("updatedps", [2])),
    ("bulb", call("turn_off")),
    ("cover", call("close_cover")),
    ("bulb", call("state")),
    ("bulb", call("brightness")),
    ("switch", call("status")),
    (None, call("subdev_query")),
]
#: tinytuya returns None from these although the device answered; ours return the answer
#: (README, migration table). Their requests are still compared.
ANSWER_INSTEAD_OF_NONE = frozenset(
    {"set_dimmer", "open_cover", "close_cover", "stop_cover", "continue_cover"}
)


def twin(version: str) -> SimulatedGateway:
    return SimulatedGateway(
        GW_ID,
        KEY,
        version=version,
        dps={"1": True},
        children={cid: dict(dps) for cid, (dps, _, _) in CHILDREN.items()},
        clock=lambda: 1_700_000_000.0,
    )


def normalised(outcome: Any) -> Any:
    """A result with its child object (a different one on each side) replaced by its cid."""
    if isinstance(outcome, dict) and "device" in outcome:
        return {**outcome, "device": outcome["device"].cid}
    return outcome


def options(gw: SimulatedGateway, persist: bool) -> dict[str, Any]:
    return {
        "port": port_of(gw),
        "persist": persist,
        "connection_timeout": TIMEOUT,
        "connection_retry_limit": 1,
        "connection_retry_delay": 0,
    }


def run_sync(gw: SimulatedGateway, version: str, persist: bool) -> list[Any]:
    parent = tinytuya.Device(GW_ID, "127.0.0.1", KEY, version=float(version), **options(gw, persist))
    children = {cid: cls(f"child-{cid}", cid=cid, parent=parent) for cid, (_, cls, _) in CHILDREN.items()}
    outcomes: list[Any] = []
    try:
        for cid, step in SCENARIO:
            dev = parent if cid is None else children[cid]
            try:
                outcomes.append(normalised(getattr(dev, step.name)(*step.args, **step.kwargs)))
            except Exception as exc:
                outcomes.append(Raised(type(exc)))
    finally:
        parent.close()
    return outcomes


async def run_async(gw: SimulatedGateway, version: str, persist: bool) -> list[Any]:
    parent = DeviceAsync(
        GW_ID, "127.0.0.1", KEY, version=version, heartbeat_interval=None, **options(gw, persist)
    )
    children = {cid: cls(f"child-{cid}", cid=cid, parent=parent) for cid, (_, _, cls) in CHILDREN.items()}
    outcomes: list[Any] = []
    try:
        for cid, step in SCENARIO:
            dev = parent if cid is None else children[cid]
            try:
                outcomes.append(normalised(await getattr(dev, step.name)(*step.args, **step.kwargs)))
            except Exception as exc:
                outcomes.append(Raised(type(exc)))
    finally:
        await parent.close()
    return outcomes


def compare(expected: Sequence[Any], actual: Sequence[Any]) -> None:
    for (cid, step), want, got in zip(SCENARIO, expected, actual, strict=True):
        if step.name in ANSWER_INSTEAD_OF_NONE and want is None:
            assert got is not None
            assert "Err" not in got
            assert got["device"] == cid
            continue
        assert got == want, f"{cid}: {step}: sync gave {want!r}, async gave {got!r}"


@pytest.mark.parametrize("version", ["3.3", "3.4", "3.5"])
async def test_children_of_every_class_as_tinytuyas(version: str) -> None:
    gateways = twin(version), twin(version)
    for gw in gateways:
        await gw.start(host="127.0.0.1", port=0)
    try:
        expected = await asyncio.to_thread(run_sync, gateways[0], version, False)
        actual = await run_async(gateways[1], version, False)
    finally:
        for gw in gateways:
            await gw.stop()
    compare(expected, actual)
    assert sent(gateways[1]) == sent(gateways[0])
    assert gateways[1].children == gateways[0].children


async def test_a_persistent_gateways_children_use_their_cache() -> None:
    """A deliberate difference: tinytuya's children never cache, so its bulb writes query first."""
    gateways = twin("3.3"), twin("3.3")
    for gw in gateways:
        await gw.start(host="127.0.0.1", port=0)
    try:
        expected = await asyncio.to_thread(run_sync, gateways[0], "3.3", True)
        actual = await run_async(gateways[1], "3.3", True)
    finally:
        for gw in gateways:
            await gw.stop()
    compare(expected, actual)
    assert gateways[1].children == gateways[0].children
    queries = [gw.stats.requests[tuya.DP_QUERY] for gw in gateways]
    assert queries[1] < queries[0]
    # The same writes, in the same order; only tinytuya's extra status queries differ.
    writes = [[(cmd, body) for cmd, body in sent(gw) if cmd != tuya.DP_QUERY] for gw in gateways]
    assert writes[1] == writes[0]
