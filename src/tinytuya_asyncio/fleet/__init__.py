"""Many devices as one: :class:`Fleet`, built from tinytuya's devices.json or from device objects.

Modules: ``tinytuya_asyncio.fleet.fleet`` (the class), ``tinytuya_asyncio.fleet.build``
(devices from a devices file), ``tinytuya_asyncio.fleet.runner`` (bounded concurrency that
keeps every outcome), ``tinytuya_asyncio.fleet.members`` (what the fleet attaches to each
device, and which devices share a connection).
"""

from __future__ import annotations

from tinytuya_asyncio.fleet.build import DEFAULT_VERSION, device_for, devices_from
from tinytuya_asyncio.fleet.fleet import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_WAITING,
    DEFAULT_MIN_INTERVAL,
    DEVICE_DEFAULTS,
    Fleet,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_WAITING",
    "DEFAULT_MIN_INTERVAL",
    "DEFAULT_VERSION",
    "DEVICE_DEFAULTS",
    "Fleet",
    "device_for",
    "devices_from",
]
