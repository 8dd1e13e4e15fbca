"""The command line's arguments: tinytuya's commands and file conventions, plus ``--json``."""

from __future__ import annotations

import argparse
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.cli.output import EXIT_CODES_HELP, PROG

DESCRIPTION: Final = "Find and control Tuya devices on the local network (protocols 3.1 to 3.5)."
#: Seconds a device gets to answer (connect, handshake, reply).
DEFAULT_TIMEOUT: Final = 5.0
#: Devices polled at once by devices/snapshot/on/off/set/get.
DEFAULT_CONCURRENCY: Final = 64


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}")
    return value


def _udp_ports(text: str) -> tuple[int, int, int]:
    parts = text.split(",")
    if len(parts) != 3:
        raise argparse.ArgumentTypeError("want PLAIN,ENCRYPTED,APP ports, e.g. 6666,6667,7000")
    plain, encrypted, app = (_port(p) for p in parts)
    return plain, encrypted, app


def _common(parser: argparse.ArgumentParser, *, json_help: str = "print JSON for scripts") -> None:
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--no-color", "-nocolor", dest="no_color", action="store_true", help="no colour")
    parser.add_argument(
        "--device-file",
        "-device-file",
        dest="device_file",
        default=tuya.DEVICEFILE,
        metavar="FILE",
        help=f"tinytuya's devices file (default {tuya.DEVICEFILE})",
    )


def _timing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per device (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-time",
        "-maxtime",
        dest="max_time",
        type=_positive,
        default=float(tuya.SCANTIME),
        help=f"seconds to look for a device without an IP address (default {tuya.SCANTIME})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"devices at once (default {DEFAULT_CONCURRENCY})",
    )


def _selection(parser: argparse.ArgumentParser, *, many_default: bool) -> None:
    group = parser.add_argument_group(
        "devices",
        "name devices by --id or --name (repeat either for several)"
        + ("; none: every device of the devices file" if many_default else ""),
    )
    group.add_argument("--id", action="append", metavar="ID", help="device id")
    group.add_argument("--name", action="append", metavar="NAME", help="device name in the devices file")
    group.add_argument("--key", help="local key, when the device is not in the devices file")
    group.add_argument("--ip", help='address; "Auto" (or none in the file) looks it up by broadcast')
    group.add_argument("--version", dest="dev_version", metavar="VER", help="protocol version (default 3.3)")
    group.add_argument("--port", type=_port, help=f"TCP port (default {tuya.TCPPORT})")
    parser.set_defaults(all_devices=many_default)


def _discovery(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("discovery", "where to listen and probe (tinytuya's defaults)")
    group.add_argument(
        "--bind",
        action="append",
        metavar="ADDR",
        help="listen at this address (repeatable; default every interface)",
    )
    group.add_argument(
        "--ports",
        type=_udp_ports,
        default=(tuya.UDPPORT, tuya.UDPPORTS, tuya.UDPPORTAPP),
        metavar="PLAIN,ENCRYPTED,APP",
        help=f"UDP ports to listen on (default {tuya.UDPPORT},{tuya.UDPPORTS},{tuya.UDPPORTAPP})",
    )
    group.add_argument(
        "--broadcast",
        metavar="ADDR",
        help="send the 3.5 probe to this address (default: each interface's broadcast address)",
    )
    group.add_argument(
        "--probe-ip", metavar="IP", help="the address the probe asks answers at (with --broadcast)"
    )
    group.add_argument(
        "--probe-port",
        type=_port,
        default=tuya.UDPPORTAPP,
        help=f"where 3.5 devices hear probes ({tuya.UDPPORTAPP})",
    )
    group.add_argument("--no-probe", action="store_true", help="send no 3.5 probe")
    group.add_argument(
        "--tcp-port", type=_port, default=tuya.TCPPORT, help=f"devices' TCP port ({tuya.TCPPORT})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION, epilog=EXIT_CODES_HELP)
    parser.add_argument("--version", action="store_true", help="print the version")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=text, description=text, epilog=EXIT_CODES_HELP)

    scan = command(
        "scan", "find devices: listen for announcements, probe 3.5 devices, optionally sweep over TCP"
    )
    scan.add_argument(
        "max_time",
        nargs="?",
        type=_positive,
        default=float(tuya.SCANTIME),
        help=f"seconds (default {tuya.SCANTIME})",
    )
    scan.add_argument(
        "--force",
        "-force",
        nargs="*",
        metavar="SUBNET",
        help="also probe these networks over TCP (none given: this machine's networks)",
    )
    scan.add_argument(
        "--no-broadcasts", "-no-broadcasts", action="store_true", help="do not listen (TCP only)"
    )
    scan.add_argument("--concurrency", type=int, default=256, help="TCP probes at once (default 256)")
    scan.add_argument(
        "--timeout", type=_positive, default=3.0, help="TCP connect deadline, seconds (default 3)"
    )
    scan.add_argument(
        "--snapshot-file", "-snapshot-file", default=tuya.SNAPSHOTFILE, metavar="FILE",
        help=f"where to save what was found (default {tuya.SNAPSHOTFILE}); '' for nowhere",
    )  # fmt: skip
    _common(scan)
    _discovery(scan)

    devices = command("devices", "status of every device in the devices file, all at once")
    _common(devices)
    _timing(devices)

    snapshot = command("snapshot", "status of every device in the snapshot file (written by scan)")
    snapshot.add_argument(
        "--snapshot-file", "-snapshot-file", default=tuya.SNAPSHOTFILE, metavar="FILE",
        help=f"default {tuya.SNAPSHOTFILE}",
    )  # fmt: skip
    _common(snapshot)
    _timing(snapshot)

    listing = command("list", "list the devices file")
    _common(listing)

    for name, text in (("on", "turn a switch on"), ("off", "turn a switch off")):
        sub = command(name, text)
        sub.add_argument("--dps", default="1", metavar="N", help="switch data point (default 1)")
        _common(sub)
        _timing(sub)
        _selection(sub, many_default=False)
    setter = command("set", "set a data point to a JSON value")
    setter.add_argument("--dps", required=True, metavar="N", help="data point")
    setter.add_argument("--value", required=True, metavar="JSON", help='true, 42, "text" (JSON)')
    _common(setter)
    _timing(setter)
    _selection(setter, many_default=False)
    getter = command("get", "read status, or one data point")
    getter.add_argument("--dps", metavar="N", help="only this data point")
    _common(getter)
    _timing(getter)
    _selection(getter, many_default=False)

    monitor = command("monitor", "stay connected and print every change, until Ctrl-C")
    _common(monitor, json_help="print one JSON object per line")
    _timing(monitor)
    _selection(monitor, many_default=True)

    command("simulate", "run simulated devices on loopback (see simulate --help)")
    command("demo", "drive a simulated fleet with the async API")
    return parser
