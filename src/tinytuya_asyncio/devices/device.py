"""``DeviceAsync``: tinytuya's ``Device`` (switches, values, timers) with awaitable methods."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.pairing import ReplyRule
from tinytuya_asyncio.devices.xenon import XenonDeviceAsync
from tinytuya_asyncio.protocol.dps import merge_results

_LOGGER = logging.getLogger(__name__)

#: Pause between single-DP writes when a device cannot take several at once (tinytuya's pacing).
SINGLE_DP_PACING: Final = 1.0


class DeviceAsync(XenonDeviceAsync):
    """A generic Tuya device: every method of tinytuya's ``Device``, awaitable."""

    async def set_status(
        self, on: bool, switch: int | str = 1, nowait: bool = False
    ) -> dict[str, Any] | None:
        """Switch ``switch`` on or off; returns the device's STATUS report (or ``None``)."""
        payload = self.generate_payload(tuya.CONTROL, {str(switch): on})
        return await self._send_receive(payload, getresponse=not nowait)

    async def product(self) -> dict[str, Any] | None:
        """Request product info (AP_CONFIG); many devices do not answer it."""
        return await self._send_receive(self.generate_payload(tuya.AP_CONFIG))

    async def heartbeat(self, nowait: bool = True) -> dict[str, Any] | None:
        """Send a HEART_BEAT (persistent connections also send them automatically)."""
        payload = self.generate_payload(tuya.HEART_BEAT)
        return await self._send_receive(payload, getresponse=not nowait, rule=ReplyRule.ACK)

    async def updatedps(self, index: list[int] | None = None, nowait: bool = False) -> dict[str, Any] | None:
        """Ask the device to report ``index`` (default ``[1]``); returns the STATUS it sends."""
        payload = self.generate_payload(tuya.UPDATEDPS, [1] if index is None else index)
        return await self._send_receive(payload, getresponse=not nowait)

    async def set_value(self, index: int | str, value: Any, nowait: bool = False) -> dict[str, Any] | None:
        """Set DP ``index`` to ``value``; returns the device's STATUS report (or ``None``)."""
        payload = self.generate_payload(tuya.CONTROL, {str(index): value})
        return await self._send_receive(payload, getresponse=not nowait)

    async def set_multiple_values(
        self, data: Mapping[Any, Any], nowait: bool = False
    ) -> dict[str, Any] | None:
        """Set several DPs in one request, falling back to one at a time for devices that need it."""
        out = {str(k): v for k, v in data.items()}
        too_many = self.max_simultaneous_dps > 0 and len(out) > self.max_simultaneous_dps
        if nowait:
            if too_many:
                last: dict[str, Any] | None = None
                for key, value in out.items():
                    last = await self.set_value(key, value, nowait=True)
                return last
            return await self._send_receive(self.generate_payload(tuya.CONTROL, out), getresponse=False)
        if too_many:
            merged: dict[str, Any] = {}
            for key, value in out.items():
                if merged:
                    await asyncio.sleep(SINGLE_DP_PACING)
                merge_results(merged, await self.set_value(key, value))
            return merged
        result = await self._send_receive(self.generate_payload(tuya.CONTROL, out))
        if result and "Err" in result and len(out) > 1:
            # The device may only take one DP per request: try the first alone.
            first_key = next(iter(out))
            single = await self.set_value(first_key, out.pop(first_key))
            if single and "Err" not in single:
                self.max_simultaneous_dps = 1
                result = single
                for key, value in out.items():
                    merge_results(result, await self.set_value(key, value))
        return result

    async def turn_on(self, switch: int | str = 1, nowait: bool = False) -> dict[str, Any] | None:
        """Turn ``switch`` on."""
        return await self.set_status(True, switch, nowait)

    async def turn_off(self, switch: int | str = 1, nowait: bool = False) -> dict[str, Any] | None:
        """Turn ``switch`` off."""
        return await self.set_status(False, switch, nowait)

    async def set_timer(
        self, num_secs: int, dps_id: int | str = 0, nowait: bool = False
    ) -> dict[str, Any] | None:
        """Set a countdown timer; ``dps_id=0`` picks the highest-numbered DP, as tinytuya does."""
        if dps_id == 0:
            status = await self.status()
            if not status or "dps" not in status:
                _LOGGER.debug("set_timer: status failed: %r", status)
                return status
            numbers = list(status["dps"])
            try:
                numbers.sort(key=int)
            except (TypeError, ValueError):
                numbers.sort()
            dps_id = numbers[-1]
        payload = self.generate_payload(tuya.CONTROL, {dps_id: num_secs})
        return await self._send_receive(payload, getresponse=not nowait)
