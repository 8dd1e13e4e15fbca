"""``CoverDeviceAsync``: tinytuya's ``CoverDevice`` (curtains, blinds, shutters) with awaitable methods.

Covers speak one of eight command sets (tinytuya's ``COVER_TYPES``): type 1 writes
``"open"``/``"close"``/``"stop"``/``"continue"``, type 2 ``True``/``False``, type 8
``"ZZ"``/``"FZ"``/``"STOP"``, and so on. The type is detected from the movement DP's value
in the first status, or set with :meth:`CoverDeviceAsync.set_cover_type`. An action the type
lacks (stop on type 2, continue on most) sends nothing and returns ``None``, as in tinytuya.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices.device import DeviceAsync

_LOGGER = logging.getLogger(__name__)

#: The order in which types claim an ambiguous value ("stop" is types 1, 6 and 7): most
#: common first, so type 1 wins (tinytuya's order).
DETECTION_ORDER: Final = (1, 8, 3, 4, 5, 7, 2, 6)
ACTIONS: Final = ("open", "close", "stop", "continue")


def detect_cover_type(status: Mapping[str, Any] | None, switch: int | str | None = None) -> int | None:
    """The cover type a status suggests from its movement DP; ``None`` if it has no DPs.

    A status whose DP is missing or holds no known value means the default type 1.
    """
    if not status or not isinstance(status.get("dps"), dict):
        return None
    value = status["dps"].get(str(tuya.COVER_MOVE_DP if switch is None else switch))
    if value is not None:
        for cover_type in DETECTION_ORDER:
            # ``in`` as tinytuya: a DP holding 0 or 1 also matches type 2's False and True.
            if value in tuya.COVER_TYPES[cover_type]["detect_values"]:
                return cover_type
    return tuya.COVER_DEFAULT_TYPE


def cover_command(cover_type: int | None, action: str) -> Any:
    """The value ``action`` writes on a cover of ``cover_type``; ``None`` when the type lacks it."""
    commands = tuya.COVER_TYPES.get(cover_type) if cover_type is not None else None
    return None if commands is None else commands.get(action)


class CoverDeviceAsync(DeviceAsync):
    """A Tuya cover: every method of tinytuya's ``CoverDevice``, awaitable (see the module docstring).

    The actions return the device's answer to the write (tinytuya's return ``None``).
    """

    DPS_INDEX_MOVE: Final = tuya.COVER_MOVE_DP
    DPS_INDEX_BL: Final[str] = tuya.cover_attribute("DPS_INDEX_BL")
    DEFAULT_COVER_TYPE: Final = tuya.COVER_DEFAULT_TYPE
    DPS_2_STATE: Final[Mapping[str, str]] = tuya.cover_attribute("DPS_2_STATE")
    #: tinytuya's table of the eight command sets (read it, do not change it).
    COVER_TYPES: Final = tuya.COVER_TYPES

    # Per-device state, as tinytuya's attributes; class defaults until first set.
    _cover_type_detected: bool = False
    _cover_type: int | None = None

    @property
    def cover_type(self) -> int | None:
        """The command set in use (1-8), or ``None`` before the first action detects it."""
        return self._cover_type

    def set_cover_type(self, cover_type: int) -> None:
        """Use command set ``cover_type`` (1-8) instead of detecting it; ValueError otherwise."""
        if cover_type not in self.COVER_TYPES:
            raise ValueError(f"Invalid cover_type: {cover_type}. Must be between 1 and 8.")
        self._cover_type = cover_type
        self._cover_type_detected = True

    async def _detect_cover_type(self, switch: int | str | None = None) -> None:
        """Detect the type from a status (once; type 1 until a status answers).

        tinytuya settles on type 1 for good when its one status request fails; here a
        device that did not answer is asked again on the next action, so a cover that was
        offline at start-up still gets its own command set.
        """
        if self._cover_type_detected:
            return
        detected = detect_cover_type(await self.status(), switch)
        self._cover_type = self.DEFAULT_COVER_TYPE if detected is None else detected
        self._cover_type_detected = detected is not None
        _LOGGER.debug("cover type %s%s", self._cover_type, "" if detected else " (status failed)")

    async def _get_command(self, action: str, switch: int | str | None = None) -> Any:
        if not self._cover_type_detected:
            await self._detect_cover_type(switch)
        return cover_command(self._cover_type, action)

    async def _act(self, action: str, switch: int | str | None, nowait: bool) -> dict[str, Any] | None:
        dp = self.DPS_INDEX_MOVE if switch is None else switch
        command = await self._get_command(action, dp)
        if command is None:
            return None  # the type has no such action: nothing is sent, as in tinytuya
        return await self.set_value(dp, command, nowait=nowait)

    async def open_cover(
        self, switch: int | str | None = None, nowait: bool = False
    ) -> dict[str, Any] | None:
        """Open the cover (``switch``: the movement DP, default 1)."""
        return await self._act("open", switch, nowait)

    async def close_cover(
        self, switch: int | str | None = None, nowait: bool = False
    ) -> dict[str, Any] | None:
        """Close the cover."""
        return await self._act("close", switch, nowait)

    async def stop_cover(
        self, switch: int | str | None = None, nowait: bool = False
    ) -> dict[str, Any] | None:
        """Stop the cover (types 2 and 5 cannot: nothing is sent)."""
        return await self._act("stop", switch, nowait)

    async def continue_cover(
        self, switch: int | str | None = None, nowait: bool = False
    ) -> dict[str, Any] | None:
        """Continue a stopped movement (types 1 and 4 only: others send nothing)."""
        return await self._act("continue", switch, nowait)
