"""Query every device in a tinytuya devices.json at once, on one event loop.

python examples/many_devices.py                       # a simulated fleet of 50 devices
python examples/many_devices.py --devices-file devices.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio.simulator import Simulator


async def poll(entries: list[dict[str, Any]]) -> int:
    devices = [
        DeviceAsync(e["id"], e["ip"], e["key"], version=e.get("version") or 3.3, port=e.get("port", 6668))
        for e in entries
    ]
    started = time.perf_counter()
    results = await asyncio.gather(*(d.status() for d in devices))
    elapsed = time.perf_counter() - started
    failed = 0
    for entry, result in zip(entries, results, strict=True):
        ok = result is not None and "Err" not in result
        failed += not ok
        shown = result if ok else f"ERROR {result}"
        print(f"{entry.get('name', entry['id']):<24} v{entry.get('version')}: {shown}")
    print(f"{len(devices)} devices in {elapsed * 1000:.0f} ms, {failed} failed")
    await asyncio.gather(*(d.close() for d in devices))
    return failed


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Poll many devices concurrently.")
    parser.add_argument(
        "--devices-file", type=Path, help="tinytuya devices.json (default: a simulated fleet)"
    )
    parser.add_argument("--count", type=int, default=50, help="simulated devices (default 50)")
    args = parser.parse_args(argv)
    if args.devices_file:
        return await poll(json.loads(args.devices_file.read_text()))
    async with Simulator(seed=3) as simulator:
        await simulator.add_many(args.count, versions="mixed")
        return await poll(simulator.devices_file_entries())


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
