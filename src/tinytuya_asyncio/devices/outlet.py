"""``OutletDeviceAsync``: tinytuya's ``OutletDevice`` (plugs, switches, dimmers) with awaitable methods."""

from __future__ import annotations

from typing import Any, Final

from tinytuya_asyncio.devices.device import DeviceAsync

#: A dimmer's level range (tinytuya's): lower non-zero levels are raised to the minimum.
DIMMER_MIN: Final = 25
DIMMER_MAX: Final = 255


def dimmer_level(percentage: float | None, value: int | None) -> int | None:
    """The level ``set_dimmer`` writes: 0 means off, ``None`` nothing, else 25-255."""
    level = int(percentage * DIMMER_MAX / 100.0) if percentage is not None else value
    if level is None or level == 0:
        return level
    return min(max(level, DIMMER_MIN), DIMMER_MAX)


class OutletDeviceAsync(DeviceAsync):
    """A Tuya plug or switch: every method of tinytuya's ``OutletDevice``, awaitable."""

    async def set_dimmer(
        self,
        percentage: float | None = None,
        value: int | None = None,
        dps_id: int | str = 3,
        nowait: bool = False,
    ) -> dict[str, Any] | None:
        """Dim to ``percentage`` (0-100) or to the raw ``value`` (0-255) on DP ``dps_id``.

        0 turns the switch off; any other level turns it on and writes the level, raised to
        at least 25 and capped at 255. Returns the device's answer to the last write (or the
        error of the first that failed; tinytuya's returns ``None``), ``None`` when neither
        argument is given.
        """
        level = dimmer_level(percentage, value)
        if level is None:
            return None
        if level == 0:
            return await self.turn_off(nowait=nowait)
        switched = await self.turn_on(nowait=nowait)
        written = await self.set_value(dps_id, level, nowait=nowait)
        return switched if switched is not None and "Err" in switched else written
