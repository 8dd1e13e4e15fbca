"""Data-point sets of common device kinds, for simulated devices.

Each profile is the status a real device of that kind reports (DP numbers and value ranges
as tinytuya's tables describe them): a plug, a dimmer, bulbs of types A, B and C, and
covers speaking each of the eight command sets. ``SimulatedDevice(..., dps=profile_dps(name))``,
``Simulator.generate(version, profile=name)`` and ``--profiles`` on the command line use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

#: DP 1 of a cover at rest, per command set (1-8): a value only that set claims when
#: tinytuya's detection tries the sets in its order, so each profile is detected as its type.
COVER_RESTING: Final[Mapping[int, Any]] = {
    1: "stop",
    2: False,
    3: "0",
    4: "00",
    5: "fclose",
    6: "off",
    7: "down",
    8: "STOP",
}

#: Profile name -> the data points a device of that kind reports (see the module docstring).
PROFILES: Final[Mapping[str, Mapping[str, Any]]] = {
    # A plug with energy metering: switch, countdown, current (mA), power (W/10), voltage (V/10).
    "plug": {"1": False, "9": 0, "18": 0, "19": 0, "20": 2300},
    # A dimmer switch: switch and level (25-255) on DP 3, where tinytuya's set_dimmer writes.
    "dimmer": {"1": False, "3": 255},
    # Bulb type A: switch, mode, brightness 25-255, colour temperature 0-255, colour as
    # rrggbb + hhhhssvv, scene, timer, music. (Real bulbs leave the music DP out of a status;
    # here it is reported, so that a music write gets its STATUS answer like any other.)
    "bulb_a": {
        "1": False,
        "2": "white",
        "3": 255,
        "4": 0,
        "5": "ff00000000ffff",
        "6": "bd76000168ffff",
        "7": 0,
        "8": "",
    },
    # Bulb type B: DPs 20-28, brightness 10-1000, colour as hhhhssssvvvv, scene data on 25.
    "bulb_b": {
        "20": False,
        "21": "white",
        "22": 1000,
        "23": 0,
        "24": "000003e803e8",
        "25": "000e0d0000000000000000c803e8",
        "26": 0,
        "28": "",
    },
    # Bulb type C (a dimmable white filament bulb): switch, brightness 25-255, colour temperature.
    "bulb_c": {"1": False, "2": 255, "3": 0},
    # Covers: movement command on DP 1, position set and reported on 2 and 3, backlight on 101.
    **{
        f"cover_{kind}": {"1": resting, "2": 0, "3": 0, "101": False}
        for kind, resting in COVER_RESTING.items()
    },
}


def profile_dps(name: str) -> dict[str, Any]:
    """A fresh copy of profile ``name``'s data points (ValueError for an unknown name)."""
    try:
        return dict(PROFILES[name])
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})") from None
