"""The device classes: tinytuya's API, awaitable."""

from __future__ import annotations

from tinytuya_asyncio.devices.bulb import BulbDeviceAsync
from tinytuya_asyncio.devices.cover import CoverDeviceAsync
from tinytuya_asyncio.devices.device import DeviceAsync
from tinytuya_asyncio.devices.outlet import OutletDeviceAsync
from tinytuya_asyncio.devices.updates import DeviceUpdate, UpdateStream
from tinytuya_asyncio.devices.xenon import XenonDeviceAsync

__all__ = [
    "BulbDeviceAsync",
    "CoverDeviceAsync",
    "DeviceAsync",
    "DeviceUpdate",
    "OutletDeviceAsync",
    "UpdateStream",
    "XenonDeviceAsync",
]
