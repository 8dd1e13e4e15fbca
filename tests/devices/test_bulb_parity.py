"""BulbDeviceAsync against tinytuya's BulbDevice: same results, same requests, every bulb type.

Each scenario runs on both classes against twin simulated bulbs (see ``parity.py``). Calls
that tinytuya 1.20 cannot complete because of a bug of its own are left out of the
scenarios and tested in ``test_bulb.py`` for what they mean.
"""

from __future__ import annotations

from typing import Any

import pytest
import tinytuya

from tests.devices.conftest import SimFactory
from tests.devices.parity import Call, call, compare, run_twins
from tinytuya_asyncio.devices import BulbDeviceAsync
from tinytuya_asyncio.simulator import profile_dps

SCENE_DATA = "0e0d0000000000000000c803e8"

#: What every bulb type goes through: detection, each setter, errors, then the getters.
COMMON = [
    call("detect_bulb"),  # no status yet: it asks for one
    call("status"),
    call("bulb_has_capability", "colour"),
    call("turn_on"),
    call("set_mode", "colour"),
    call("set_colour", 255, 0, 0),
    call("set_colour", 0, 128, 255),
    call("set_white_percentage", 50, 20),
    call("set_brightness_percentage", 75),
    call("set_colourtemp_percentage", 30),
    call("set_white", 200, 100),
    call("set_white"),
    call("set_white", 5, 10),  # below the minimum: off, at that colour temperature
    call("set_brightness", 150),
    call("set_brightness", -1),
    call("set_brightness", 3),  # below the minimum: off
    call("set_colourtemp", 100),
    call("set_timer", 60),
    call("set_music_colour", 1, 255, 0, 0, 50, 50),
    call("set_music_colour", 0, 0, 0, 255),
    call("set_mode", "white"),
    call("turn_off"),
    call("turn_onoff", True),
    # Out of range: the same exception type.
    call("set_white_percentage", 150),
    call("set_brightness_percentage", -5),
    call("set_colourtemp_percentage", 101),
    call("set_colourtemp", 5000),
    call("set_brightness", 5000),
    call("set_white", 5000),
    call("set_colour", 300, 0, 0),
    call("get_value", "nonexistent"),
    call("bulb_has_capability", "bogus"),
    call("set_bulb_capabilities", {"timer": None}),
    call("set_timer", 5),  # no timer DP any more: error 907
    # Getters agree afterwards.
    call("state"),
    call("get_mode"),
    call("brightness"),
    call("colourtemp"),
    call("get_value", "switch"),
    call("get_brightness_percentage"),
    call("get_colourtemp_percentage"),
    *(
        call(name, feature)
        for name in ("bulb_has_capability",)
        for feature in ("mode", "scene", "timer", "music")
    ),
]

#: Per type, what tinytuya 1.20 gets right for it (A: no set_hsv, set_scene or colour-mode
#: set_brightness, which raise TypeError or KeyError there; C: no colour, so no colour getters).
BY_TYPE: dict[str, list[Call]] = {
    "A": [
        call("turn_on", switch=1),
        call("set_timer", 30, dps_id=4),
        call("set_colour", 10, 20, 30),
        call("colour_rgb"),
        call("colour_hsv"),
    ],
    "B": [
        call("turn_on", switch="20"),
        call("set_timer", 30, dps_id="26"),
        call("set_hsv", 0.5, 1, 1),
        call("set_hsv", 0.1, 0.5, 0.25),
        call("set_mode", "colour"),
        call("set_brightness", 500),  # colour mode: becomes the colour's value
        call("set_brightness_percentage", 20),
        call("set_scene", 2),
        call("set_scene", 3, scene_data=SCENE_DATA),
        call("set_hsv", 2, 0, 0),  # out of range
        call("colour_rgb"),
        call("colour_hsv"),
    ],
    "C": [
        call("turn_off", switch=1),
        call("set_timer", 30, dps_id=3),
        call("set_hsv", 0.5, 1, 1),
        call("set_scene", 2),
        call("set_mode", "scene"),
    ],
}

#: Last: on a persistent socket tinytuya leaves the replies to these unread.
NOWAIT = [call("set_colour", 1, 2, 3, nowait=True), call("status", nowait=True)]


def _bulb_facts(dev: Any) -> dict[str, Any]:
    return {
        "dpset": dict(dev.dpset),
        "type": dev.bulb_type,
        "configured": dev.bulb_configured,
        "has": (dev.has_brightness, dev.has_colourtemp, dev.has_colour),
    }


@pytest.mark.parametrize(
    ("version", "persist"), [("3.3", False), ("3.3", True), ("3.4", True), ("3.5", True), ("3.5", False)]
)
@pytest.mark.parametrize("bulb_type", ["A", "B", "C"])
async def test_same_results_and_requests_as_tinytuya(
    bulb_type: str, version: str, persist: bool, simulate: SimFactory
) -> None:
    dps = profile_dps(f"bulb_{bulb_type.lower()}")
    twins = (await simulate(version, dps=dps), await simulate(version, dps=dps))
    # Given a response, detect_bulb detects again (even when configured), as in tinytuya.
    calls = [*COMMON, call("detect_bulb", {"dps": dps}), *BY_TYPE[bulb_type], *NOWAIT]

    (expected, sync_facts), (actual, async_facts) = await run_twins(
        tinytuya.BulbDevice, BulbDeviceAsync, twins, calls, persist=persist, inspect=_bulb_facts
    )

    compare(calls, expected, actual, twins)
    assert async_facts == sync_facts
    assert async_facts["type"] == bulb_type
