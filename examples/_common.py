"""Shared by the examples: pick a real device from the command line, or simulate one."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from tinytuya_asyncio.simulator import SimulatedDevice, SimulatedGateway, profile_dps


@dataclass(frozen=True)
class Target:
    dev_id: str
    address: str
    local_key: str
    version: str
    port: int = 6668
    #: The simulated device behind this target, when no real device was given.
    simulated: SimulatedDevice | None = None


def device_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--id", help="device id (omit all four to use a simulated device)")
    parser.add_argument("--ip", help="device IP address")
    parser.add_argument("--key", help="local key")
    parser.add_argument("--version", default="3.3", help="protocol version (default 3.3)")


@contextlib.asynccontextmanager
async def target_from(
    args: argparse.Namespace, profile: str | None = None, children: Mapping[str, str] | None = None
) -> AsyncIterator[Target]:
    """The device named on the command line, or a simulated one on 127.0.0.1.

    ``profile`` names the simulated device's kind (see ``tinytuya_asyncio.simulator.PROFILES``);
    ``children`` (cid -> profile) makes it a gateway with those sub-devices.
    """
    given = [args.id, args.ip, args.key]
    if all(given):
        yield Target(args.id, args.ip, args.key, args.version)
        return
    if any(given):  # half a real device is a typo, not a request for a simulated one
        raise SystemExit("give --id, --ip and --key together (or none of them to simulate a device)")
    simulated: SimulatedDevice
    if children:
        simulated = SimulatedGateway(
            "bf00examplegateway00",
            "0123456789abcdef",
            version=args.version,
            children={cid: profile_dps(kind) for cid, kind in children.items()},
        )
    else:
        simulated = SimulatedDevice(
            "bf00example0000000000",
            "0123456789abcdef",
            version=args.version,
            dps={"1": False, "2": 0, "20": 1234} if profile is None else profile_dps(profile),
        )
    await simulated.start(host="127.0.0.1", port=0)
    try:
        kind = "gateway" if children else "device"
        print(f"(no device given: using a simulated {args.version} {kind} on 127.0.0.1:{simulated.port})")
        yield Target(
            simulated.dev_id, "127.0.0.1", simulated.local_key, args.version, simulated.port or 0, simulated
        )
    finally:
        await simulated.stop()
