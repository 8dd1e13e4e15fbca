"""The device classes: tinytuya's API, awaitable."""

from __future__ import annotations

from tinytuya_asyncio.devices.device import DeviceAsync
from tinytuya_asyncio.devices.updates import DeviceUpdate, UpdateStream
from tinytuya_asyncio.devices.xenon import XenonDeviceAsync

__all__ = ["DeviceAsync", "DeviceUpdate", "UpdateStream", "XenonDeviceAsync"]
