"""Stay connected and print every change the device reports, as it happens.

python examples/push_updates.py                             # simulated device, demo pushes
python examples/push_updates.py --id ID --ip IP --key KEY --version 3.3 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys

from _common import device_arguments, target_from

from tinytuya_asyncio import DeviceAsync, StateChange


def on_state(change: StateChange) -> None:
    print(f"connection: {change.state.value}" + (f" ({change.reason.value})" if change.reason else ""))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print pushed updates.")
    device_arguments(parser)
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to listen (default 3)")
    args = parser.parse_args(argv)
    async with target_from(args) as target:
        dev = DeviceAsync(
            target.dev_id,
            target.address,
            target.local_key,
            version=target.version,
            port=target.port,
            persist=True,
        )
        dev.add_state_listener(on_state)
        async with dev:
            print("initial:", (await dev.status() or {}).get("dps"))
            stream = dev.updates()
            if target.simulated is not None:  # have the simulated device report button presses
                for value in (True, False, True):
                    await target.simulated.push({"1": value})
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.seconds):
                    async for update in stream:
                        kind = "push" if update.pushed else "reply"
                        print(f"{kind}: changed {update.changed} -> now {update.dps}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
