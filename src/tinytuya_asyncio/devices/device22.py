"""device22 firmware: detecting it, and probing which data points it has.

Some 3.3/3.4 firmware (and every 3.2 device) refuses a plain status query with "data
unvalid": it wants the data points named (``dev_type="device22"``, a CONTROL_NEW listing
``{"1": null, ...}``). tinytuya switches to that style on the first refusal and resends;
and since such a device only reports what it is asked for, it probes DP ranges to learn
which it has.

See docs/PROTOCOL.md#device22.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Protocol

#: DP ranges a probe asks for, a few at a time (the request size is limited).
DETECT_RANGES: Final = (
    (2, 11),
    (11, 21),
    (21, 31),
    (50, 61),
    (61, 71),
    (100, 111),
    (111, 121),
    (121, 131),
    (131, 141),
)


def switches_to_device22(*, version: float, dev_type: str, disabledetect: bool) -> bool:
    """Whether a "data unvalid" answer makes the device device22, as in tinytuya."""
    return not disabledetect and version in (3.3, 3.4) and dev_type != "device22"


def needs_probe(*, version: float, dps_to_request: dict[str, Any], probing: bool) -> bool:
    """A 3.2 device whose DPs are unknown is probed before its first status query.

    tinytuya probes in the constructor; we do it on first use.
    """
    return version == 3.2 and not dps_to_request and not probing


class Probed(Protocol):
    """The device a probe queries."""

    dev_type: str
    dps_to_request: dict[str, Any]
    dps_cache: dict[str, Any]

    def add_dps_to_request(self, dp_indicies: int | Iterable[int | str]) -> None: ...

    async def status(self, nowait: bool = False) -> dict[str, Any] | None: ...


async def probe_dps(device: Probed) -> dict[str, Any]:
    """Learn which DPs ``device`` has, range by range; leaves them in ``dps_to_request``."""
    device.dps_cache = {}
    for low, high in DETECT_RANGES:
        dev_type = device.dev_type
        _ask_for(device, low, high)
        data = await device.status()
        if device.dev_type != dev_type:
            # The device turned out to be device22 and the query was re-sent for DP 1
            # only; probe this range again (tinytuya skips it and misses its DPs).
            _ask_for(device, low, high)
            data = await device.status()
        if data is not None and "Err" in data:
            break  # unreachable or wrong key: probing more ranges would only fail slower
        if data is not None and "dps" in data:
            for key in data["dps"]:
                device.dps_cache[key] = None
        if device.dev_type == "default":
            break
    device.dps_to_request = device.dps_cache
    return device.dps_cache


def _ask_for(device: Probed, low: int, high: int) -> None:
    device.dps_to_request = {"1": None}  # DP 1 always, or a range with none fails
    device.add_dps_to_request(range(low, high))
