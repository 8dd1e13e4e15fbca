"""tinytuya's devices.json (as its wizard writes it): the ids, names and keys a scan matches.

The file is a JSON list of objects (or ``{"devices": [...]}``), each with at least ``id``,
and usually ``name``, ``key``, ``ip`` (or ``last_ip``) and ``version``. Reading it is file I/O:
do it before the event loop starts or in a thread (``asyncio.to_thread``), never on the loop.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytuya_asyncio.exceptions import LocalProtocolError


class DevicesFileError(LocalProtocolError):
    """The devices file is missing, unreadable or not in tinytuya's format."""


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """One entry of a devices file. The key never appears in the repr."""

    #: The device id.
    id: str
    #: Its name in the file (``""`` when it has none).
    name: str = ""
    #: Its local key (never in the repr).
    key: str = field(default="", repr=False)
    #: Where it was last seen (``last_ip``, else ``ip``); ``""`` when the file does not say.
    ip: str = ""
    #: ``""`` when the file does not say.
    version: str = ""
    #: Its TCP port, when the file gives one (the simulator's files do).
    port: int | None = None
    #: A gateway child (``sub``, or a ``parent``): no IP or key of its own.
    sub: bool = False
    #: A gateway child's gateway id (``parent``).
    parent: str = ""
    #: A gateway child's sub-device id (``node_id``: its ``cid``).
    node_id: str = ""
    #: The whole entry as the file has it.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> KnownDevice:
        """One device from one entry of tinytuya's devices.json."""

        def text(name: str) -> str:
            value = entry.get(name)
            return str(value).strip() if value not in (None, "") else ""

        port = entry.get("port")
        version = text("version")
        try:
            version = f"{float(version):.1f}" if version else ""
        except ValueError:
            version = ""
        return cls(
            id=text("id") or text("gwId"),
            name=text("name"),
            key=text("key"),
            ip=text("last_ip") or text("ip"),
            version=version,
            port=port if type(port) is int and 0 < port < 65536 else None,
            sub=bool(entry.get("sub")) or bool(entry.get("parent")),
            parent=text("parent"),
            node_id=text("node_id") or text("cid"),
            raw=dict(entry),
        )


class DeviceDirectory:
    """The entries of a devices file, looked up by id or by name (case-insensitive)."""

    def __init__(self, entries: Iterable[KnownDevice] = ()) -> None:
        self.entries = tuple(entries)
        self._by_id = {e.id: e for e in self.entries if e.id}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[KnownDevice]:
        return iter(self.entries)

    def __repr__(self) -> str:
        return f"<DeviceDirectory {len(self.entries)} devices>"

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]]) -> DeviceDirectory:
        """A directory of the entries that are objects (anything else is skipped)."""
        return cls(KnownDevice.from_entry(e) for e in entries if isinstance(e, Mapping))

    def by_id(self, dev_id: str) -> KnownDevice | None:
        """The entry with id ``dev_id``, or ``None``."""
        return self._by_id.get(dev_id)

    def by_name(self, name: str) -> KnownDevice | None:
        """The first entry named ``name`` (case and surrounding spaces ignored), or ``None``."""
        wanted = name.strip().casefold()
        return next((e for e in self.entries if e.name.casefold() == wanted), None)

    def with_keys(self) -> list[KnownDevice]:
        """Entries with a 16-character local key (what a TCP probe can try)."""
        return [e for e in self.entries if len(e.key) == 16 and not e.sub]


def load_devices_file(path: str | Path) -> DeviceDirectory:
    """Read a devices file; :class:`DevicesFileError` with a one-line reason when it cannot."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DevicesFileError(f"devices file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DevicesFileError(f"cannot read devices file {path}: {exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DevicesFileError(f"devices file {path} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("devices"), list):
        data = data["devices"]
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise DevicesFileError(
            f"devices file {path} is not a list of devices (tinytuya's devices.json format)"
        )
    directory = DeviceDirectory.from_entries(data)
    if not directory.entries or any(not e.id for e in directory):
        raise DevicesFileError(f"devices file {path} has no devices, or a device without an id")
    return directory
