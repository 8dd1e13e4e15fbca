"""asyncio-native local control of Tuya devices, protocols 3.1 to 3.5.

Installs beside :mod:`tinytuya` and reuses its framing, crypto and templates; the classes
here mirror tinytuya's, with an ``Async`` suffix and awaitable methods::

    import asyncio
    from tinytuya_asyncio import DeviceAsync

    async def main() -> None:
        async with DeviceAsync("DEVICE_ID", "192.168.1.20", "LOCAL_KEY", version=3.4) as dev:
            print(await dev.status())
            await dev.turn_on()

    asyncio.run(main())
"""

from __future__ import annotations

from tinytuya_asyncio.connection.backoff import DEFAULT_CONNECT_LIMIT, Backoff, set_connect_limit
from tinytuya_asyncio.connection.state import ConnectionState, DisconnectReason, StateChange
from tinytuya_asyncio.devices import (
    BulbDeviceAsync,
    CoverDeviceAsync,
    DeviceAsync,
    DeviceUpdate,
    OutletDeviceAsync,
    UpdateStream,
    XenonDeviceAsync,
)
from tinytuya_asyncio.exceptions import (
    ConnectError,
    ConnectionClosedError,
    DatagramError,
    DeviceBusyError,
    DeviceNotFoundError,
    DeviceOfflineError,
    FrameError,
    HandshakeError,
    HandshakeTimeoutError,
    IntegrityError,
    InvalidKeyError,
    LocalProtocolError,
    RemoteProtocolError,
    TuyaError,
    TuyaTimeoutError,
)
from tinytuya_asyncio.fleet import Fleet
from tinytuya_asyncio.metrics import Counters, CounterSink, MetricsSink, NullSink, set_default_sink
from tinytuya_asyncio.scanner import DiscoveredDevice, Scanner, resolve_address, scan_network

__version__ = "2.0.0.dev0"

__all__ = [
    "DEFAULT_CONNECT_LIMIT",
    "Backoff",
    "BulbDeviceAsync",
    "ConnectError",
    "ConnectionClosedError",
    "ConnectionState",
    "CounterSink",
    "Counters",
    "CoverDeviceAsync",
    "DatagramError",
    "DeviceAsync",
    "DeviceBusyError",
    "DeviceNotFoundError",
    "DeviceOfflineError",
    "DeviceUpdate",
    "DisconnectReason",
    "DiscoveredDevice",
    "Fleet",
    "FrameError",
    "HandshakeError",
    "HandshakeTimeoutError",
    "IntegrityError",
    "InvalidKeyError",
    "LocalProtocolError",
    "MetricsSink",
    "NullSink",
    "OutletDeviceAsync",
    "RemoteProtocolError",
    "Scanner",
    "StateChange",
    "TuyaError",
    "TuyaTimeoutError",
    "UpdateStream",
    "XenonDeviceAsync",
    "__version__",
    "resolve_address",
    "scan_network",
    "set_connect_limit",
    "set_default_sink",
]
