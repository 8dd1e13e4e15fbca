"""Device objects from tinytuya's devices.json: one per entry, gateway children on their gateway.

The wizard's format: ``id``, ``key``, ``ip`` (or ``last_ip``), ``version``, optionally
``port``; a sub-device has ``sub``, ``parent`` (its gateway's id) and ``node_id`` (its
``cid``). A device without an address is "Auto": it is found by its broadcasts at its first
connect. The command line builds its devices here too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import DeviceAsync, XenonDeviceAsync
from tinytuya_asyncio.devices.redact import redact_id
from tinytuya_asyncio.scanner import DeviceDirectory, KnownDevice

_LOGGER = logging.getLogger(__name__)

#: tinytuya's fallback when a device's version is not known.
DEFAULT_VERSION: Final = "3.3"


def device_for(
    entry: KnownDevice,
    *,
    device_class: type[XenonDeviceAsync] = DeviceAsync,
    parent: XenonDeviceAsync | None = None,
    **options: Any,
) -> XenonDeviceAsync:
    """The device object for one entry (a child of ``parent`` when given); no I/O.

    ``options`` are constructor keywords (``persist``, ``connection_timeout``...); a child
    takes none: it uses its gateway's connection.
    """
    if parent is not None:
        return device_class(entry.id, cid=entry.node_id or entry.id, parent=parent)
    return device_class(
        entry.id,
        entry.ip or None,  # no address: "Auto", looked up at the first connect
        entry.key,
        version=entry.version or DEFAULT_VERSION,
        port=entry.port or tuya.TCPPORT,
        **options,
    )


def devices_from(
    entries: DeviceDirectory | Iterable[Mapping[str, Any]],
    *,
    device_class: type[XenonDeviceAsync] = DeviceAsync,
    **options: Any,
) -> list[XenonDeviceAsync]:
    """Every entry's device, gateways before their children; a child whose gateway is not in
    the entries is left out (it has no connection of its own), with a warning."""
    directory = entries if isinstance(entries, DeviceDirectory) else DeviceDirectory.from_entries(entries)
    built: dict[str, XenonDeviceAsync] = {}
    for entry in directory:
        if not entry.sub:
            built[entry.id] = device_for(entry, device_class=device_class, **options)
    children: list[XenonDeviceAsync] = []
    for entry in directory:
        if not entry.sub:
            continue
        parent = built.get(entry.parent)
        if parent is None:
            _LOGGER.warning("%s: sub-device of a gateway not in the file: left out", redact_id(entry.id))
            continue
        children.append(device_for(entry, device_class=device_class, parent=parent))
    return [*built.values(), *children]
