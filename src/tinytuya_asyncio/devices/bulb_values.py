"""The decisions of a bulb as pure functions: no device, no network, no clock.

``BulbDeviceAsync`` calls these with its ``dpset`` (feature -> DP map, value range and
colour format, as tinytuya's ``BulbDevice.dpset``); they are also the way to read a state
without awaiting anything::

    state = await bulb.state()               # one status request
    rgb = bulb_values.colour_rgb(state, bulb.dpset)   # plain computation
    percent = bulb_values.brightness_percentage(state, bulb.dpset)

The tables (DP numbers per bulb type, value ranges) and the colour converters are
tinytuya's, taken through :mod:`tinytuya_asyncio._tinytuya`. Where tinytuya 1.20 crashes on
input it documents (floats and HSV for ``rgb8`` bulbs), these functions do what the method
means; the README's migration table lists each case.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya

Dpset = dict[str, Any]

#: The features a dpset maps to DPs, in tinytuya's order.
FEATURES: Final = (
    "switch",
    "mode",
    "brightness",
    "colourtemp",
    "colour",
    "scene",
    "scene_data",
    "timer",
    "music",
)
_RANGE_KEYS: Final = ("value_min", "value_max", "value_hexformat")
#: What tinytuya's dpset holds before a type is known (-1: no value range yet).
_UNSET_RANGE: Final = {"value_min": -1, "value_max": -1, "value_hexformat": "hsv16"}


def empty_dpset() -> Dpset:
    """A bulb's dpset before its type is known (tinytuya's initial values)."""
    return {**dict.fromkeys(FEATURES), **_UNSET_RANGE}


# -- type detection and configuration -----------------------------------------------------


def detect_bulb_type(dps: Mapping[str, Any]) -> str | None:
    """The bulb type a status's DPs suggest: ``"A"``, ``"B"``, ``"C"``, ``"None"`` or ``None``.

    Type B uses DPs 20+; types A and C start at 1, where DP 2 is the mode (a string) on A
    and the brightness (a number) on C. DPs 1 and 20 together are no bulb (``"None"``).
    """
    if "20" in dps and "1" in dps:
        return "None"
    if "20" in dps and "21" in dps:
        return "B"
    if "1" in dps and "2" in dps:
        return "A" if isinstance(dps["2"], str) else "C"
    return None


def apply_detection(dpset: Dpset, bulb_type: str, dps: Mapping[str, Any]) -> None:
    """Fill ``dpset`` for a detected type, as tinytuya's ``detect_bulb`` does.

    The value range and the music DP come from the type (devices do not report music in a
    status); the other features only where the status has their DP.
    """
    defaults = tuya.BULB_DPSETS[bulb_type]
    dpset["music"] = defaults["music"]
    for key in _RANGE_KEYS:
        dpset[key] = defaults[key]
    for key, dp in defaults.items():
        if not key.startswith("value_") and dp and str(dp) in dps:
            dpset[key] = str(dp)


def apply_capabilities(dpset: Dpset, bulb_type: str | None, mapping: object) -> bool:
    """Apply ``mapping`` over ``dpset``, filling what is unset from ``bulb_type``'s table.

    Returns whether the bulb counts as configured (it has a switch and a brightness).
    Unlike tinytuya 1.20, whose fill only sees ``None`` entries, a value range still at its
    initial -1 is filled too: ``set_bulb_type("B")`` then means B's range (10-1000) and
    colour format, not -1 and whatever format was there.
    """
    defaults: Mapping[str, Any] = tuya.BULB_DPSETS.get(bulb_type, {}) if bulb_type is not None else {}
    given: Mapping[str, Any] = mapping if isinstance(mapping, dict) else {}
    range_unset = dpset.get("value_max") in (None, -1)
    for key in dpset:
        if key in given:
            dpset[key] = given[key]
        elif key in defaults and (dpset[key] is None or (range_unset and key in _RANGE_KEYS)):
            dp = defaults[key]
            dpset[key] = str(dp) if dp and not key.startswith("value_") else dp
    return bool(dpset["switch"] and dpset["brightness"])


# -- what to send --------------------------------------------------------------------------


def dps_to_send(
    dpset: Mapping[str, Any], wanted: Mapping[str, Any], known: Mapping[str, Any] | None
) -> dict[Any, Any]:
    """The DPs to write for ``wanted`` (feature -> value), as tinytuya's ``_set_values_check``.

    Only the features whose value differs from ``known`` (the cached DPs); all of them when
    nothing is known or nothing differs (a refresh). Features the bulb lacks are skipped.
    """
    out: dict[Any, Any] = {}
    if known:
        for feature, value in wanted.items():
            dp = dpset[feature]
            if dp and (dp not in known or known[dp] != value):
                out[dp] = value
    if not out:
        for feature, value in wanted.items():
            if dpset[feature]:
                out[dpset[feature]] = value
    return out


def white_values(dpset: Mapping[str, Any], brightness: float, colourtemp: float | None) -> dict[str, Any]:
    """The features ``set_white`` writes; raises ValueError for values beyond the range.

    A brightness below the range minimum means off (with the colour temperature still set,
    so the next ``turn_on`` comes back at it); a negative one means the maximum.
    """
    low, high = dpset["value_min"], dpset["value_max"]
    level = int(brightness)
    if level < 0:
        level = high
    elif level > high:
        raise ValueError(f"set_white: the brightness needs to be between {low} and {high}")
    temperature = None if colourtemp is None else max(int(colourtemp), 0)
    if temperature is not None and temperature > high:
        raise ValueError(f"set_white: the colour temperature needs to be between 0 and {high}")
    wanted: dict[str, Any] = {}
    if level >= low:
        wanted["brightness"] = level
    if temperature is not None:
        wanted["colourtemp"] = temperature
    if wanted:
        wanted["mode"] = tuya.BULB_MODE_WHITE
    wanted["switch"] = level >= low
    return wanted


def scene_values(dpset: Mapping[str, Any], scene: int, scene_data: str | None) -> dict[str, Any]:
    """The features ``set_scene`` writes; raises ValueError for a type A scene beyond 1-4.

    Type A bulbs select a scene through their mode (``"scene_2"``); others write the scene
    number as two hex digits to the scene DP, followed by ``scene_data`` when the scene DP
    also carries it. (tinytuya 1.20 builds the type A request keyed by DP number and fails
    with KeyError; this is what it means.)
    """
    if not dpset["scene_data"] or dpset["scene_data"] == dpset["mode"]:
        if not 1 <= scene <= 4:
            raise ValueError("set_scene: the scene needs to be between 1 and 4")
        return {"mode": f"{tuya.BULB_MODE_SCENE}_{scene}"}
    wanted: dict[str, Any] = {"scene": f"{int(scene):02x}", "mode": tuya.BULB_MODE_SCENE}
    if scene_data:
        if dpset["scene_data"] is True or dpset["scene_data"] == dpset["scene"]:
            wanted["scene"] += scene_data
        else:
            wanted["scene_data"] = scene_data
    return wanted


def percent_of_range(dpset: Mapping[str, Any], percent: float) -> int:
    """``percent`` (0-100) of the bulb's maximum value, rounded down."""
    return int(dpset["value_max"] * percent // 100)


# -- colour strings ------------------------------------------------------------------------


def colour_hex(r: float, g: float, b: float, hexformat: str) -> str:
    """The colour string for r, g, b (0-255) in ``hexformat`` (``"rgb8"`` or ``"hsv16"``).

    tinytuya's converter; ``rgb8`` takes whole numbers only there, so other numbers are
    rounded first (tinytuya 1.20 raises TypeError for them).
    """
    if hexformat == "rgb8":
        r, g, b = _whole(r), _whole(g), _whole(b)
    return tuya.rgb_to_hexvalue(r, g, b, hexformat)


def hsv_hex(h: float, s: float, v: float, hexformat: str) -> str:
    """The colour string for h, s, v (0-1) in ``hexformat``.

    ``hsv16`` is tinytuya's converter. For ``rgb8`` tinytuya 1.20 always raises TypeError
    (it hands fractional r, g, b to a formatter of whole numbers): here the colour is
    converted to r, g, b, rounded, and encoded by tinytuya's ``rgb_to_hexvalue``.
    """
    if hexformat != "rgb8":
        return tuya.hsv_to_hexvalue(h, s, v, hexformat)
    if not (0 <= h <= 1 and 0 <= s <= 1 and 0 <= v <= 1):
        raise ValueError("hsv_to_hexvalue: hue, saturation and value need to be between 0 and 1")
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return tuya.rgb_to_hexvalue(round(r * 255), round(g * 255), round(b * 255), hexformat)


def music_hex(  # noqa: PLR0917 - tinytuya's argument order
    dpset: Mapping[str, Any],
    transition: int,
    red: float,
    green: float,
    blue: float,
    brightness: float | None,
    colourtemp: float | None,
) -> str:
    """The music-mode value: transition, colour, then brightness and colour temperature in percent."""
    hexformat = dpset["value_hexformat"]
    digits = 2 if hexformat == "rgb8" else 4

    def scaled(percent: float | None) -> str:
        level = 0 if not percent or percent < 0 else percent_of_range(dpset, percent)
        return f"{level:0{digits}x}"

    return (
        f"{transition:x}" + colour_hex(red, green, blue, hexformat) + scaled(brightness) + scaled(colourtemp)
    )


def _whole(value: float) -> int:
    return value if isinstance(value, int) else round(value)


# -- reading a state -----------------------------------------------------------------------


def bulb_state(dpset: Mapping[str, Any], status: Mapping[str, Any] | None) -> dict[str, Any]:
    """tinytuya's ``state()``: feature -> value (``None`` when absent) and ``is_on``, or an error dict."""
    if not status:
        return tuya.error_json(tuya.ERR_JSON, "state: empty response")
    if "Error" in status:
        return tuya.error_json(tuya.ERR_JSON, status["Error"])
    if "dps" not in status:
        return tuya.error_json(tuya.ERR_JSON, "state: no data points")
    dps = status["dps"]
    # Keys with "_" (scene_data, value_min, ...) are settings, not values.
    state = {key: None if "_" in key or dp not in dps else dps[dp] for key, dp in dpset.items()}
    if "switch" in state:
        state["is_on"] = state["switch"]
    return state


def get_value(state: Mapping[str, Any], feature: str) -> Any:
    """One feature's value in a state; RuntimeError for an error state, ValueError for no such feature."""
    if "Error" in state:
        raise RuntimeError("Error getting device current state.")
    if feature not in state:
        raise ValueError(f"Unknown parameter {feature!r}.")
    return state[feature]


def check_value_range(dpset: Mapping[str, Any]) -> None:
    """RuntimeError unless the bulb's maximum value is known (percentages need it)."""
    if not dpset["value_max"] or dpset["value_max"] < 1:
        raise RuntimeError("Bulb capability 'value_max' not set, unable to calculate percentage.")


def brightness_percentage(state: Mapping[str, Any], dpset: Mapping[str, Any]) -> float | None:
    """Brightness in percent of the range; ``None`` for a bulb without brightness."""
    check_value_range(dpset)
    return _percent(get_value(state, "brightness"), dpset)


def colourtemp_percentage(state: Mapping[str, Any], dpset: Mapping[str, Any]) -> float | None:
    """Colour temperature in percent of the range; ``None`` for a bulb without one."""
    check_value_range(dpset)
    return _percent(get_value(state, "colourtemp"), dpset)


def white_percentage(state: Mapping[str, Any], dpset: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """(brightness, colour temperature) in percent."""
    return brightness_percentage(state, dpset), colourtemp_percentage(state, dpset)


def colour_rgb(state: Mapping[str, Any], dpset: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """The colour as (r, g, b), 0-255; ``None`` for a bulb without colour."""
    hexvalue = get_value(state, "colour")
    return None if hexvalue is None else tuya.hexvalue_to_rgb(hexvalue, dpset["value_hexformat"])


def colour_hsv(state: Mapping[str, Any], dpset: Mapping[str, Any]) -> tuple[float, float, float] | None:
    """The colour as (h, s, v), 0-1; ``None`` for a bulb without colour."""
    hexvalue = get_value(state, "colour")
    return None if hexvalue is None else tuya.hexvalue_to_hsv(hexvalue, dpset["value_hexformat"])


def _percent(value: Any, dpset: Mapping[str, Any]) -> float | None:
    # tinytuya 1.20 divides None (a bulb without the feature) and raises TypeError.
    return None if value is None else float(value / dpset["value_max"] * 100.0)
