"""What a scan finds: one frozen record per device, and how a datagram becomes one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.scanner.devicesfile import KnownDevice

#: Device ids are 20 or 22 characters; anything longer in a datagram is not an id.
_MAX_ID: Final = 64
_ID: Final = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_VERSION: Final = re.compile(r"3\.[0-9]")


class Source(Enum):
    """How a device was found."""

    #: Its own announcement, on the plain or encrypted discovery port.
    BROADCAST = "broadcast"
    #: Its answer to our REQ_DEVINFO probe, on the app port (3.5).
    PROBE = "probe"
    #: A TCP connection to its address (force scan).
    TCP = "tcp"
    #: This process already holds a connection to it, so it was not probed again.
    HELD = "held"


@dataclass(frozen=True, slots=True)
class DiscoveredDevice:
    """One device on the network. The local key, when known, never appears in the repr."""

    #: The device id (``gwId``); ``""`` for a device found by TCP whose key is not known.
    id: str
    #: The address the device was heard from or answered at.
    ip: str
    #: Protocol version as text (``"3.3"``); ``""`` when it could not be told.
    version: str
    #: How it was found.
    source: Source
    #: The ``productKey`` it announced (``None`` when found by TCP).
    product_key: str | None = None
    #: Its TCP port.
    port: int = tuya.TCPPORT
    #: From the devices file, when the device is in it.
    name: str | None = None
    #: Its local key, from the devices file (never in the repr).
    key: str | None = field(default=None, repr=False)

    @property
    def identified(self) -> bool:
        """True when the device's id is known."""
        return bool(self.id)

    def matched(self, known: KnownDevice | None) -> DiscoveredDevice:
        """This record with the name and key of its devices-file entry."""
        if known is None:
            return self
        return replace(self, id=self.id or known.id, name=known.name, key=known.key or None)

    def as_dict(self, *, with_key: bool = False) -> dict[str, Any]:
        """A JSON-ready dict in tinytuya's scan-result spelling (``gwId``, ``productKey``)."""
        result: dict[str, Any] = {
            "id": self.id,
            "gwId": self.id,
            "ip": self.ip,
            "version": self.version,
            "productKey": self.product_key or "",
            "port": self.port,
            "name": self.name or "",
            "origin": self.source.value,
        }
        if with_key:
            result["key"] = self.key or ""
        return result


def from_announcement(body: Mapping[str, Any], sender: str, source: Source) -> DiscoveredDevice | None:
    """The record an announcement (or probe answer) describes, or None if it names no device.

    The address is the sender's, as every scanner takes it: the ``ip`` a device writes in its
    JSON is not checked by anyone. Fields of the wrong type or shape are dropped.
    """
    dev_id = body.get("gwId") or body.get("devId")
    if not isinstance(dev_id, str) or len(dev_id) > _MAX_ID or not _ID.fullmatch(dev_id):
        return None
    version = body.get("version")
    product_key = body.get("productKey")
    port = body.get("port")
    return DiscoveredDevice(
        id=dev_id,
        ip=sender,
        version=version if isinstance(version, str) and _VERSION.fullmatch(version) else "",
        source=source,
        product_key=product_key if isinstance(product_key, str) and len(product_key) <= _MAX_ID else None,
        port=port if type(port) is int and 0 < port < 65536 else tuya.TCPPORT,
    )
