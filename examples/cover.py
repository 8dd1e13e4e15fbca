"""Open, stop and close a cover (curtain, blind, shutter), whatever its command set.

python examples/cover.py                                    # simulated type 1 cover
python examples/cover.py --simulated-type 8                 # simulated "ZZ"/"FZ"/"STOP" cover
python examples/cover.py --id ID --ip IP --key KEY --version 3.4 --delay 3
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from _common import device_arguments, target_from

from tinytuya_asyncio import CoverDeviceAsync


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Open, stop, continue and close a cover.")
    device_arguments(parser)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds between commands (default 1)")
    parser.add_argument("--simulated-type", type=int, choices=range(1, 9), default=1, help="1 to 8")
    args = parser.parse_args(argv)
    async with target_from(args, profile=f"cover_{args.simulated_type}") as target:
        cover = CoverDeviceAsync(
            target.dev_id, target.address, target.local_key, version=target.version, port=target.port
        )
        async with cover:
            actions = [cover.open_cover, cover.stop_cover, cover.continue_cover, cover.close_cover]
            for action in actions:
                result = await action()  # the first one detects the cover's command set
                if result is not None and "Err" in result:
                    print(f"{action.__name__} failed: {result}")
                    return 1
                # None: this cover type has no such command, so nothing was sent.
                print(f"{action.__name__}: {result['dps'] if result else 'not supported by this type'}")
                await asyncio.sleep(args.delay)
            print(f"cover type {cover.cover_type}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
