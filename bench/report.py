"""The results as a Markdown table (and JSON), with the machine they were measured on."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.measure import Series

MODE_ORDER = ("cold", "warm")
FLOOR = "floor"
CORE = "core"
#: A client run on another event loop than asyncio's is named ``client+loop`` (``ours+uvloop``).
LOOP_MARK = "+"


def split_name(client: str) -> tuple[str, str]:
    """(base client name, loop suffix including its mark, or "")."""
    base, mark, loop = client.partition(LOOP_MARK)
    return base, mark + loop


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return done.stdout.strip() or "unknown"


def machine_info() -> dict[str, str]:
    """Where and with what the numbers were taken."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    # nproc: the CPUs this process may use (call this before pinning it to fewer).
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(usable),
        "cpu": _cpu_model(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": platform.platform(),
        "tinytuya": _package_version("tinytuya"),
        "tinytuya-asyncio": _package_version("tinytuya-asyncio"),
        "cryptography": _package_version("cryptography"),
        "git": _git_revision(),
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _ratio(value: float, floor: float | None) -> str:
    return f"{value / floor:.2f}×" if floor else "n/a"


def _sort_key(series: Series, clients: Sequence[str]) -> tuple[int, int, str, int]:
    mode = MODE_ORDER.index(series.mode) if series.mode in MODE_ORDER else len(MODE_ORDER)
    base, loop = split_name(series.client)
    client = clients.index(base) if base in clients else len(clients)
    return series.devices, mode, loop, client


def _reference(refs: Mapping[tuple[int, str, str], Series], series: Series, name: str) -> Series | None:
    """The ``name`` series (floor or core) of the same size, mode and loop, else asyncio's."""
    _, loop = split_name(series.client)
    return refs.get((series.devices, series.mode, name + loop)) or refs.get(
        (series.devices, series.mode, name)
    )


def results_table(all_series: Sequence[Series], clients: Sequence[str]) -> str:
    """One row per (devices, mode, client): medians, spread, per-device CPU, ratios to the floor.

    Clients on another loop (``ours+uvloop``) are compared with the floor and core of that loop.
    """
    refs = {
        (s.devices, s.mode, s.client): s
        for s in all_series
        if split_name(s.client)[0] in (FLOOR, CORE) and s.complete
    }
    lines = [
        "| N | mode | client | valid answers | wall ms | client CPU ms | CPU ms min–max "
        "| CPU µs/device | CPU × floor | CPU × core | wall × floor |",
        "|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for series in sorted(all_series, key=lambda s: _sort_key(s, clients)):
        head = f"| {series.devices} | {series.mode} | {series.client} "
        if series.failure is not None:
            lines.append(head + f"| FAILED: {series.failure} | — | — | — | — | — | — | — |")
            continue
        total = series.samples[0].total
        if not series.complete:
            errors = ", ".join(f"{k} ×{v}" for k, v in sorted(series.errors().items()))
            failed = f"FAILED: as few as {series.min_ok}/{total} valid ({errors})"
            lines.append(head + f"| {failed} | — | — | — | — | — | — | — |")
            continue
        floor = _reference(refs, series, FLOOR)
        core = _reference(refs, series, CORE)
        low, high = series.cpu_range
        lines.append(
            head + f"| {total}/{total} × {len(series.samples)} | {_ms(series.wall)} | {_ms(series.cpu)} "
            f"| {_ms(low)}–{_ms(high)} | {series.cpu * 1e6 / series.devices:.0f} "
            f"| {_ratio(series.cpu, floor.cpu if floor else None)} "
            f"| {_ratio(series.cpu, core.cpu if core else None)} "
            f"| {_ratio(series.wall, floor.wall if floor else None)} |"
        )
    return "\n".join(lines)


def machine_lines(machine: Mapping[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in machine.items())


def render(
    all_series: Sequence[Series],
    *,
    clients: Sequence[str],
    machine: Mapping[str, str],
    settings: Mapping[str, Any],
    descriptions: Mapping[str, str],
    fleets: Mapping[int, str],
) -> str:
    """The whole report in Markdown."""
    parts = [
        "# Benchmark results",
        "",
        "## Machine",
        "",
        machine_lines(machine),
        "",
        "## Settings",
        "",
        "\n".join(f"- {key}: {value}" for key, value in settings.items()),
        "",
        "## Fleets",
        "",
        "\n".join(f"- N={n}: {line}" for n, line in sorted(fleets.items())),
        "",
        "## Clients",
        "",
        "\n".join(f"- {name}: {text}" for name, text in descriptions.items()),
        "",
        "## Results (medians)",
        "",
        results_table(all_series, clients),
        "",
    ]
    return "\n".join(parts)


def to_json(all_series: Sequence[Series], *, machine: Mapping[str, str], settings: Mapping[str, Any]) -> str:
    data = {
        "machine": dict(machine),
        "settings": dict(settings),
        "series": [
            {
                "client": s.client,
                "mode": s.mode,
                "devices": s.devices,
                "failure": s.failure,
                "complete": s.complete,
                "samples": [
                    {"wall": x.wall, "cpu": x.cpu, "ok": x.ok, "total": x.total, "errors": x.errors}
                    for x in s.samples
                ],
            }
            for s in all_series
        ],
    }
    return json.dumps(data, indent=2) + "\n"


def write(directory: Path, stem: str, markdown: str, json_text: str) -> list[Path]:
    """Write ``stem.md`` and ``stem.json`` under ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{stem}.md", directory / f"{stem}.json"]
    paths[0].write_text(markdown, encoding="utf-8")
    paths[1].write_text(json_text, encoding="utf-8")
    return paths
