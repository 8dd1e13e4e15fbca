"""Colour cycling and scenes on a bulb.

python examples/bulb_effects.py                             # simulated type B bulb
python examples/bulb_effects.py --simulated-type A          # simulated type A bulb
python examples/bulb_effects.py --id ID --ip IP --key KEY --version 3.3 --delay 1
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from _common import device_arguments, target_from

from tinytuya_asyncio import BulbDeviceAsync
from tinytuya_asyncio.devices import bulb_values


def _failed(step: str, result: dict[str, Any] | None) -> bool:
    if result is not None and "Err" in result:
        print(f"{step} failed: {result}")
        return True
    return False


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cycle a bulb through colours, then its scenes.")
    device_arguments(parser)
    parser.add_argument("--steps", type=int, default=12, help="colours in one cycle (default 12)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds per effect step (default 0.5)")
    parser.add_argument("--simulated-type", choices="ABC", default="B", help="the simulated bulb's type")
    args = parser.parse_args(argv)
    async with target_from(args, profile=f"bulb_{args.simulated_type.lower()}") as target:
        bulb = BulbDeviceAsync(
            target.dev_id,
            target.address,
            target.local_key,
            version=target.version,
            port=target.port,
            persist=True,
        )
        async with bulb:
            if _failed("status", await bulb.status()):
                return 1
            print(f"bulb type {bulb.bulb_type}: colour {bulb.has_colour}, white {bulb.has_colourtemp}")
            if _failed("turn on", await bulb.turn_on()):
                return 1
            if await bulb.bulb_has_capability("colour"):
                for step in range(args.steps):
                    if _failed("colour", await bulb.set_hsv(step / args.steps, 1.0, 1.0)):
                        return 1
                    state = await bulb.state()  # the persistent connection's cache: no request
                    print(f"hue {step / args.steps:.2f}: rgb {bulb_values.colour_rgb(state, bulb.dpset)}")
                    await asyncio.sleep(args.delay)
            if await bulb.bulb_has_capability("scene"):
                for scene in range(1, 5):
                    if _failed("scene", await bulb.set_scene(scene)):
                        return 1
                    print(f"scene {scene}: mode {await bulb.get_mode()}")
                    await asyncio.sleep(args.delay)
            if _failed("white", await bulb.set_white_percentage(80, 30)):
                return 1
            brightness, colourtemp = await bulb.white_percentage()
            # Raw values are whole numbers: 30 % of type A's 255 is 76, which reads back as 29.8 %.
            print(f"white: brightness {brightness:.0f} %, colour temperature {colourtemp:.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
