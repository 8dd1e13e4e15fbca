"""asyncio-native local control of Tuya devices, protocols 3.1 to 3.5.

Installs beside :mod:`tinytuya` and reuses its framing, crypto and templates; the classes
here mirror tinytuya's, with an ``Async`` suffix and awaitable methods.
"""

from __future__ import annotations

from tinytuya_asyncio.exceptions import (
    ConnectError,
    ConnectionClosedError,
    DecryptError,
    DeviceError,
    DeviceOfflineError,
    FrameError,
    HandshakeError,
    IntegrityError,
    InvalidKeyError,
    LocalProtocolError,
    RemoteProtocolError,
    TuyaError,
    TuyaTimeoutError,
)

__version__ = "2.0.0.dev0"

__all__ = [
    "ConnectError",
    "ConnectionClosedError",
    "DecryptError",
    "DeviceError",
    "DeviceOfflineError",
    "FrameError",
    "HandshakeError",
    "IntegrityError",
    "InvalidKeyError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "TuyaError",
    "TuyaTimeoutError",
    "__version__",
]
