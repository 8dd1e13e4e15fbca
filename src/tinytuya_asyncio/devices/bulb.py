"""``BulbDeviceAsync``: tinytuya's ``BulbDevice`` (white, colour, scenes, music) with awaitable methods.

Bulbs come in types with different DP layouts and value ranges (tinytuya's tables): A (DPs
1-8, 25-255, ``rgb8`` colours), B (DPs 20-28, 10-1000, ``hsv16``), C (switch, brightness and
colour temperature only) and "None" (not a bulb). The type is detected from the first
status, or set with :meth:`BulbDeviceAsync.set_bulb_type`.

Getters such as ``brightness(state=None)`` fetch a fresh state when none is given, so they
are coroutines; given a state they compute without any I/O. The same computations are plain
functions in :mod:`tinytuya_asyncio.devices.bulb_values` for code that wants no ``await``::

    state = await bulb.state()
    print(await bulb.colour_rgb(state=state))             # no request
    print(bulb_values.colour_rgb(state, bulb.dpset))      # the same, synchronously
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import bulb_values as values
from tinytuya_asyncio.devices.device import DeviceAsync

_LOGGER = logging.getLogger(__name__)

Result = dict[str, Any] | None


def _unsupported(message: str) -> dict[str, Any]:
    return tuya.error_json(tuya.ERR_FUNCTION, message)


class BulbDeviceAsync(DeviceAsync):
    """A Tuya bulb: every method of tinytuya's ``BulbDevice``, awaitable (see the module docstring)."""

    DPS_MODE_WHITE: Final = tuya.BULB_MODE_WHITE
    DPS_MODE_COLOUR: Final = tuya.BULB_MODE_COLOUR
    DPS_MODE_SCENE: Final = tuya.BULB_MODE_SCENE
    DPS_MODE_MUSIC: Final = tuya.BULB_MODE_MUSIC
    DPS_MODE_SCENE_1: Final[str] = tuya.bulb_attribute("DPS_MODE_SCENE_1")
    DPS_MODE_SCENE_2: Final[str] = tuya.bulb_attribute("DPS_MODE_SCENE_2")
    DPS_MODE_SCENE_3: Final[str] = tuya.bulb_attribute("DPS_MODE_SCENE_3")
    DPS_MODE_SCENE_4: Final[str] = tuya.bulb_attribute("DPS_MODE_SCENE_4")
    BULB_FEATURE_MODE: Final = "mode"
    BULB_FEATURE_BRIGHTNESS: Final = "brightness"
    BULB_FEATURE_COLOURTEMP: Final = "colourtemp"
    BULB_FEATURE_COLOUR: Final = "colour"
    BULB_FEATURE_SCENE: Final = "scene"
    BULB_FEATURE_SCENE_DATA: Final = "scene_data"
    BULB_FEATURE_TIMER: Final = "timer"
    BULB_FEATURE_MUSIC: Final = "music"
    MUSIC_TRANSITION_JUMP: Final[int] = tuya.bulb_attribute("MUSIC_TRANSITION_JUMP")
    MUSIC_TRANSITION_FADE: Final[int] = tuya.bulb_attribute("MUSIC_TRANSITION_FADE")
    #: tinytuya's per-type tables (read them, do not change them: they are tinytuya's).
    DEFAULT_DPSET: Final = tuya.BULB_DPSETS
    DPS: Final = "dps"

    # Per-device state, as tinytuya's attributes; class defaults until first set.
    bulb_configured: bool = False
    bulb_type: str | None = None
    has_brightness: bool | None = None
    has_colourtemp: bool | None = None
    has_colour: bool | None = None
    tried_status: bool = False

    @cached_property
    def dpset(self) -> dict[str, Any]:
        """Feature -> DP (``None``: the bulb lacks it), value range and colour format."""
        return values.empty_dpset()

    # tinytuya's static converters (``hsv_to_hexvalue`` also works for ``rgb8``, see bulb_values).
    rgb_to_hexvalue = staticmethod(values.colour_hex)
    hsv_to_hexvalue = staticmethod(values.hsv_hex)
    hexvalue_to_rgb = staticmethod(tuya.hexvalue_to_rgb)
    hexvalue_to_hsv = staticmethod(tuya.hexvalue_to_hsv)

    # -- type and capabilities -----------------------------------------------------------

    async def status(self, nowait: bool = False) -> dict[str, Any] | None:
        """The device's status; the first one with DPs also detects the bulb type."""
        result = await super().status(nowait=nowait)
        self.tried_status = True
        if result and not self.bulb_configured and "dps" in result:
            await self.detect_bulb(result, nowait=nowait)
        return result

    async def detect_bulb(self, response: dict[str, Any] | None = None, nowait: bool = False) -> None:
        """Work out the bulb type from ``response`` (or the cached or a fresh status)."""
        if not response:
            response = await self.cached_status(historic=True, nowait=nowait)
            if not response or "dps" not in response:
                if nowait:
                    _LOGGER.debug("detect_bulb: no status cached and nowait set: not detecting")
                else:
                    await self.status()  # detects the type when it answers
                return
        dps = response.get("dps")
        if not isinstance(dps, dict):
            if not self.bulb_configured:
                _LOGGER.debug("detect_bulb: no DPs in the response")
            return
        bulb_type = values.detect_bulb_type(dps)
        if bulb_type is not None:
            self.bulb_configured = True
            self.bulb_type = bulb_type
            values.apply_detection(self.dpset, bulb_type, dps)
        self._set_has_flags()
        _LOGGER.debug("bulb type %r, dpset %r", self.bulb_type, self.dpset)

    def set_bulb_type(self, bulb_type: str | None = None, mapping: dict[str, Any] | None = None) -> None:
        """Set the type ("A", "B", "C" or "None") instead of detecting it; ``mapping`` overrides DPs."""
        self.bulb_type = bulb_type
        self.set_bulb_capabilities(mapping)

    def set_bulb_capabilities(self, mapping: dict[str, Any] | None) -> None:
        """Override feature DPs (or the value range) and fill the rest from the type's table."""
        if values.apply_capabilities(self.dpset, self.bulb_type, mapping):
            self.bulb_configured = True

    async def bulb_has_capability(self, feature: str, nowait: bool = False) -> bool:
        """Whether the bulb has ``feature``; detects the type first if needed (RuntimeError if it cannot)."""
        await self._require_configured("Bulb not configured, cannot get device capabilities.", nowait)
        return bool(self.dpset[feature])

    def _set_has_flags(self) -> None:
        # tinytuya's has_* attributes, kept for code that reads them.
        self.has_brightness = bool(self.dpset["brightness"])
        self.has_colourtemp = bool(self.dpset["colourtemp"])
        self.has_colour = bool(self.dpset["colour"])

    async def _require_configured(self, message: str, nowait: bool) -> None:
        if not self.bulb_configured:
            await self.detect_bulb(nowait=nowait)
            if not self.bulb_configured:
                raise RuntimeError(message)

    async def _set_values_check(self, wanted: dict[str, Any], nowait: bool = False) -> Result:
        """Write the features in ``wanted``, only those that changed when the status is cached."""
        known = await self.cached_status(nowait=nowait)
        dps = known.get("dps") if known else None
        out = values.dps_to_send(self.dpset, wanted, dps if isinstance(dps, dict) else None)
        return await self.set_multiple_values(out, nowait=nowait)

    # -- switching -------------------------------------------------------------------------

    async def turn_onoff(self, on: bool, switch: int | str = 0, nowait: bool = False) -> Result:
        """Switch on or off; ``switch=0`` is the bulb's own switch DP (1 if none is known)."""
        if not switch:
            if not self.tried_status:
                await self.detect_bulb(nowait=nowait)
            # BulbDevice is also used for plain switches: fall back to DP 1.
            switch = self.dpset["switch"] or 1
        return await self.set_status(on, switch, nowait=nowait)

    async def turn_on(self, switch: int | str = 0, nowait: bool = False) -> Result:
        """Turn the bulb on."""
        return await self.turn_onoff(True, switch=switch, nowait=nowait)

    async def turn_off(self, switch: int | str = 0, nowait: bool = False) -> Result:
        """Turn the bulb off."""
        return await self.turn_onoff(False, switch=switch, nowait=nowait)

    # -- modes -----------------------------------------------------------------------------

    async def set_mode(self, mode: str = "white", nowait: bool = False) -> Result:
        """Set the mode: ``white``, ``colour``, ``scene`` or ``music`` (and switch on)."""
        if not await self.bulb_has_capability("mode", nowait=nowait):
            return _unsupported("Bulb does not support mode setting.")
        return await self._set_values_check({"mode": mode, "switch": True}, nowait=nowait)

    async def set_scene(self, scene: int, scene_data: str | None = None, nowait: bool = False) -> Result:
        """Select scene ``scene`` (1-4 on type A bulbs, any number on others), with ``scene_data``."""
        if not await self.bulb_has_capability("scene", nowait=nowait):
            return _unsupported("set_scene: Bulb does not support scenes.")
        return await self._set_values_check(values.scene_values(self.dpset, scene, scene_data), nowait=nowait)

    async def set_timer(self, num_secs: int, dps_id: int | str = 0, nowait: bool = False) -> Result:
        """Set the bulb's countdown timer (``dps_id`` writes that DP instead, as ``DeviceAsync``)."""
        if dps_id:
            return await self.set_value(dps_id, num_secs, nowait=nowait)
        if not await self.bulb_has_capability("timer", nowait=nowait):
            return _unsupported("set_timer: Bulb does not support timer.")
        return await self.set_value(self.dpset["timer"], num_secs, nowait=nowait)

    async def set_music_colour(  # noqa: PLR0917 - tinytuya's signature
        self,
        transition: int,
        red: float,
        green: float,
        blue: float,
        brightness: float | None = None,
        colourtemp: float | None = None,
        nowait: bool = False,
    ) -> Result:
        """Set a colour in music mode (``transition``: MUSIC_TRANSITION_JUMP or _FADE; percentages)."""
        if not await self.bulb_has_capability("music", nowait=nowait):
            return _unsupported("set_music_colour: Device does not support music mode.")
        value = values.music_hex(self.dpset, transition, red, green, blue, brightness, colourtemp)
        return await self.set_value(self.dpset["music"], value, nowait=nowait)

    # -- colour ----------------------------------------------------------------------------

    async def set_colour(self, r: float, g: float, b: float, nowait: bool = False) -> Result:
        """Set the colour from red, green and blue (0-255) and switch to colour mode."""
        if not await self.bulb_has_capability("colour", nowait=nowait):
            return _unsupported("set_colour: Device does not support color.")
        colour = values.colour_hex(r, g, b, self.dpset["value_hexformat"])
        return await self._set_colour(colour, nowait)

    async def set_hsv(self, h: float, s: float, v: float, nowait: bool = False) -> Result:
        """Set the colour from hue, saturation and value (0-1) and switch to colour mode."""
        if not await self.bulb_has_capability("colour", nowait=nowait):
            return _unsupported("set_colour: Device does not support color.")
        colour = values.hsv_hex(h, s, v, self.dpset["value_hexformat"])
        return await self._set_colour(colour, nowait)

    async def _set_colour(self, colour: str, nowait: bool) -> Result:
        wanted = {"colour": colour, "mode": self.DPS_MODE_COLOUR, "switch": True}
        return await self._set_values_check(wanted, nowait=nowait)

    # -- white -----------------------------------------------------------------------------

    async def set_white_percentage(
        self, brightness: float = 100, colourtemp: float = 0, nowait: bool = False
    ) -> Result:
        """White light at ``brightness`` and ``colourtemp`` percent (colourtemp ignored if unsupported)."""
        wrong = [
            name for name, p in (("Brightness", brightness), ("Colourtemp", colourtemp)) if not 0 <= p <= 100
        ]
        if wrong:
            raise ValueError(
                f"set_white_percentage: {'/'.join(wrong)} percentage needs to be between 0 and 100."
            )
        await self._require_configured(
            "set_white_percentage: Bulb not configured, cannot determine value ranges.", nowait
        )
        return await self.set_white(
            values.percent_of_range(self.dpset, brightness),
            values.percent_of_range(self.dpset, colourtemp),
            nowait=nowait,
        )

    async def set_white(
        self, brightness: float = -1, colourtemp: float | None = -1, nowait: bool = False
    ) -> Result:
        """White light at raw values (type A 25-255, B 10-1000); below the minimum turns off.

        tinytuya keeps it as deprecated in favour of :meth:`set_white_percentage`.
        """
        if not await self.bulb_has_capability("brightness", nowait=nowait):
            return _unsupported("set_white: Device does not support brightness.")
        wanted = values.white_values(self.dpset, brightness, colourtemp)
        return await self._set_values_check(wanted, nowait=nowait)

    async def set_brightness_percentage(self, brightness: float = 100, nowait: bool = False) -> Result:
        """Brightness in percent, in white or colour mode alike."""
        if not 0 <= brightness <= 100:
            raise ValueError("set_brightness_percentage: The brightness needs to be between 0 and 100.")
        await self._require_configured(
            "set_brightness_percentage: Bulb not configured, cannot determine value ranges.", nowait
        )
        return await self.set_brightness(values.percent_of_range(self.dpset, brightness), nowait=nowait)

    async def set_brightness(self, brightness: float, nowait: bool = False) -> Result:
        """Brightness as a raw value; in colour mode it becomes the colour's value (HSV's V).

        tinytuya keeps it as deprecated in favour of :meth:`set_brightness_percentage`.
        """
        if not await self.bulb_has_capability("brightness", nowait=nowait):
            return _unsupported("set_brightness: Device does not support brightness.")
        low, high = self.dpset["value_min"], self.dpset["value_max"]
        if brightness < 0:
            brightness = high
        elif brightness < low:
            return await self.turn_off(0, nowait=nowait)
        elif brightness > high:
            raise ValueError(f"set_brightness: The brightness needs to be between {low} and {high}.")
        state = await self.state(nowait=nowait)
        if "Error" in state or "mode" not in state:
            return state
        hsv = values.colour_hsv(state, self.dpset) if state["mode"] == self.DPS_MODE_COLOUR else None
        if hsv is None:  # white mode, or a bulb without a colour DP
            return await self.set_white(brightness=brightness, colourtemp=None, nowait=nowait)
        h, s, _ = hsv
        return await self.set_hsv(h, s, brightness / float(high), nowait=nowait)

    async def set_colourtemp_percentage(self, colourtemp: float = 100, nowait: bool = False) -> Result:
        """Colour temperature in percent (white mode)."""
        if not 0 <= colourtemp <= 100:
            raise ValueError(
                "set_colourtemp_percentage: Colourtemp percentage needs to be between 0 and 100."
            )
        await self._require_configured(
            "set_colourtemp_percentage: Bulb not configured, cannot determine value ranges.", nowait
        )
        return await self.set_colourtemp(values.percent_of_range(self.dpset, colourtemp), nowait=nowait)

    async def set_colourtemp(self, colourtemp: float, nowait: bool = False) -> Result:
        """Colour temperature as a raw value (0 to the type's maximum), in white mode.

        tinytuya keeps it as deprecated in favour of :meth:`set_colourtemp_percentage`.
        """
        if not await self.bulb_has_capability(self.BULB_FEATURE_COLOURTEMP, nowait=nowait):
            return _unsupported("set_colourtemp: Device does not support colourtemp.")
        if not 0 <= colourtemp <= self.dpset["value_max"]:
            raise ValueError(
                f"set_colourtemp: The colour temperature needs to be between 0 and {self.dpset['value_max']}."
            )
        wanted = {"colourtemp": colourtemp, "mode": self.DPS_MODE_WHITE, "switch": True}
        return await self._set_values_check(wanted, nowait=nowait)

    # -- getters: a fresh state when none is given, plain computation otherwise ------------

    async def state(self, nowait: bool = False) -> dict[str, Any]:  # type: ignore[override]
        """The bulb's state: feature -> value and ``is_on`` (or an error dict), as tinytuya's ``state()``.

        This replaces :attr:`XenonDeviceAsync.state` (the connection state) on bulbs, as
        tinytuya names it; read :attr:`connection_state` for the connection.
        """
        await self._require_configured("Bulb not configured, cannot get device current state.", nowait)
        return values.bulb_state(self.dpset, await self.cached_status(nowait=nowait))

    async def _given_or_fresh(self, state: dict[str, Any] | None, nowait: bool) -> dict[str, Any]:
        return state if state else await self.state(nowait=nowait)

    async def get_value(self, feature: str, state: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        """One feature's current value (RuntimeError on an error state, ValueError for an unknown feature)."""
        return values.get_value(await self._given_or_fresh(state, nowait), feature)

    async def get_mode(self, state: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        """The working mode (``white``, ``colour``, ``scene_1``...)."""
        return await self.get_value("mode", state=state, nowait=nowait)

    async def brightness(self, state: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        """The raw brightness value."""
        return await self.get_value("brightness", state=state, nowait=nowait)

    async def colourtemp(self, state: dict[str, Any] | None = None, nowait: bool = False) -> Any:
        """The raw colour temperature value."""
        return await self.get_value("colourtemp", state=state, nowait=nowait)

    async def get_brightness_percentage(
        self, state: dict[str, Any] | None = None, nowait: bool = False
    ) -> float | None:
        """Brightness in percent; ``None`` for a bulb without brightness."""
        values.check_value_range(self.dpset)
        return values.brightness_percentage(await self._given_or_fresh(state, nowait), self.dpset)

    async def get_colourtemp_percentage(
        self, state: dict[str, Any] | None = None, nowait: bool = False
    ) -> float | None:
        """Colour temperature in percent; ``None`` for a bulb without one."""
        values.check_value_range(self.dpset)
        return values.colourtemp_percentage(await self._given_or_fresh(state, nowait), self.dpset)

    async def white_percentage(
        self, state: dict[str, Any] | None = None, nowait: bool = False
    ) -> tuple[float | None, float | None]:
        """(brightness, colour temperature) in percent, from one state."""
        return values.white_percentage(await self._given_or_fresh(state, nowait), self.dpset)

    async def colour_rgb(
        self, state: dict[str, Any] | None = None, nowait: bool = False
    ) -> tuple[int, int, int] | None:
        """The colour as (r, g, b); ``None`` for a bulb without colour."""
        return values.colour_rgb(await self._given_or_fresh(state, nowait), self.dpset)

    async def colour_hsv(
        self, state: dict[str, Any] | None = None, nowait: bool = False
    ) -> tuple[float, float, float] | None:
        """The colour as (h, s, v); ``None`` for a bulb without colour."""
        return values.colour_hsv(await self._given_or_fresh(state, nowait), self.dpset)
