"""Finding devices on the network: UDP discovery, the 3.5 probe, TCP probing, "Auto" addresses.

``await scan_network()`` returns what a scan found; :class:`Scanner` streams it as it comes
(``async for``). Records are :class:`DiscoveredDevice`; a devices file (tinytuya's
devices.json, :func:`load_devices_file`) names them and lets TCP probing identify devices
that never announce themselves. :func:`resolve_address` finds one device's IP by its id.
"""

from __future__ import annotations

from tinytuya_asyncio.scanner.devicesfile import (
    DeviceDirectory,
    DevicesFileError,
    KnownDevice,
    load_devices_file,
)
from tinytuya_asyncio.scanner.interfaces import ProbeTarget, local_networks, local_probe_targets
from tinytuya_asyncio.scanner.records import DiscoveredDevice, Source
from tinytuya_asyncio.scanner.resolve import (
    AddressResolver,
    ResolverConfig,
    resolve_address,
    set_default_resolver_config,
)
from tinytuya_asyncio.scanner.scan import (
    DEFAULT_SCAN_TIME,
    Scanner,
    ScanStats,
    Sweep,
    expand_targets,
    scan_network,
)
from tinytuya_asyncio.scanner.udp import DiscoveryListener, ListenConfig

__all__ = [
    "DEFAULT_SCAN_TIME",
    "AddressResolver",
    "DeviceDirectory",
    "DevicesFileError",
    "DiscoveredDevice",
    "DiscoveryListener",
    "KnownDevice",
    "ListenConfig",
    "ProbeTarget",
    "ResolverConfig",
    "ScanStats",
    "Scanner",
    "Source",
    "Sweep",
    "expand_targets",
    "load_devices_file",
    "local_networks",
    "local_probe_targets",
    "resolve_address",
    "scan_network",
    "set_default_resolver_config",
]
