"""A Zigbee gateway and its sub-devices over one connection: status, control and pushes.

python examples/gateway.py                          # a simulated hub with a plug, a bulb and a cover
python examples/gateway.py --id GW_ID --ip IP --key KEY --version 3.4 \\
    --child NODE_ID:plug --child NODE_ID:bulb --seconds 30 [--toggle]

Each ``--child`` is a sub-device's node id (tinytuya's ``cid``/``node_id``, in devices.json),
optionally with its kind: plug, bulb, cover, or none for a generic device.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from typing import Any

from _common import device_arguments, target_from

from tinytuya_asyncio import (
    BulbDeviceAsync,
    CoverDeviceAsync,
    DeviceAsync,
    OutletDeviceAsync,
    StateChange,
)

KINDS: dict[str, type[DeviceAsync]] = {
    "plug": OutletDeviceAsync,
    "bulb": BulbDeviceAsync,
    "cover": CoverDeviceAsync,
    "device": DeviceAsync,
}
#: The simulated hub's sub-devices: cid -> (kind, simulator profile).
SIMULATED = {"a4c1380000plug01": ("plug", "plug"), "a4c1380000bulb01": ("bulb", "bulb_b"),
             "a4c1380000cover1": ("cover", "cover_1")}  # fmt: skip


def child_spec(text: str) -> tuple[str, str]:
    cid, _, kind = text.partition(":")
    if not cid or (kind or "device") not in KINDS:
        raise argparse.ArgumentTypeError(f"want NODE_ID[:{'|'.join(KINDS)}], got {text!r}")
    return cid, kind or "device"


def shown(result: dict[str, Any] | None) -> object:
    """A result's data points, or the whole of it when it is an error (or None)."""
    return result["dps"] if result and "dps" in result else result


def on_state(change: StateChange) -> None:
    print(f"connection: {change.state.value}" + (f" ({change.reason.value})" if change.reason else ""))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Talk to a gateway's sub-devices.")
    device_arguments(parser)
    parser.add_argument("--child", type=child_spec, action="append", default=[], help="NODE_ID[:kind]")
    parser.add_argument("--seconds", type=float, default=3.0, help="how long to listen (default 3)")
    parser.add_argument("--toggle", action="store_true", help="switch the first child's DP 1")
    args = parser.parse_args(argv)
    if bool(args.id) != bool(args.child):
        parser.error("a real gateway takes --id, --ip, --key and its sub-devices' --child NODE_ID[:kind]")
    simulated = {cid: profile for cid, (_, profile) in SIMULATED.items()}
    async with target_from(args, children=None if args.id else simulated) as target:
        wanted = args.child or [(cid, kind) for cid, (kind, _) in SIMULATED.items()]
        gateway = DeviceAsync(
            target.dev_id,
            target.address,
            target.local_key,
            version=target.version,
            port=target.port,
            persist=True,  # one connection for the hub and every child, kept open for pushes
        )
        # Any class can be a child; it uses the gateway's connection, never one of its own.
        children = [KINDS[kind](cid, cid=cid, parent=gateway) for cid, kind in wanted]
        gateway.add_state_listener(on_state)
        async with gateway:
            print("sub-devices:", await gateway.subdev_query())
            statuses = await asyncio.gather(*(child.status() for child in children))  # one connection
            for child, status in zip(children, statuses, strict=True):
                print(f"{type(child).__name__} {child.cid}: {shown(status)}")
            stream = gateway.updates(children=True)  # the hub's updates and every child's, tagged
            if args.toggle or target.simulated is not None:
                first = children[0]
                on = not ((await first.cached_status() or {}).get("dps") or {}).get("1")
                print(f"switch {first.cid} {'on' if on else 'off'}:", shown(await first.set_value(1, on)))
            if target.simulated is not None:  # the simulated sub-devices report changes of their own
                for cid, dps in [(wanted[0][0], {"19": 415}), (wanted[-1][0], {"3": 40})]:
                    await target.simulated.push(dps, cid=cid)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(args.seconds):
                    async for update in stream:
                        kind = "push" if update.pushed else "reply"
                        print(f"{kind} from {update.cid or 'the gateway'}: {update.changed}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
