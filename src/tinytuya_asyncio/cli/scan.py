"""``scan``: find devices by announcement, by the 3.5 probe and (``--force``) over TCP."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from tinytuya_asyncio.cli.inventory import load_directory_if_present
from tinytuya_asyncio.cli.output import EXIT_OK, Output, UsageError
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.scanner import (
    DeviceDirectory,
    DiscoveredDevice,
    ListenConfig,
    ProbeTarget,
    Scanner,
    expand_targets,
)


def _scanner(args: argparse.Namespace, directory: DeviceDirectory) -> Scanner:
    plain, encrypted, app = args.ports
    listen = None
    if not args.no_broadcasts:
        bind = tuple(args.bind) if args.bind else ("",)
        listen = ListenConfig(bind=bind, plain_port=plain, encrypted_port=encrypted, app_port=app)
    targets: list[ProbeTarget] | None = None
    if args.no_probe or args.no_broadcasts:
        targets = []
    elif args.broadcast:
        if not args.probe_ip:
            raise UsageError("--broadcast needs --probe-ip (the address 3.5 devices answer to)")
        targets = [ProbeTarget(args.broadcast, args.probe_ip)]
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    return Scanner(
        devices=directory,
        listen=listen,
        probe_targets=targets,
        probe_port=args.probe_port,
        tcp_port=args.tcp_port,
        connect_timeout=args.timeout,
        concurrency=args.concurrency,
    )


def _progress(out: Output, seconds: float) -> Any:
    if out.as_json or not out.err_console.is_terminal:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: PLC0415

    return Progress(
        TextColumn("scanning"),
        BarColumn(),
        TextColumn("{task.fields[found]} found"),
        TimeRemainingColumn(),
        console=out.err_console,
        transient=True,
    )


async def run(args: argparse.Namespace, out: Output) -> int:
    out.check_ready()
    directory = await load_directory_if_present(args.device_file)
    if args.force:
        try:
            expand_targets(args.force)
        except LocalProtocolError as exc:
            raise UsageError(str(exc)) from None
    scanner = _scanner(args, directory)
    progress = _progress(out, args.max_time)
    started = time.monotonic()
    async with scanner:
        if args.force is not None:
            scanner.sweep(args.force or None)
        context: AbstractContextManager[Any] = progress if progress is not None else nullcontext()
        with context:
            task = progress.add_task("scan", total=args.max_time, found=0) if progress is not None else None
            try:
                async with asyncio.timeout(args.max_time):
                    async for _ in scanner:
                        if progress is not None:
                            progress.update(
                                task, completed=time.monotonic() - started, found=len(scanner.found)
                            )
            except TimeoutError:
                pass
    found = sorted(scanner.found.values(), key=lambda r: (ipaddress.ip_address(r.ip), r.id))
    if args.snapshot_file:
        await asyncio.to_thread(save_snapshot, Path(args.snapshot_file), found, directory)
    if out.as_json:
        out.json([r.as_dict(with_key=True) for r in found])
    else:
        _show(out, found, time.monotonic() - started, scanner)
        if args.snapshot_file:
            out.note(f"saved to {args.snapshot_file}")
    return EXIT_OK


def _show(out: Output, found: list[DiscoveredDevice], elapsed: float, scanner: Scanner) -> None:
    rows = [
        (
            r.name or "",
            r.id or "(unknown key)",
            r.ip,
            r.version or "?",
            r.source.value,
            "yes" if r.key else "no",
        )
        for r in found
    ]
    out.table(
        f"{len(found)} devices found in {elapsed:.1f} s",
        ("Name", "ID", "IP", "Version", "Found by", "Key"),
        rows,
    )
    versions: dict[str, int] = {}
    for record in found:
        versions[record.version or "?"] = versions.get(record.version or "?", 0) + 1
    summary = ", ".join(f"{v}: {n}" for v, n in sorted(versions.items()))
    dropped = sum(scanner.stats.dropped.values())
    out.note(f"versions {summary or 'none'}; {dropped} unreadable datagrams ignored")


def save_snapshot(path: Path, found: list[DiscoveredDevice], directory: DeviceDirectory) -> None:
    """tinytuya's snapshot.json: what was found, then the devices file's others without an IP."""
    devices: list[dict[str, Any]] = []
    for record in found:
        item = record.as_dict(with_key=True)
        item.pop("gwId")
        item["ver"] = item.pop("version")
        item["mac"] = ""
        devices.append(item)
    seen = {r.id for r in found}
    devices.extend(
        {"id": e.id, "ip": "", "ver": e.version, "origin": "cloud", "name": e.name, "key": e.key, "mac": ""}
        for e in directory
        if e.id not in seen
    )
    path.write_text(
        json.dumps({"timestamp": time.time(), "devices": devices}, indent=4) + "\n", encoding="utf-8"
    )
