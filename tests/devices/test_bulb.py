"""BulbDeviceAsync where tinytuya 1.20 fails, the pure bulb functions, and getters without I/O.

Each tinytuya bug is pinned (the sync call is shown to fail as it does in 1.20), and our
method is held to what the call means, with tinytuya's working calls as the referee.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import tinytuya

from tests.devices.conftest import DEV_ID, SimFactory, port_of
from tests.devices.parity import Call, Raised, call, run_async, run_sync, sent
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import BulbDeviceAsync, bulb_values
from tinytuya_asyncio.simulator import profile_dps

VERSION = "3.4"
NOT_A_BULB = {"1": True, "20": True, "21": "white"}


async def _pin_crash(
    simulate: SimFactory, dps: dict[str, Any], step: Call, kind: type[Exception], *, detected: bool = False
) -> None:
    """tinytuya 1.20 raises ``kind`` for ``step`` (if a release fixes it, revisit the README's table).

    ``detected``: after a first status has detected the bulb type.
    """
    sim = await simulate(VERSION, dps=dps)
    steps = [call("status"), step] if detected else [step]
    outcomes, _ = await asyncio.to_thread(run_sync, tinytuya.BulbDevice, sim, steps, persist=False)
    assert outcomes[-1] == Raised(kind)


async def _meant(simulate: SimFactory, dps: dict[str, Any], ours: list[Call], referee: list[Call]) -> Any:
    """Our ``ours`` calls against tinytuya's ``referee`` calls: same last result, requests and DPs."""
    sync_twin, async_twin = await simulate(VERSION, dps=dps), await simulate(VERSION, dps=dps)
    expected, _ = await asyncio.to_thread(run_sync, tinytuya.BulbDevice, sync_twin, referee, persist=False)
    actual, _ = await run_async(BulbDeviceAsync, async_twin, ours, persist=False)
    assert actual[-1] == expected[-1]
    assert sent(async_twin) == sent(sync_twin)
    assert async_twin.dps == sync_twin.dps
    return actual[-1]


async def test_set_scene_on_type_a_sets_the_scene_mode(simulate: SimFactory) -> None:
    """tinytuya keys the type A request by DP number instead of feature: KeyError."""
    await _pin_crash(simulate, profile_dps("bulb_a"), call("set_scene", 2), KeyError)
    result = await _meant(
        simulate,
        profile_dps("bulb_a"),
        [call("set_scene", 2)],
        # What tinytuya would send: a status to detect the type, one for the values, the write.
        [call("status"), call("status"), call("set_multiple_values", {"2": "scene_2"})],
    )
    assert result["dps"] == {"2": "scene_2"}


@pytest.mark.parametrize(
    ("ours", "referee"),
    [
        # set_hsv on an rgb8 bulb: tinytuya hands fractional r, g, b to a formatter of whole numbers.
        (call("set_hsv", 0.5, 1, 1), call("set_colour", 0, 255, 255)),
        (call("set_hsv", 0.0, 0.5, 0.5), call("set_colour", 128, 64, 64)),
        # Fractional r, g, b on an rgb8 bulb: the same TypeError; meant: the nearest colour.
        (call("set_colour", 254.6, 0.2, 10.0), call("set_colour", 255, 0, 10)),
        (call("set_music_colour", 1, 254.6, 0, 0, 50), call("set_music_colour", 1, 255, 0, 0, 50)),
    ],
    ids=str,
)
async def test_rgb8_colours_from_any_numbers(ours: Call, referee: Call, simulate: SimFactory) -> None:
    await _pin_crash(simulate, profile_dps("bulb_a"), ours, TypeError)
    await _meant(simulate, profile_dps("bulb_a"), [ours], [referee])


async def test_brightness_of_a_colour_on_type_a(simulate: SimFactory) -> None:
    """In colour mode set_brightness sets the colour's value; on type A tinytuya's set_hsv fails."""
    colour_mode = {**profile_dps("bulb_a"), "2": "colour"}  # colour ff0000: full red
    await _pin_crash(simulate, colour_mode, call("set_brightness", 100), TypeError)
    # 100 of 255 is the value 0.392 of pure red: r = 100.
    # 100 of 255 is the value 0.392 of pure red: r = 100. (The extra status is state()'s.)
    referee = [call("status"), call("status"), call("set_colour", 100, 0, 0)]
    await _meant(simulate, colour_mode, [call("set_brightness", 100)], referee)


@pytest.mark.parametrize("profile", ["bulb_a", "bulb_b", "bulb_c"])
async def test_white_percentage_is_brightness_and_colourtemp_percentages(
    profile: str, simulate: SimFactory
) -> None:
    """tinytuya's white_percentage calls methods it does not have: AttributeError."""
    await _pin_crash(simulate, profile_dps(profile), call("white_percentage"), AttributeError)
    sim = await simulate(VERSION, dps=profile_dps(profile))
    # tinytuya's percentage getters need the type detected first (white_percentage detects it).
    referee = [call("status"), call("get_brightness_percentage"), call("get_colourtemp_percentage")]
    expected, _ = await asyncio.to_thread(run_sync, tinytuya.BulbDevice, sim, referee, persist=False)
    actual, _ = await run_async(BulbDeviceAsync, sim, [call("white_percentage")], persist=False)
    assert actual == [tuple(expected[1:])]


@pytest.mark.parametrize("getter", ["colour_rgb", "colour_hsv"])
async def test_colour_of_a_bulb_without_colour_is_none(getter: str, simulate: SimFactory) -> None:
    """Type C has no colour DP; tinytuya converts None and raises TypeError."""
    await _pin_crash(simulate, profile_dps("bulb_c"), call(getter), TypeError)
    sim = await simulate(VERSION, dps=profile_dps("bulb_c"))
    assert (await run_async(BulbDeviceAsync, sim, [call(getter)], persist=False))[0] == [None]


@pytest.mark.parametrize("getter", ["get_brightness_percentage", "get_colourtemp_percentage"])
async def test_percentages_of_a_bulb_without_the_feature_are_none(getter: str, simulate: SimFactory) -> None:
    """A device with DPs 1 and 20 is type "None" (not a bulb); tinytuya divides None."""
    await _pin_crash(simulate, NOT_A_BULB, call(getter), TypeError, detected=True)
    sim = await simulate(VERSION, dps=NOT_A_BULB)
    outcomes, bulb_type = await run_async(
        BulbDeviceAsync, sim, [call("status"), call(getter)], persist=False, inspect=lambda dev: dev.bulb_type
    )
    assert outcomes[1] is None
    assert bulb_type == "None"


@pytest.mark.parametrize("bulb_type", ["A", "B", "C"])
def test_set_bulb_type_gives_the_types_value_range(bulb_type: str) -> None:
    """tinytuya only fills ``None`` entries, so the range stays -1 (and the format hsv16)."""
    theirs = tinytuya.BulbDevice(DEV_ID, "127.0.0.1", "0123456789abcdef", version=3.3)
    theirs.set_bulb_type(bulb_type)
    assert (theirs.dpset["value_min"], theirs.dpset["value_max"]) == (-1, -1)
    ranges = {key: tuya.BULB_DPSETS[bulb_type][key] for key in ("value_min", "value_max", "value_hexformat")}
    meant = tinytuya.BulbDevice(DEV_ID, "127.0.0.1", "0123456789abcdef", version=3.3)
    meant.set_bulb_type(bulb_type, mapping=ranges)

    ours = BulbDeviceAsync(DEV_ID, "127.0.0.1", "0123456789abcdef", version=3.3)
    ours.set_bulb_type(bulb_type)
    assert ours.dpset == meant.dpset
    assert ours.bulb_configured is meant.bulb_configured is True
    # A mapping wins; a range already known is kept (None DPs are refilled, as in tinytuya).
    ours.set_bulb_capabilities({"timer": None, "value_max": 500})
    assert ours.dpset["timer"] is None
    ours.set_bulb_type(bulb_type)
    assert ours.dpset["value_max"] == 500
    assert ours.dpset["timer"] == meant.dpset["timer"]


# -- getters given a state do no I/O --------------------------------------------------------


async def test_getters_given_a_state_need_no_device(simulate: SimFactory) -> None:
    sim = await simulate(VERSION, dps=profile_dps("bulb_b"))
    bulb = BulbDeviceAsync(DEV_ID, "127.0.0.1", sim.local_key, version=VERSION, port=port_of(sim))
    state = await bulb.state()
    await bulb.close()
    await sim.stop()
    connections = sim.stats.connections
    # The profile's colour 000003e803e8: hue 0, saturation and value 1000 of 1000 (red).
    assert await bulb.colour_rgb(state=state) == bulb_values.colour_rgb(state, bulb.dpset) == (255, 0, 0)
    assert await bulb.colour_hsv(state=state) == (0.0, 1.0, 1.0)
    assert await bulb.get_brightness_percentage(state=state) == 100.0
    assert await bulb.white_percentage(state=state) == (100.0, 0.0)
    assert await bulb.get_mode(state=state) == "white"
    assert await bulb.brightness(state=state) == 1000
    assert await bulb.colourtemp(state=state) == 0
    assert await bulb.get_value("is_on", state=state) is False
    assert sim.stats.connections == connections
    with pytest.raises(RuntimeError):
        await bulb.get_value("mode", state=tuya.error_json(tuya.ERR_JSON))
    with pytest.raises(ValueError):
        await bulb.get_value("nothing", state=state)


async def test_connection_state_of_a_bulb(simulate: SimFactory) -> None:
    """``state`` is tinytuya's bulb state here; the connection's is ``connection_state``."""
    sim = await simulate(VERSION, dps=profile_dps("bulb_c"))
    async with BulbDeviceAsync(
        DEV_ID, "127.0.0.1", sim.local_key, version=VERSION, port=port_of(sim)
    ) as bulb:
        assert bulb.connection_state.value == "connected"
        assert (await bulb.state())["brightness"] == 255


# -- the pure functions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dps", "expected"),
    [
        (profile_dps("bulb_a"), "A"),
        (profile_dps("bulb_b"), "B"),
        (profile_dps("bulb_c"), "C"),
        (NOT_A_BULB, "None"),
        ({"1": True}, None),
        ({"20": True}, None),
        ({}, None),
    ],
)
def test_detect_bulb_type(dps: dict[str, Any], expected: str | None) -> None:
    assert bulb_values.detect_bulb_type(dps) == expected


def test_detection_fills_only_the_dps_the_status_has() -> None:
    dpset = bulb_values.empty_dpset()
    bulb_values.apply_detection(dpset, "B", {"20": True, "21": "white", "22": 10})
    assert dpset["switch"] == "20"
    assert dpset["brightness"] == "22"
    assert dpset["colour"] is None
    assert dpset["music"] == 28  # not in a status: taken from the table, as tinytuya does
    assert (dpset["value_min"], dpset["value_max"], dpset["value_hexformat"]) == (10, 1000, "hsv16")


def test_dps_to_send_only_what_changed_or_everything() -> None:
    dpset = {"switch": "1", "mode": "2", "colour": "5", "scene_data": None}
    wanted = {"switch": True, "mode": "colour", "colour": "ff0000", "scene_data": "x"}
    known = {"1": True, "2": "white", "5": "ff0000"}
    assert bulb_values.dps_to_send(dpset, wanted, known) == {"2": "colour"}
    unchanged = {"1": True, "2": "colour", "5": "ff0000"}
    assert bulb_values.dps_to_send(dpset, wanted, unchanged) == {"1": True, "2": "colour", "5": "ff0000"}
    assert bulb_values.dps_to_send(dpset, wanted, None) == {"1": True, "2": "colour", "5": "ff0000"}


def test_white_values() -> None:
    dpset = bulb_values.empty_dpset() | {"value_min": 25, "value_max": 255}
    assert bulb_values.white_values(dpset, 100, 50) == {
        "brightness": 100,
        "colourtemp": 50,
        "mode": "white",
        "switch": True,
    }
    assert bulb_values.white_values(dpset, -1, None) == {"brightness": 255, "mode": "white", "switch": True}
    assert bulb_values.white_values(dpset, 10, -4) == {"colourtemp": 0, "mode": "white", "switch": False}
    assert bulb_values.white_values(dpset, 10, None) == {"switch": False}
    with pytest.raises(ValueError):
        bulb_values.white_values(dpset, 256, 0)
    with pytest.raises(ValueError):
        bulb_values.white_values(dpset, 100, 256)


def test_scene_values() -> None:
    type_b = {"mode": "21", "scene": "25", "scene_data": "25"}
    assert bulb_values.scene_values(type_b, 10, None) == {"scene": "0a", "mode": "scene"}
    assert bulb_values.scene_values(type_b, 1, "abc") == {"scene": "01abc", "mode": "scene"}
    separate = {"mode": "21", "scene": "25", "scene_data": "26"}
    assert bulb_values.scene_values(separate, 1, "abc") == {
        "scene": "01",
        "mode": "scene",
        "scene_data": "abc",
    }
    type_a = {"mode": "2", "scene": "6", "scene_data": None}
    assert bulb_values.scene_values(type_a, 4, None) == {"mode": "scene_4"}
    with pytest.raises(ValueError):
        bulb_values.scene_values(type_a, 0, None)


@pytest.mark.parametrize("hexformat", ["rgb8", "hsv16"])
def test_colour_strings_are_tinytuyas_for_whole_numbers(hexformat: str) -> None:
    for rgb in [(0, 0, 0), (255, 0, 0), (12, 200, 99), (255, 255, 255)]:
        assert bulb_values.colour_hex(*rgb, hexformat) == tinytuya.BulbDevice.rgb_to_hexvalue(*rgb, hexformat)
    with pytest.raises(ValueError):
        bulb_values.colour_hex(256, 0, 0, hexformat)
    with pytest.raises(ValueError):
        bulb_values.hsv_hex(1.5, 0, 0, hexformat)
    rgb8_cyan = tinytuya.BulbDevice.rgb_to_hexvalue(0, 255, 255, "rgb8")
    assert BulbDeviceAsync.hsv_to_hexvalue(0.5, 1.0, 1.0, "rgb8") == rgb8_cyan  # tinytuya's raises TypeError
    assert BulbDeviceAsync.rgb_to_hexvalue(0, 255, 255, "rgb8") == rgb8_cyan
    assert BulbDeviceAsync.hexvalue_to_rgb(rgb8_cyan) == (0, 255, 255)
    assert bulb_values.hsv_hex(0.25, 0.5, 1.0, "hsv16") == tinytuya.BulbDevice.hsv_to_hexvalue(
        0.25, 0.5, 1.0, "hsv16"
    )


def test_music_values() -> None:
    type_a = {"value_hexformat": "rgb8", "value_max": 255}
    assert bulb_values.music_hex(type_a, 1, 255, 0, 0, 50, None) == "1" + "ff00000000ffff" + "7f" + "00"
    type_b = {"value_hexformat": "hsv16", "value_max": 1000}
    assert bulb_values.music_hex(type_b, 0, 0, 0, 255, 100, 10) == "0" + "00f003e803e8" + "03e8" + "0064"


def test_bulb_state_and_errors() -> None:
    dpset = {"switch": "1", "mode": "2", "colour": None, "scene_data": "6", "value_max": 255}
    state = bulb_values.bulb_state(dpset, {"dps": {"1": True, "2": "white", "6": "x"}})
    assert state == {
        "switch": True,
        "mode": "white",
        "colour": None,
        "scene_data": None,
        "value_max": None,
        "is_on": True,
    }
    assert bulb_values.bulb_state(dpset, None)["Err"] == str(tuya.ERR_JSON)
    assert bulb_values.bulb_state(dpset, {"t": 1})["Err"] == str(tuya.ERR_JSON)
    failed = bulb_values.bulb_state(dpset, tuya.error_json(tuya.ERR_OFFLINE))
    assert failed["Payload"] == tuya.error_json(tuya.ERR_OFFLINE)["Error"]
    with pytest.raises(RuntimeError):
        bulb_values.brightness_percentage(state, {"value_max": -1})
