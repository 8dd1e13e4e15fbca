"""``make bench``: status of N simulated devices, cold and warm, per client, side by side.

    python -m bench.run [--devices 100,500,1000] [--runs 5] [--warmup 1] [--modes cold,warm]
                        [--clients ours,sync,sync-nowait,core,floor,tinytuya-async,rustuya]
                        [--loops asyncio,uvloop] [--reply-delay 0.02]

For each N a fleet of N mixed-version devices (3.1 to 3.5 round-robin) is started in a
separate process on 127.0.0.1 (:mod:`bench.fleet`), then every client does ``--runs`` timed
passes per mode after ``--warmup`` untimed ones. Cold passes alternate between clients (the
order rotates each run); warm passes run one client at a time, since a device keeps one
client connection. Each pass is bounded in time; the fleet is stopped with SIGTERM at the end.
With two CPUs or more, the client and the fleet run on separate halves of them (``--no-pin``
to leave that to the scheduler), so neither steals the other's CPU. Prints a Markdown report
and writes it (and JSON) to ``bench/results/``. Exits 1 when any client got an invalid or
missing answer, so a failing benchmark never passes for a fast one.

``--loops asyncio,uvloop`` runs every asyncio client (ours, core, floor, tinytuya-async) once
per loop; rows of another loop read ``client+uvloop`` and are compared with that loop's floor
and core. ``--reply-delay S`` serves the fleet from ``bench.fleetd``, which holds every frame
a device sends for S seconds (a slow device or network). Peers that are not installed
(``pip install -e '.[bench]'``) are left out with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from bench import report
from bench.clients import (
    BenchClient,
    ClientConfig,
    CoreClient,
    FloorClient,
    OursClient,
    SetupError,
    SyncClient,
)
from bench.fleet import DeviceEntry, FleetProcess, split_cpus
from bench.measure import Sample, Series
from bench.peers import RustuyaClient, TinytuyaAsyncClient, installed
from bench.report import LOOP_MARK
from tinytuya_asyncio.simulator import raise_nofile_limit

CLIENT_NAMES: Final = ("ours", "sync", "sync-nowait", "core", "floor", "tinytuya-async", "rustuya")
#: Clients that run on an event loop (once per ``--loops`` entry); the others bring their own threads.
LOOP_CLIENTS: Final = frozenset({"ours", "core", "floor", "tinytuya-async"})
#: The optional peers and the module each needs.
PEER_MODULES: Final = {"tinytuya-async": "tinytuya_async", "rustuya": "rustuya"}
LOOPS: Final = ("asyncio", "uvloop")
MODES: Final = ("cold", "warm")
RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
#: Descriptors per device: a fleet listener is in the other process; here one or two
#: client sockets per device (a closing one and a new one), plus slack.
_FDS_PER_DEVICE: Final = 4
_FDS_BASE: Final = 512


def _int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("want a comma list of positive integers, e.g. 100,500")
    return values


def _choices(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [v.strip() for v in text.split(",") if v.strip()]
        unknown = [v for v in values if v not in allowed]
        if not values or unknown:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)} (comma separated)")
        return list(dict.fromkeys(values))

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--devices", type=_int_list, default=[100, 500, 1000], help="fleet sizes (default 100,500,1000)"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed passes per client and mode (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed passes first (default 1)")
    parser.add_argument("--modes", type=_choices(MODES), default=list(MODES), help="cold,warm (default both)")
    parser.add_argument(
        "--clients",
        type=_choices(CLIENT_NAMES),
        default=list(CLIENT_NAMES),
        help=f"{','.join(CLIENT_NAMES)} (default all)",
    )
    parser.add_argument(
        "--loops", type=_choices(LOOPS), default=["asyncio"], help="asyncio,uvloop (default asyncio)"
    )
    parser.add_argument(
        "--reply-delay", type=float, default=0.0, help="seconds each device holds every frame (default 0)"
    )
    parser.add_argument("--versions", default="mixed", help='fleet versions (default "mixed": 3.1-3.5)')
    parser.add_argument("--threads", type=int, default=32, help="sync client's pool size (default 32)")
    parser.add_argument("--timeout", type=float, default=5.0, help="connection_timeout, s (default 5)")
    parser.add_argument("--retry-limit", type=int, default=2, help="connection_retry_limit (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="fleet seed (ids and keys)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR, help="where reports go")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="let the scheduler place the client and the fleet (default: separate halves of the CPUs)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only, write no files")
    return parser


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _describe_sample(sample: Sample) -> str:
    text = f"wall {sample.wall * 1000:8.1f} ms  cpu {sample.cpu * 1000:8.1f} ms"
    text += f"  valid {sample.ok}/{sample.total}"
    if sample.errors:
        text += f"  errors {sample.errors}"
    return text


def _loop_client(name: str, runner: asyncio.Runner, config: ClientConfig, loop: str) -> BenchClient:
    client: BenchClient
    if name == "ours":
        client = OursClient(runner, config)
    elif name == "core":
        client = CoreClient(runner, config)
    elif name == "floor":
        client = FloorClient(runner, config)
    else:
        client = TinytuyaAsyncClient(runner, config)
    if loop != "asyncio":
        client.name += LOOP_MARK + loop
    return client


def make_clients(
    names: Sequence[str], runners: dict[str, asyncio.Runner], config: ClientConfig
) -> list[BenchClient]:
    clients: list[BenchClient] = []
    for loop, runner in runners.items():
        clients += [_loop_client(name, runner, config, loop) for name in names if name in LOOP_CLIENTS]
    for name in names:
        if name == "sync":
            clients.append(SyncClient(config))
        elif name == "sync-nowait":
            clients.append(SyncClient(config, name="sync-nowait", no_send_wait=True))
        elif name == "rustuya":
            clients.append(RustuyaClient(config))
    return clients


def _has_mode(client: BenchClient, mode: str) -> bool:
    return not (mode == "cold" and isinstance(client, RustuyaClient))


def run_cold(
    clients: Sequence[BenchClient], devices: Sequence[DeviceEntry], *, runs: int, warmup: int
) -> list[Series]:
    clients = [c for c in clients if _has_mode(c, "cold")]
    series = {c.name: Series(c.name, "cold", len(devices)) for c in clients}
    for index in range(warmup + runs):
        shift = index % len(clients)
        for client in [*clients[shift:], *clients[:shift]]:
            sample = client.cold(devices)
            label = "warmup" if index < warmup else f"run {index - warmup + 1}"
            _say(f"  cold  N={len(devices):<4} {client.name:<12} {label:<7} {_describe_sample(sample)}")
            if index >= warmup:
                series[client.name].samples.append(sample)
    return list(series.values())


def run_warm(
    clients: Sequence[BenchClient], devices: Sequence[DeviceEntry], *, runs: int, warmup: int
) -> list[Series]:
    out: list[Series] = []
    for client in clients:
        series = Series(client.name, "warm", len(devices))
        try:
            series.samples = client.warm(devices, rounds=runs, warmup=warmup)
        except SetupError as exc:
            series.failure = str(exc)
            _say(f"  warm  N={len(devices):<4} {client.name:<12} FAILED: {exc}")
        for number, sample in enumerate(series.samples, start=1):
            _say(
                f"  warm  N={len(devices):<4} {client.name:<12} round {number:<2} {_describe_sample(sample)}"
            )
        out.append(series)
    return out


def loop_factory(loop: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop factory for ``--loops`` (``None``: asyncio's default)."""
    if loop == "uvloop":
        import uvloop  # noqa: PLC0415 - optional (the speed extra)

        return uvloop.new_event_loop
    return None


def _fleet_line(devices: Sequence[DeviceEntry]) -> str:
    counts = Counter(d.version for d in devices)
    mix = ", ".join(f"{counts[v]}×{v}" for v in sorted(counts))
    return f"{len(devices)} devices ({mix}; every 3.2 device is device22)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.threads < 1 or args.reply_delay < 0:
        print("bench: --runs and --threads must be >= 1, --warmup and --reply-delay >= 0", file=sys.stderr)
        return 2
    missing = [name for name in args.clients if name in PEER_MODULES and not installed(PEER_MODULES[name])]
    if "uvloop" in args.loops and not installed("uvloop"):
        missing.append("uvloop")
        args.loops = [loop for loop in args.loops if loop != "uvloop"]
    for name in missing:
        _say(f"note: {name} is not installed (pip install -e '.[bench]'): left out of this run")
    args.clients = [name for name in args.clients if name not in missing]
    raise_nofile_limit(_FDS_BASE + _FDS_PER_DEVICE * max(args.devices))
    config = ClientConfig(timeout=args.timeout, retry_limit=args.retry_limit, threads=args.threads)
    machine = report.machine_info()  # before pinning narrows what this process sees
    split = None if args.no_pin else split_cpus()
    if split is not None:
        os.sched_setaffinity(0, split[0])  # before any thread starts: they inherit it
    pinning = f"client on CPUs {sorted(split[0])}, fleet on {sorted(split[1])}" if split else "none"
    settings = {
        "command": " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)]),
        "devices": ",".join(map(str, args.devices)),
        "modes": ",".join(args.modes),
        "runs": f"{args.runs} timed (median reported) after {args.warmup} untimed",
        "fleet": (
            f"python -m tinytuya_asyncio.simulator --versions {args.versions} --device22 0 "
            "--bench-fixed-nonces, a separate process on 127.0.0.1"
            if not args.reply_delay
            else f"python -m bench.fleetd --versions {args.versions} --reply-delay {args.reply_delay:g} "
            "--bench-fixed-nonces (the simulator's devices, every frame held), "
            "a separate process on 127.0.0.1"
        ),
        "loops": ",".join(args.loops),
        "cpu": "resource.getrusage(RUSAGE_SELF) user+sys of the client process, all threads",
        "pinning": pinning,
    }
    all_series: list[Series] = []
    descriptions: dict[str, str] = {}
    fleets: dict[int, str] = {}
    started = time.perf_counter()
    delay = ["--reply-delay", str(args.reply_delay)]
    with contextlib.ExitStack() as stack:
        runners = {
            loop: stack.enter_context(asyncio.Runner(loop_factory=loop_factory(loop))) for loop in args.loops
        }
        for count in args.devices:
            _say(f"starting a fleet of {count} devices")
            fleet_cpus = split[1] if split else None
            with FleetProcess(
                count,
                versions=args.versions,
                seed=args.seed,
                cpus=fleet_cpus,
                module="bench.fleetd" if args.reply_delay else "tinytuya_asyncio.simulator",
                extra_args=delay if args.reply_delay else (),
            ) as fleet:
                _say(f"  {fleet.ready_line}")
                fleets[count] = _fleet_line(fleet.devices)
                clients = make_clients(args.clients, runners, config)
                try:
                    descriptions.update({c.name: c.description for c in clients})
                    if "cold" in args.modes:
                        all_series += run_cold(clients, fleet.devices, runs=args.runs, warmup=args.warmup)
                    if "warm" in args.modes:
                        all_series += run_warm(clients, fleet.devices, runs=args.runs, warmup=args.warmup)
                finally:
                    for client in clients:
                        client.close()
    settings["elapsed"] = f"{time.perf_counter() - started:.0f} s"
    markdown = report.render(
        all_series,
        clients=args.clients,
        machine=machine,
        settings=settings,
        descriptions=descriptions,
        fleets=fleets,
    )
    print(markdown)
    if not args.no_write:
        stem = "bench-" + time.strftime("%Y%m%d-%H%M%S")
        json_text = report.to_json(all_series, machine=machine, settings=settings)
        for path in report.write(args.output_dir, stem, markdown, json_text):
            _say(f"wrote {path}")
    incomplete = [s for s in all_series if not s.complete]
    for series in incomplete:
        _say(f"FAILED: {series.client} {series.mode} N={series.devices}: not every answer was valid")
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
