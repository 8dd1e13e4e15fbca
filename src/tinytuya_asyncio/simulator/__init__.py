"""Fake Tuya devices (protocols 3.1 to 3.5) served by asyncio, for tests, demos and benchmarks.

The simulator drives the package's sans-I/O protocol core in the device role and never the
asyncio client, so the two do not share asyncio bugs; tinytuya's sync client is the
independent referee in the tests. Layout: :mod:`.state` (the device model),
:mod:`.firmware` (what firmware answers), :mod:`.service` (one connection),
:mod:`.server` (listener and connection policy), :mod:`.device` (the public device),
:mod:`.fleet` (many devices), :mod:`.discovery` (UDP), :mod:`.faults`, :mod:`.profiles`
(data points of plugs, dimmers, bulbs and covers).

Example::

    dev = SimulatedDevice("0123456789abcdef0123", "0123456789abcdef", version=3.4, dps={"1": False})
    await dev.start(host="127.0.0.1", port=0)
    ...  # point a client at dev.host, dev.port
    await dev.stop()
"""

from __future__ import annotations

from tinytuya_asyncio.simulator.device import SimulatedDevice, SimulatedGateway
from tinytuya_asyncio.simulator.discovery import Discovery, DiscoveryConfig
from tinytuya_asyncio.simulator.faults import Faults
from tinytuya_asyncio.simulator.fleet import Simulator, parse_versions
from tinytuya_asyncio.simulator.limits import raise_nofile_limit
from tinytuya_asyncio.simulator.profiles import PROFILES, profile_dps
from tinytuya_asyncio.simulator.server import ConnectionPolicy
from tinytuya_asyncio.simulator.stats import DeviceStats

__all__ = [
    "PROFILES",
    "ConnectionPolicy",
    "DeviceStats",
    "Discovery",
    "DiscoveryConfig",
    "Faults",
    "SimulatedDevice",
    "SimulatedGateway",
    "Simulator",
    "parse_versions",
    "profile_dps",
    "raise_nofile_limit",
]
