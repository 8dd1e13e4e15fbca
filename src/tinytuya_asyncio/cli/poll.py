"""``devices`` and ``snapshot``: the status of many devices at once, as one table."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinytuya_asyncio.cli.inventory import Target, failed, select_each
from tinytuya_asyncio.cli.output import EXIT_FAILED, EXIT_OK, Output, UsageError
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.fleet.build import DEFAULT_VERSION
from tinytuya_asyncio.protocol import version_spec

Row = tuple[Target | None, str, dict[str, Any] | None, str | None]  # target, label, status, error


async def poll(targets: Sequence[Target], *, timeout: float, concurrency: int) -> list[dict[str, Any] | str]:
    """Each target's status, or its error text, ``concurrency`` at a time."""
    limit = asyncio.Semaphore(max(concurrency, 1))

    async def one(target: Target) -> dict[str, Any] | str:
        async with limit:
            device = target.device(timeout=timeout)
            try:
                result = await device.status()
            finally:
                await device.close()
        problem = failed(result)
        if problem is not None:
            return problem
        return result if isinstance(result, dict) else "no answer"

    return list(await asyncio.gather(*(one(t) for t in targets)))


def _state(dps: dict[str, Any]) -> str:
    switch = dps.get("1", dps.get("20"))
    return "on" if switch is True else "off" if switch is False else ""


async def _report(out: Output, rows: list[Row], title: str) -> int:
    if out.as_json:
        items = []
        for target, label, status, error in rows:
            item: dict[str, Any] = {
                "id": target.id if target else label,
                "name": target.name if target else "",
            }
            item.update({"ip": target.ip, "ver": target.version} if target else {})
            if status is not None:
                item["dps"] = status.get("dps", {})
            else:
                item["error"] = error
            items.append(item)
        out.json({"timestamp": time.time(), "devices": items})
    else:
        table = []
        for target, label, status, error in rows:
            ip = target.ip if target else ""
            version = target.version if target else ""
            if status is not None:
                dps = status.get("dps", {})
                table.append((label, ip, version, _state(dps), json.dumps(dps)))
            else:
                table.append((label, ip, version, "error", error or ""))
        columns = ("Device", "IP", "Version", "State", "Data points / error")
        out.table(title, columns, table, wrap=columns[-1])
    return EXIT_FAILED if any(status is None for _, _, status, _ in rows) else EXIT_OK


async def _poll_rows(
    targets: list[Target], problems: list[tuple[str, str]], args: argparse.Namespace
) -> list[Row]:
    results = await poll(targets, timeout=args.timeout, concurrency=args.concurrency)
    rows: list[Row] = [
        (t, t.label, r if isinstance(r, dict) else None, r if isinstance(r, str) else None)
        for t, r in zip(targets, results, strict=True)
    ]
    rows += [(None, label, None, problem) for label, problem in problems]
    return rows


async def devices(args: argparse.Namespace, out: Output) -> int:
    out.check_ready()
    args.id = args.name = None
    args.key = args.ip = args.dev_version = args.port = None
    targets, problems = await select_each(args, timeout=args.timeout)
    rows = await _poll_rows(targets, problems, args)
    return await _report(out, rows, f"{len(rows)} devices in {args.device_file}")


def _load_snapshot(path: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"snapshot file {path} not found (scan writes it)") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"snapshot file {path} is not readable JSON: {exc}") from None
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, list) or not all(isinstance(d, dict) for d in devices):
        raise UsageError(f"snapshot file {path} is not in tinytuya's snapshot format")
    return devices


async def snapshot(args: argparse.Namespace, out: Output) -> int:
    out.check_ready()
    entries = await asyncio.to_thread(_load_snapshot, args.snapshot_file)
    targets: list[Target] = []
    problems: list[tuple[str, str]] = []
    for entry in entries:
        dev_id = str(entry.get("id") or entry.get("gwId") or "")
        label = str(entry.get("name") or dev_id)
        ip, key = str(entry.get("ip") or ""), str(entry.get("key") or "")
        version = str(entry.get("ver") or entry.get("version") or DEFAULT_VERSION)
        port = entry.get("port") if type(entry.get("port")) is int else 6668
        try:
            version = version_spec(version).text
        except LocalProtocolError:
            problems.append((label, f"unsupported protocol version {version!r}"))
            continue
        if not ip:
            problems.append((label, "no IP address (battery-powered, or offline at the scan)"))
        elif len(key) != 16:
            problems.append((label, "no local key"))
        else:
            targets.append(
                Target(dev_id, label if label != dev_id else "", ip, version, key, int(port or 6668))
            )
    rows = await _poll_rows(targets, problems, args)
    return await _report(out, rows, f"{len(rows)} devices in {args.snapshot_file}")
