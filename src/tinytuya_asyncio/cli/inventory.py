"""Which devices a command acts on, from tinytuya's devices.json and the command's options."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.cli.output import UsageError
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.exceptions import LocalProtocolError, TuyaError
from tinytuya_asyncio.fleet.build import DEFAULT_VERSION, device_for
from tinytuya_asyncio.protocol import version_spec
from tinytuya_asyncio.scanner import (
    DeviceDirectory,
    DevicesFileError,
    KnownDevice,
    load_devices_file,
    resolve_address,
)


@dataclass(slots=True)
class Target:
    """One device to talk to; its key never appears in the repr."""

    id: str
    name: str
    ip: str
    version: str
    key: str = field(repr=False)
    port: int = tuya.TCPPORT

    @property
    def label(self) -> str:
        return self.name or self.id

    def device(self, *, timeout: float, persist: bool = False) -> DeviceAsync:
        known = KnownDevice(self.id, self.name, self.key, self.ip, self.version, self.port)
        device = device_for(
            known,
            connection_timeout=timeout,
            connection_retry_limit=1,
            connection_retry_delay=0,
            persist=persist,
        )
        assert isinstance(device, DeviceAsync)
        return device


async def load_directory(path: str) -> DeviceDirectory:
    """The devices file, read off the event loop; :class:`UsageError` when it is unusable."""
    try:
        return await asyncio.to_thread(load_devices_file, path)
    except DevicesFileError as exc:
        raise UsageError(str(exc)) from None


async def load_directory_if_present(path: str) -> DeviceDirectory:
    if not await asyncio.to_thread(Path(path).exists):
        return DeviceDirectory()
    return await load_directory(path)


def _version(text: str, where: str) -> str:
    try:
        return version_spec(text).text
    except LocalProtocolError:
        raise UsageError(f"{where}: unsupported protocol version {text!r} (3.1 to 3.5)") from None


async def select(args: argparse.Namespace, *, timeout: float) -> list[Target]:
    """The devices named by ``--id``/``--name`` (any number of each), or all of the file;
    :class:`UsageError` for the first one that cannot be used."""
    entries = await _entries(args)
    return [await _target(entry, args, timeout=timeout) for entry in entries]


async def select_each(
    args: argparse.Namespace, *, timeout: float
) -> tuple[list[Target], list[tuple[str, str]]]:
    """Like :func:`select`, but a device that cannot be used is returned as (label, problem)."""
    targets: list[Target] = []
    problems: list[tuple[str, str]] = []
    for entry in await _entries(args):
        try:
            targets.append(await _target(entry, args, timeout=timeout))
        except UsageError as exc:
            problems.append((str(entry.get("name") or entry.get("id") or "?"), str(exc)))
    return targets, problems


async def _entries(args: argparse.Namespace) -> list[dict[str, Any]]:
    ids: Sequence[str] = args.id or []
    names: Sequence[str] = args.name or []
    if not ids and not names and not getattr(args, "all_devices", True):
        raise UsageError("name a device with --id or --name")
    explicit = bool(args.key or args.ip)
    directory = await (
        load_directory_if_present(args.device_file) if explicit else load_directory(args.device_file)
    )
    entries: list[dict[str, Any]] = []
    for name in names:
        known = directory.by_name(name)
        if known is None:
            raise UsageError(f"no device named {name!r} in {args.device_file}")
        entries.append(dict(known.raw))
    for dev_id in ids:
        known = directory.by_id(dev_id)
        entries.append(dict(known.raw) if known is not None else {"id": dev_id})
    if not ids and not names:
        entries = [dict(e.raw) for e in directory if not e.sub]
    if (args.key or args.ip or args.dev_version) and len(entries) > 1:
        raise UsageError("--key, --ip and --version apply to one device")
    return entries


async def _target(entry: dict[str, Any], args: argparse.Namespace, *, timeout: float) -> Target:
    dev_id = str(entry.get("id") or "")
    key = str(args.key or entry.get("key") or "").strip()
    ip = str(args.ip or entry.get("last_ip") or entry.get("ip") or "").strip()
    version_text = str(args.dev_version or entry.get("version") or "").strip()
    port = args.port or entry.get("port") or tuya.TCPPORT
    if not isinstance(port, int) or not 0 < port < 65536:
        raise UsageError(f"device {dev_id}: bad port {port!r}")
    if len(key) != 16:
        where = "--key" if args.key else f"{args.device_file}"
        raise UsageError(f"device {dev_id}: no 16-character local key (give --key, or add it to {where})")
    if not ip or ip.lower() == "auto":
        try:
            found = await resolve_address(dev_id, timeout=args.max_time)
        except TuyaError as exc:
            raise UsageError(f"device {dev_id}: {exc}") from None
        ip = found.ip
        version_text = version_text or found.version
    version = _version(version_text or DEFAULT_VERSION, f"device {dev_id}")
    return Target(dev_id, str(entry.get("name") or ""), ip, version, key, port)


def parse_value(text: str) -> Any:
    """``--value`` as JSON (``true``, ``42``, ``"text"``); :class:`UsageError` otherwise."""
    try:
        return json.loads(text)
    except ValueError:
        raise UsageError(
            f"--value {text!r} is not JSON: write true, 42 or '\"text\"' (strings in double quotes)"
        ) from None


def failed(result: object) -> str | None:
    """The error text of a device method's result, or None if it succeeded."""
    if isinstance(result, dict) and "Err" in result:
        return f"{result.get('Error', 'error')} ({result['Err']})"
    return None
