"""``make profile``: where our client spends its time on status() of N devices, cold and warm.

    python -m bench.profile [--devices 500] [--runs 5] [--rounds 20] [--modes cold,warm]

Starts the same separate-process fleet as ``make bench`` and samples the client process with
pyinstrument while :class:`~tinytuya_asyncio.DeviceAsync` does ``--runs`` cold passes
(connect, handshake, query, close, every device at once) or, with connections already open,
``--rounds`` warm rounds. Writes ``bench/results/profile-<mode>-<N>.html`` (the interactive
tree) and ``.txt`` (the tree as text plus the summary), and prints the summary: the busiest
functions by their own time and by inclusive time, as a share of the time the event loop was
busy (time spent waiting in ``select`` is idle time, shown separately).

pyinstrument samples wall-clock time (every 0.5 ms here) and roughly doubles the client's
CPU time, so read the shares, not the milliseconds. With two CPUs or more the fleet runs on
the other half of them (``--no-pin`` to leave that to the scheduler): otherwise time spent
preempted would be charged to whatever call happened to be running, usually a socket call.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pyinstrument import Profiler
from pyinstrument.frame import Frame

from bench.clients import ClientConfig, bounded_gather, ours_device, why_not
from bench.fleet import DeviceEntry, FleetProcess, split_cpus
from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio.simulator import raise_nofile_limit

RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
MODES: Final = ("cold", "warm")
#: Rows in each table of the summary.
TOP: Final = 25


@dataclass(slots=True)
class FunctionTime:
    name: str
    where: str
    self_time: float = 0.0
    inclusive: float = 0.0


@dataclass(slots=True)
class Summary:
    mode: str
    devices: int
    passes: int
    total: float
    idle: float
    functions: dict[str, FunctionTime] = field(default_factory=dict)
    #: Own time per area of code (see :func:`area`).
    areas: dict[str, float] = field(default_factory=dict)

    @property
    def busy(self) -> float:
        return self.total - self.idle

    def share(self, seconds: float) -> float:
        return 100.0 * seconds / self.busy if self.busy > 0 else 0.0

    def render(self, top: int = TOP) -> str:
        lines = [
            f"## {self.mode}: {self.passes} {'passes' if self.mode == 'cold' else 'rounds'} "
            f"over {self.devices} devices",
            "",
            f"sampled {self.total * 1000:.0f} ms: busy {self.busy * 1000:.0f} ms, "
            f"idle in select {self.idle * 1000:.0f} ms; shares below are of busy time",
            "",
        ]
        lines += ["### own time by area", "", "| % busy | ms | area |", "|---:|---:|---|"]
        for name, seconds in sorted(self.areas.items(), key=lambda item: item[1], reverse=True):
            lines.append(f"| {self.share(seconds):.1f} | {seconds * 1000:.0f} | {name} |")
        lines.append("")
        for title, key in (("own time", "self"), ("inclusive time", "inclusive")):
            rows = sorted(
                self.functions.values(),
                key=lambda f: f.self_time if key == "self" else f.inclusive,
                reverse=True,
            )
            lines += [
                f"### top {top} by {title}",
                "",
                "| % busy | ms | function | where |",
                "|---:|---:|---|---|",
            ]
            for row in rows[:top]:
                seconds = row.self_time if key == "self" else row.inclusive
                lines.append(
                    f"| {self.share(seconds):.1f} | {seconds * 1000:.0f} | {row.name} | {row.where} |"
                )
            lines.append("")
        return "\n".join(lines)


def _is_idle(frame: Frame) -> bool:
    return frame.function == "select" and (frame.file_path or "").endswith("selectors.py")


_SYSCALL_PREFIXES: Final = ("socket.", "epoll.", "select.", "posix.", "os.")
_SYSCALL_NAMES: Final = frozenset({"urandom"})
_SYSCALLS: Final = "system calls (socket, epoll, urandom)"
_AREAS: Final = (
    ("/tinytuya_asyncio/protocol/", "tinytuya_asyncio.protocol"),
    ("/tinytuya_asyncio/connection/", "tinytuya_asyncio.connection"),
    ("/tinytuya_asyncio/devices/", "tinytuya_asyncio.devices"),
    ("/tinytuya_asyncio/", "tinytuya_asyncio (other)"),
    ("/tinytuya/", "tinytuya helpers (pack/unpack, AESCipher)"),
    ("/cryptography/", "cryptography"),
    ("/asyncio/", "asyncio"),
    ("/selectors.py", "asyncio"),
    ("/socket.py", "asyncio"),
    ("<string>", "generated __init__ (dataclasses, named tuples)"),
    ("/enum.py", "enum"),
    ("/json/", "json"),
    ("/copy.py", "copy"),
    ("/hmac.py", "hmac"),
    ("/bench/", "benchmark driver"),
)


def area(frame: Frame) -> str:
    """Which part of the stack a frame's own time belongs to.

    Built-in functions count as system calls when they are socket or poll calls, and
    otherwise as part of whoever called them.
    """
    current: Frame | None = frame
    while current is not None:
        path = current.file_path or ""
        if path == "<built-in>" or not path:
            name = current.function
            if current is frame and (name.startswith(_SYSCALL_PREFIXES) or name in _SYSCALL_NAMES):
                return _SYSCALLS
            current = current.parent
            continue
        for marker, name in _AREAS:
            if marker in path:
                return name
        return "other Python"
    return "other"


def _where(frame: Frame) -> str:
    path = frame.file_path or ""
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{frame.line_no}" if frame.line_no else path


def _walk(frame: Frame, ancestors: frozenset[str]) -> Iterator[tuple[Frame, bool]]:
    """Every frame with whether its function is already on the stack above it (recursion)."""
    yield frame, frame.identifier in ancestors
    below = ancestors | {frame.identifier}
    for child in frame.children:
        if _is_idle(child):
            yield child, False  # the loop's wait: counted whole, not looked into
        else:
            yield from _walk(child, below)


def summarize(root: Frame | None, *, mode: str, devices: int, passes: int) -> Summary:
    """Own and inclusive time per function from a pyinstrument tree."""
    summary = Summary(mode, devices, passes, total=root.time if root else 0.0, idle=0.0)
    if root is None:
        return summary
    for frame, recursive in _walk(root, frozenset()):
        if frame.is_synthetic:
            continue  # "[self]" leaves: counted in their parent's own time
        own = frame.total_self_time
        if _is_idle(frame):
            summary.idle += frame.time
            continue
        entry = summary.functions.get(frame.identifier)
        if entry is None:
            entry = summary.functions[frame.identifier] = FunctionTime(frame.function, _where(frame))
        entry.self_time += own
        name = area(frame)
        summary.areas[name] = summary.areas.get(name, 0.0) + own
        if not recursive:
            entry.inclusive += frame.time
    return summary


async def _cold(clients: Sequence[DeviceAsync], config: ClientConfig) -> list[str]:
    deadline = config.deadline(len(clients))
    try:
        results = await bounded_gather([c.status() for c in clients], deadline)
    finally:
        await bounded_gather([c.close() for c in clients], deadline)
    return [r for r in map(why_not, results) if r is not None]


def profile_cold(
    runner: asyncio.Runner,
    devices: Sequence[DeviceEntry],
    config: ClientConfig,
    *,
    runs: int,
    interval: float,
) -> tuple[Profiler, list[str]]:
    """Profile ``runs`` cold passes; as in ``make bench``, building the objects is not profiled."""
    runner.run(_cold([ours_device(e, config, persist=False) for e in devices], config))  # warm-up pass
    errors: list[str] = []
    profiler = Profiler(interval=interval, async_mode="disabled", use_timing_thread=False)
    for _ in range(runs):
        clients = [ours_device(e, config, persist=False) for e in devices]
        gc.collect()
        profiler.start()  # successive sessions are combined
        try:
            errors += runner.run(_cold(clients, config))
        finally:
            profiler.stop()
    return profiler, errors


async def _warm(
    devices: Sequence[DeviceEntry], config: ClientConfig, *, rounds: int, interval: float
) -> tuple[Profiler, list[str]]:
    deadline = config.deadline(len(devices))
    clients = [ours_device(entry, config, persist=True) for entry in devices]
    errors: list[str] = []
    try:
        connected = await bounded_gather([c.connect() for c in clients], deadline)
        errors += [type(r).__name__ for r in connected if isinstance(r, BaseException)]
        if errors:
            raise RuntimeError(f"{len(errors)} devices did not connect: {errors[:3]}")
        await bounded_gather([c.status() for c in clients], deadline)  # warm-up round
        profiler = Profiler(interval=interval, async_mode="disabled", use_timing_thread=False)
        gc.collect()
        profiler.start()
        try:
            for _ in range(rounds):
                results = await bounded_gather([c.status() for c in clients], deadline)
                errors += [r for r in map(why_not, results) if r is not None]
        finally:
            profiler.stop()
        return profiler, errors
    finally:
        await bounded_gather([c.close() for c in clients], deadline)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=500, help="fleet size (default 500)")
    parser.add_argument("--runs", type=int, default=5, help="cold passes profiled (default 5)")
    parser.add_argument("--rounds", type=int, default=20, help="warm rounds profiled (default 20)")
    parser.add_argument("--modes", default="cold,warm", help="cold,warm (default both)")
    parser.add_argument(
        "--interval", type=float, default=0.0005, help="sampling interval, s (default 0.0005)"
    )
    parser.add_argument("--seed", type=int, default=0, help="fleet seed")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR, help="where reports go")
    parser.add_argument(
        "--no-pin",
        action="store_true",
        help="do not run the client and the fleet on separate halves of the CPUs",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if (
        not modes
        or any(m not in MODES for m in modes)
        or args.devices < 1
        or args.runs < 1
        or args.rounds < 1
    ):
        print("profile: --modes is cold,warm; --devices, --runs, --rounds >= 1", file=sys.stderr)
        return 2
    raise_nofile_limit(512 + 4 * args.devices)
    config = ClientConfig()
    args.output_dir.mkdir(parents=True, exist_ok=True)
    failed = False
    # The profiler samples wall-clock time: keep the fleet off the client's CPU so that time
    # spent preempted does not show up as time in whatever call was running.
    split = None if args.no_pin else split_cpus()
    if split is not None:
        os.sched_setaffinity(0, split[0])
    fleet_cpus = split[1] if split else None
    with (
        asyncio.Runner() as runner,
        FleetProcess(args.devices, seed=args.seed, cpus=fleet_cpus) as fleet,
    ):
        print(f"fleet: {fleet.ready_line}", file=sys.stderr, flush=True)
        if split is not None:
            print(f"pinned: client on CPUs {sorted(split[0])}, fleet on {sorted(split[1])}", file=sys.stderr)
        for mode in modes:
            if mode == "cold":
                profiler, errors = profile_cold(
                    runner, fleet.devices, config, runs=args.runs, interval=args.interval
                )
                passes = args.runs
            else:
                profiler, errors = runner.run(
                    _warm(fleet.devices, config, rounds=args.rounds, interval=args.interval)
                )
                passes = args.rounds
            session = profiler.last_session
            root = session.root_frame() if session is not None else None
            summary = summarize(root, mode=mode, devices=args.devices, passes=passes)
            text = summary.render()
            if errors:
                failed = True
                text += f"\nWARNING: {len(errors)} requests failed: {sorted(set(errors))}\n"
            stem = args.output_dir / f"profile-{mode}-{args.devices}"
            Path(f"{stem}.html").write_text(profiler.output_html(), encoding="utf-8")
            tree = profiler.output_text(unicode=True, color=False)
            Path(f"{stem}.txt").write_text(text + "\n\n## call tree\n\n" + tree, encoding="utf-8")
            print(text, flush=True)
            print(f"wrote {stem}.html and {stem}.txt", file=sys.stderr, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
