"""Read a device's status and switch it, the async way.

python examples/status.py                                   # against a simulated device
python examples/status.py --id ID --ip 192.168.1.20 --key KEY --version 3.4
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from _common import device_arguments, target_from

from tinytuya_asyncio import DeviceAsync


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Read status and toggle switch 1.")
    device_arguments(parser)
    args = parser.parse_args(argv)
    async with target_from(args) as target:
        dev = DeviceAsync(
            target.dev_id, target.address, target.local_key, version=target.version, port=target.port
        )
        async with dev:
            status = await dev.status()
            print("status:", status)
            if not status or "Err" in status:
                return 1
            switched = await dev.set_value(1, not status["dps"].get("1"))
            print("after toggling switch 1:", switched)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
