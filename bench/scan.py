"""``make bench-scan``: how long a TCP sweep takes, by range size and concurrency limit.

    python -m bench.scan [--devices 100] [--ranges 62,126,254,510] [--concurrency 16,64,256]
                         [--runs 3] [--no-write]

A fleet of ``--devices`` mixed-version devices (3.1 to 3.5 round-robin) is started in a
separate process, each device at its own loopback address (127.77.0.1 onwards, one TCP
port for all). Each sweep covers the first N addresses of 127.77.0.0/23 with a devices
file that knows ids, keys and versions but not where the devices are, as a wizard's file
does after DHCP has moved them: every device found is identified by its key (the keyless
query, the offline key trial, or 3.4/3.5 handshakes). Loopback refuses an address with
nobody behind it at once, so the figure is the cost of finding and identifying devices;
on a LAN each empty address costs up to one connect timeout, all of them in parallel when
the concurrency limit covers the range. Exits 1 when a sweep misses a device.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any, Final

from bench.fleet import FleetProcess
from tinytuya_asyncio.scanner import scan_network
from tinytuya_asyncio.simulator import raise_nofile_limit

RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
NETWORK: Final = ipaddress.IPv4Network("127.77.0.0/23")


def _ints(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("want a comma list of positive integers")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=100, help="simulated devices (default 100)")
    parser.add_argument("--ranges", type=_ints, default=[62, 126, 254, 510], help="addresses per sweep")
    parser.add_argument("--concurrency", type=_ints, default=[16, 64, 256], help="limits to compare")
    parser.add_argument("--runs", type=int, default=3, help="timed sweeps per cell (default 3)")
    parser.add_argument("--timeout", type=float, default=3.0, help="connect timeout, s (default 3)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--no-write", action="store_true", help="print only")
    return parser


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def _sweep(targets: list[str], entries: list[dict[str, Any]], port: int, args: argparse.Namespace,
                 concurrency: int) -> tuple[float, int]:  # fmt: skip
    started = time.perf_counter()
    found = await scan_network(
        targets, 600, devices=entries, listen=None, tcp_port=port, concurrency=concurrency,
        connect_timeout=args.timeout,
    )  # fmt: skip
    return time.perf_counter() - started, sum(1 for r in found if r.identified)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    raise_nofile_limit(4096)
    first = str(NETWORK.network_address + 1)
    port = _free_port(first)
    fleet = FleetProcess(args.devices, host=first, fixed_nonces=False,
                         extra_args=["--address-mode", "ips", "--port", str(port)])  # fmt: skip
    rows: list[dict[str, Any]] = []
    failed = False
    with fleet:
        entries = [
            {"id": d.dev_id, "name": d.dev_id, "key": d.key, "version": d.version} for d in fleet.devices
        ]
        hosts = [str(h) for h in NETWORK.hosts()]
        for size in args.ranges:
            targets = hosts[:size]
            expected = sum(1 for d in fleet.devices if d.host in set(targets))
            for concurrency in args.concurrency:
                times = []
                for _ in range(args.runs):
                    elapsed, identified = asyncio.run(_sweep(targets, entries, port, args, concurrency))
                    times.append(elapsed)
                    failed |= identified != expected
                row = {
                    "addresses": size,
                    "devices": expected,
                    "concurrency": concurrency,
                    "best_s": min(times),
                    "median_s": sorted(times)[len(times) // 2],
                    "identified": identified,
                }
                rows.append(row)
                line = f"{size:4d} addresses, {expected:3d} devices, concurrency {concurrency:3d}: "
                line += f"best {min(times):.3f} s, median {row['median_s']:.3f} s, {identified}/{expected}"
                print(line, file=sys.stderr, flush=True)
    report = [
        "| addresses | devices | concurrency | best (s) | median (s) | identified |",
        "|---|---|---|---|---|---|",
    ]
    report += [
        f"| {r['addresses']} | {r['devices']} | {r['concurrency']} | {r['best_s']:.3f} | {r['median_s']:.3f} "
        f"| {r['identified']}/{r['devices']} |"
        for r in rows
    ]
    print("\n".join(report))
    if not args.no_write:
        args.output_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        (args.output_dir / f"scan-{stamp}.md").write_text("\n".join(report) + "\n")
        (args.output_dir / f"scan-{stamp}.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
