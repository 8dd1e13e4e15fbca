"""``python -m tinytuya_asyncio.simulator``: serve a fleet of fake devices until signalled.

Prints exactly one line on standard output once every device is listening, then runs
until SIGINT or SIGTERM and closes everything before exiting with status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import signal
import sys
import time
from collections.abc import Sequence

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import TuyaError
from tinytuya_asyncio.simulator.device import DEFAULT_HOST
from tinytuya_asyncio.simulator.discovery import LOOPBACK_BROADCAST, DiscoveryConfig, require_loopback
from tinytuya_asyncio.simulator.fleet import Simulator, loopback_addresses, parse_versions
from tinytuya_asyncio.simulator.limits import raise_nofile_limit
from tinytuya_asyncio.simulator.profiles import PROFILES
from tinytuya_asyncio.simulator.server import ConnectionPolicy
from tinytuya_asyncio.simulator.state import bench_nonce

#: Descriptors per device: its listener, a client connection, and some slack.
_FDS_PER_DEVICE = 3
_FDS_BASE = 256


def _share_or_count(text: str) -> float | int:
    value = float(text) if "." in text else int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _ports(text: str) -> tuple[int, int, int, int]:
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (3, 4) or not all(0 <= p < 65536 for p in parts):
        raise argparse.ArgumentTypeError("want PLAIN,ENCRYPTED,PROBE[,APP] ports, e.g. 6666,6667,7000")
    if len(parts) == 3:
        # The app listens on the probe port too (7000 for both on a real network).
        parts.append(parts[2] or tuya.UDPPORTAPP)
    return parts[0], parts[1], parts[2], parts[3]


def _profiles(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PROFILES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown profile {', '.join(unknown) or '(none)'}")
    return names


def _loopback(text: str) -> str:
    try:
        return require_loopback(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser(prog: str = "python -m tinytuya_asyncio.simulator") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve simulated Tuya devices (protocols 3.1 to 3.5) on loopback.",
    )
    parser.add_argument("--count", type=int, default=10, help="number of devices (default 10)")
    parser.add_argument(
        "--versions", default="mixed", help='comma list such as "3.3,3.5", or "mixed" (default)'
    )
    parser.add_argument(
        "--device22",
        type=_share_or_count,
        default=0,
        help="3.3/3.4 devices in device22 mode: a share such as 0.2, or a count such as 5",
    )
    parser.add_argument(
        "--profiles",
        type=_profiles,
        default=["plug"],
        help=f"comma list of device kinds, taken round-robin (default plug; known: {', '.join(PROFILES)})",
    )
    parser.add_argument("--gateway", action="store_true", help="add a gateway with sub-devices")
    parser.add_argument("--children", type=int, default=2, help="sub-devices of the gateway (default 2)")
    parser.add_argument("--gateway-version", default="3.4", help="protocol of the gateway (default 3.4)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="address (ips mode: first address)")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="first port (ports mode; 0 = a free port each) or the port (ips mode)",
    )
    parser.add_argument("--address-mode", choices=("ports", "ips"), default="ports")
    parser.add_argument(
        "--policy",
        choices=[p.value for p in ConnectionPolicy],
        default=ConnectionPolicy.REPLACE.value,
        help="what a device does with a second client (default replace)",
    )
    parser.add_argument("--devices-file", metavar="PATH", help="write tinytuya's devices.json format here")
    parser.add_argument("--seed", type=int, default=0, help="seed for generated ids and keys")
    parser.add_argument("--discovery", action="store_true", help="send UDP announcements, answer probes")
    parser.add_argument(
        "--discovery-address",
        type=_loopback,
        default=LOOPBACK_BROADCAST,
        help=f"where announcements go, loopback only (default the broadcast address {LOOPBACK_BROADCAST})",
    )
    parser.add_argument(
        "--discovery-ports",
        type=_ports,
        default=(tuya.UDPPORT, tuya.UDPPORTS, tuya.UDPPORTAPP, tuya.UDPPORTAPP),
        metavar="PLAIN,ENCRYPTED,PROBE[,APP]",
        help="announcement ports, the port 3.5 devices hear probes on, and the app port they"
        " answer to (default 6666,6667,7000,7000; APP defaults to PROBE)",
    )
    parser.add_argument(
        "--silent-until-probed",
        action="store_true",
        help="3.5 devices announce nothing and only answer probes, as newer firmware does",
    )
    parser.add_argument("--discovery-interval", type=float, default=5.0, help="seconds (default 5)")
    parser.add_argument(
        "--bench-fixed-nonces",
        action="store_true",
        help="for benchmarks only: makes session keys predictable (each 3.4/3.5 device answers"
        " every handshake with a nonce derived from its id)",
    )
    return parser


def _describe(sim: Simulator, args: argparse.Namespace, elapsed: float) -> str:
    devices = sim.devices
    hosts = sorted({d.host or "" for d in devices}, key=ipaddress.ip_address)
    ports = sorted({d.port or 0 for d in devices})
    where = "" if not hosts else hosts[0] if len(hosts) == 1 else f"{hosts[0]}-{hosts[-1]}"
    port_text = f"port {ports[0]}" if len(ports) == 1 else f"ports {ports[0]}-{ports[-1]}" if ports else ""
    line = f"simulator ready: {len(devices)} devices on {where or args.host} ({port_text or 'none'})"
    line += f" in {elapsed:.2f} s"
    line += f", devices file: {args.devices_file}" if args.devices_file else ", no devices file"
    if sim.discovery is not None:
        config = sim.discovery.config
        line += (
            f", discovery to {config.address} (ports {config.plain_port}/{config.encrypted_port},"
            f" probes on {sim.discovery.probe_port}, answers to {config.app_port})"
        )
    if args.bench_fixed_nonces:
        line += ", fixed handshake nonces (benchmarks only)"
    return line


async def _populate(sim: Simulator, args: argparse.Namespace) -> None:
    share, count = (args.device22, None) if isinstance(args.device22, float) else (0.0, args.device22)
    policy = ConnectionPolicy(args.policy)
    await sim.add_many(
        args.count,
        versions=parse_versions(args.versions),
        device22_share=share,
        device22_count=count,
        host=args.host,
        port=args.port,
        address_mode=args.address_mode,
        profiles=args.profiles,
        policy=policy,
    )
    if args.gateway:
        gateway_host = args.host
        if args.address_mode == "ips" and sim.devices:
            # The next free address after the devices.
            gateway_host = loopback_addresses(sim.devices[-1].host or args.host, 2)[1]
        await sim.add_gateway(
            children=args.children, version=args.gateway_version, host=gateway_host, policy=policy
        )
    if args.bench_fixed_nonces:
        for device in sim.devices:
            device.state.fixed_nonce = bench_nonce(device.dev_id)
    if args.discovery:
        plain, encrypted, probe, app = args.discovery_ports
        await sim.start_discovery(
            DiscoveryConfig(
                address=args.discovery_address,
                plain_port=plain,
                encrypted_port=encrypted,
                probe_port=probe,
                app_port=app,
                interval=args.discovery_interval,
                silent_until_probed=args.silent_until_probed,
            )
        )


async def serve(args: argparse.Namespace, stop: asyncio.Event, ready: asyncio.Event | None = None) -> int:
    """Start the fleet ``args`` describe, print the ready line, run until ``stop`` is set."""
    raise_nofile_limit(_FDS_BASE + _FDS_PER_DEVICE * (args.count + args.children + 1))
    started = time.perf_counter()
    async with Simulator(seed=args.seed) as sim:
        try:
            await _populate(sim, args)
        except (OSError, ValueError) as exc:
            print(f"simulator: cannot start: {exc}", file=sys.stderr)
            return 1
        if args.devices_file:
            sim.write_devices_file(args.devices_file)
        print(_describe(sim, args, time.perf_counter() - started), flush=True)
        if ready is not None:
            ready.set()
        await stop.wait()
    return 0


async def run(args: argparse.Namespace) -> int:
    """:func:`serve` until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        return await serve(args, stop)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    parser = build_parser(prog) if prog else build_parser()
    args = parser.parse_args(argv)
    if args.count < 0 or args.children < 1:
        print("simulator: --count must be >= 0 and --children >= 1", file=sys.stderr)
        return 2
    try:
        parse_versions(args.versions)
        parse_versions([args.gateway_version])
    except (TuyaError, ValueError) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
