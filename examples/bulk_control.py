"""Switch many devices at once, on one event loop, and report what each one did.

python examples/bulk_control.py                                   # a simulated fleet of 20 plugs
python examples/bulk_control.py --devices-file devices.json --set off
python examples/bulk_control.py --id ID --ip IP --key KEY --version 3.4 --set on

``--set toggle`` (the default) reads each device's DP first and writes the opposite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from _common import device_arguments, target_from

from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio.simulator import Simulator


async def switch(dev: DeviceAsync, dp: str, wanted: str, limit: asyncio.Semaphore) -> str:
    """One device's part: what it reported, or why it failed (device methods never raise)."""
    async with limit:
        if wanted == "toggle":
            status = await dev.status()
            if not status or "Err" in status:
                return f"ERROR reading: {status}"
            value = not status.get("dps", {}).get(dp)
        else:
            value = wanted == "on"
        result = await dev.set_value(dp, value)
        if result is None or "Err" in result:
            return f"ERROR writing: {result}"
        return f"{'on' if value else 'off'}, reported {result.get('dps')}"


async def control(entries: list[dict[str, Any]], args: argparse.Namespace) -> int:
    devices = [
        DeviceAsync(
            e["id"],
            e["ip"],
            e["key"],
            version=e.get("version") or 3.3,
            port=e.get("port", 6668),
            # One unreachable device should not hold the report up for tinytuya's 5 x 5 s.
            connection_timeout=args.timeout,
            connection_retry_limit=args.retries,
            connection_retry_delay=1,
        )
        for e in entries
    ]
    # Every device has its own connection; the limit only keeps a large fleet's commands
    # (and the app's memory) in check. The library limits concurrent connects on its own.
    limit = asyncio.Semaphore(args.concurrency)
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(switch(d, args.dp, args.wanted, limit) for d in devices))
    elapsed = time.perf_counter() - started
    await asyncio.gather(*(d.close() for d in devices))
    for entry, outcome in zip(entries, outcomes, strict=True):
        print(f"{entry.get('name') or entry['id']:<24} {outcome}")
    failed = sum(outcome.startswith("ERROR") for outcome in outcomes)
    print(f"{len(devices) - failed} of {len(devices)} devices switched in {elapsed * 1000:.0f} ms")
    return 1 if failed else 0


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Switch many devices concurrently.")
    device_arguments(parser)
    parser.add_argument(
        "--devices-file", type=Path, help="tinytuya devices.json (its sub-devices are skipped)"
    )
    parser.add_argument("--count", type=int, default=20, help="simulated devices (default 20)")
    parser.add_argument("--set", choices=("on", "off", "toggle"), default="toggle", dest="wanted")
    parser.add_argument("--dp", default="1", help="the switch data point (default 1)")
    parser.add_argument("--concurrency", type=int, default=64, help="commands in flight at most")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per connect or reply (default 5)")
    parser.add_argument("--retries", type=int, default=2, help="connect attempts per device (default 2)")
    args = parser.parse_args(argv)
    if args.devices_file:
        # Sub-devices have no address of their own: examples/gateway.py drives them.
        entries = [e for e in json.loads(args.devices_file.read_text()) if e.get("ip")]
        return await control(entries, args)
    if args.id or args.ip or args.key:  # one real device (all three are required)
        async with target_from(args) as target:
            entry = {
                "id": target.dev_id,
                "ip": target.address,
                "key": target.local_key,
                "version": target.version,
            }
            return await control([entry], args)
    async with Simulator(seed=4) as simulator:
        await simulator.add_many(args.count, versions="mixed")
        code = await control(simulator.devices_file_entries(), args)
        on = sum(bool(device.dps.get(args.dp)) for device in simulator)
        print(f"(simulated fleet: {on} of {len(simulator)} now on)")
        return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
