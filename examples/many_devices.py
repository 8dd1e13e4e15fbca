"""Hold every device of a tinytuya devices.json as one Fleet: the status of all, then their pushes.

python examples/many_devices.py                       # a simulated fleet: 48 plugs and a hub with 2 children
python examples/many_devices.py --devices-file devices.json --seconds 60

The part an application needs is ``hold()``; the rest makes a simulated fleet to hold.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tinytuya_asyncio import Fleet
from tinytuya_asyncio.simulator import Simulator


async def hold(devices_file: Path, seconds: float) -> int:
    fleet = await Fleet.load(devices_file)  # tinytuya's wizard format; read off the event loop
    async with fleet:  # every device connected (persistent: pushes and reconnects)
        started = time.perf_counter()
        statuses = await fleet.status()  # {id: status, or tinytuya's error dict}
        elapsed = time.perf_counter() - started
        failed = 0
        for dev_id, result in statuses.items():
            ok = result is not None and "Err" not in result
            failed += not ok
            print(f"{dev_id:<22} {result.get('dps') if ok else f'ERROR {result}'}")
        print(f"{len(fleet)} devices in {elapsed * 1000:.0f} ms, {failed} failed")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for update in fleet.updates():  # every device's updates, tagged
                    if update.pushed:
                        print(f"push from {update.device_id}: {update.changed}")
    return failed


@contextlib.asynccontextmanager
async def simulated_fleet(count: int) -> AsyncIterator[Path]:
    """A devices.json of a simulated fleet (with the keys in it: a temporary file)."""
    async with Simulator(seed=3) as simulator:
        await simulator.add_many(count - 3, versions="mixed")
        await simulator.add_gateway(children=2)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "devices.json"
            simulator.write_devices_file(path)
            pusher = asyncio.create_task(_push_now_and_then(simulator))
            try:
                yield path
            finally:
                pusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pusher


async def _push_now_and_then(simulator: Simulator) -> None:
    """Devices reporting a change on their own, as energy plugs do every few seconds."""
    for n in range(1_000_000):
        await asyncio.sleep(0.05)
        device = simulator.devices[n % (len(simulator) - 1)]
        if device.connected_clients:
            await device.push({"19": n})


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hold a fleet of devices: status of all, then pushes.")
    parser.add_argument(
        "--devices-file", type=Path, help="tinytuya devices.json (default: a simulated fleet)"
    )
    parser.add_argument("--count", type=int, default=50, help="simulated devices (default 50)")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to print pushes (default 2)")
    args = parser.parse_args(argv)
    if args.devices_file:
        return await hold(args.devices_file, args.seconds)
    async with simulated_fleet(args.count) as path:
        return await hold(path, args.seconds)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
