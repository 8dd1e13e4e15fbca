"""``make fuzz``: a million hostile frames per version through each decode path, counted.

    python -m fuzz.run [--frames 1000000] [--seed 1] [--targets client,device]
                       [--versions 3.1,3.2,3.3,3.3-device22,3.4,3.5] [--save DIR]
    python -m fuzz.run --replay DIR/violation-1.json

For each target (``client``: the connection and device layers; ``device``: the simulator's
device role) and version, inputs are drawn from a ``random.Random`` seeded with ``--seed``,
the target and the version, so a run is reproducible. A fresh rig (device, or simulated
device) takes over every ``--rig-inputs`` inputs, alternating plain devices and gateways.
Memory is sampled after a garbage collection every twentieth of the run, from a baseline
taken after the first tenth: resident size and live allocated blocks must not grow past
``--max-growth-mib`` and ``--max-growth-blocks``. Prints frames/s and the outcomes per
target and version, then each violation once, with its input. Exits 1 on any violation or
growth, so a broken invariant never passes for a fast run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fuzz.client import REQUESTS_BY_NAME, ClientRig
from fuzz.device import DeviceRig
from fuzz.inputs import VARIANTS, BodyPool, RandomChoices, Variant, variant
from fuzz.outcomes import Case, ErrorLog, Tally

TARGETS: Final = ("client", "device")
_SAMPLES: Final = 20
_WARMUP: Final = 0.1  # of the run, before the memory baseline


@dataclass(slots=True)
class Result:
    target: str
    variant: str
    tally: Tally
    seconds: float
    rss_growth: int
    block_growth: int

    @property
    def rate(self) -> float:
        return self.tally.frames / self.seconds if self.seconds else 0.0


def rss() -> int:
    """Resident set size in bytes (the peak where the current one cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def memory() -> tuple[int, int]:
    gc.collect()
    return rss(), sys.getallocatedblocks()


def seed_for(seed: int, target: str, version: Variant) -> int:
    return zlib.crc32(f"{seed}:{target}:{version.name}".encode())


async def fuzz(target: str, version: Variant, frames: int, seed: int, rig_inputs: int) -> Result:
    """Feed at least ``frames`` frames to ``target`` for ``version``."""
    c = RandomChoices(seed_for(seed, target, version))
    bodies = BodyPool(c)
    tally = Tally()
    log = ErrorLog()
    log.watch()
    rig: ClientRig | DeviceRig | None = None
    baseline: tuple[int, int] | None = None
    growth = (0, 0)
    step = max(1, frames // _SAMPLES)
    next_sample = int(frames * _WARMUP)
    started = time.perf_counter()
    try:
        while tally.frames < frames:
            if rig is None or tally.cases % rig_inputs == 0:
                gateway = tally.cases // rig_inputs % 2 == 0
                rig = (
                    ClientRig(version, gateway=gateway)
                    if target == "client"
                    else DeviceRig(version, gateway=gateway)
                )
            case = await rig.run(c, tally, bodies)
            log.drain(tally, case)
            if tally.frames >= next_sample:
                next_sample += step
                now = memory()
                if baseline is None:
                    baseline = now
                else:
                    growth = (max(growth[0], now[0] - baseline[0]), max(growth[1], now[1] - baseline[1]))
    finally:
        log.unwatch()
    seconds = time.perf_counter() - started
    return Result(target, version.name, tally, seconds, growth[0], growth[1])


async def replay(saved: dict[str, Any]) -> Tally:
    """Run one saved case again (written by ``--save``) and return what it did."""
    version = variant(saved["variant"])
    reads = [bytes.fromhex(piece) for piece in saved["reads"]]
    tally = Tally()
    log = ErrorLog()
    log.watch()
    try:
        if saved["target"] == "client":
            request = REQUESTS_BY_NAME[saved["request"]] if saved["request"] else None
            rig = ClientRig(version, gateway=saved["gateway"])
            case = await rig.execute(saved["state"], request, reads, tally)
        else:
            case = DeviceRig(version, gateway=saved["gateway"]).execute(saved["state"], reads, tally)
        log.drain(tally, case)
    finally:
        log.unwatch()
    return tally


def save(case: Case, path: Path) -> None:
    body = {
        "target": case.target,
        "variant": case.variant,
        "gateway": case.gateway,
        "state": case.state,
        "request": case.request,
        "reads": [piece.hex() for piece in case.reads],
    }
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")


def report(results: Sequence[Result], *, seed: int, frames: int) -> str:
    lines = [
        f"fuzz: seed {seed}, at least {frames:,} frames per target and version; "
        f"{platform.python_implementation()} {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs",
        "",
        "| target | version | frames | inputs | frames/s | violations | RSS growth | blocks growth "
        "| outcomes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        outcomes = ", ".join(f"{name} {count:,}" for name, count in r.tally.outcomes.most_common())
        lines.append(
            f"| {r.target} | {r.variant} | {r.tally.frames:,} | {r.tally.cases:,} | {r.rate:,.0f} "
            f"| {r.tally.violation_count:,} | {r.rss_growth / 2**20:.1f} MiB | {r.block_growth:,} "
            f"| {outcomes} |"
        )
    total = sum(r.tally.frames for r in results)
    seconds = sum(r.seconds for r in results)
    lines += ["", f"total: {total:,} frames in {seconds:,.0f} s"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="frames per target and version")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--versions", default=",".join(v.name for v in VARIANTS))
    parser.add_argument(
        "--rig-inputs", type=int, default=1000, help="inputs before a fresh device takes over"
    )
    parser.add_argument("--max-growth-mib", type=float, default=16.0)
    parser.add_argument("--max-growth-blocks", type=int, default=20_000)
    parser.add_argument("--save", type=Path, help="write each violation's input to this folder as JSON")
    parser.add_argument("--replay", type=Path, help="run one saved input again and print what it did")
    args = parser.parse_args(argv)
    if args.replay is not None:
        tally = asyncio.run(replay(json.loads(args.replay.read_text(encoding="utf-8"))))
        print(dict(tally.outcomes))
        for violation in tally.violations.values():
            print(f"VIOLATION {violation.signature}: {violation.detail}")
        return 1 if tally.violations else 0
    targets = [t for t in args.targets.split(",") if t]
    if unknown := [t for t in targets if t not in TARGETS]:
        parser.error(f"unknown targets {unknown}; have {list(TARGETS)}")
    versions = [variant(name) for name in args.versions.split(",") if name]
    results: list[Result] = []
    for target in targets:
        for version in versions:
            result = asyncio.run(fuzz(target, version, args.frames, args.seed, args.rig_inputs))
            results.append(result)
            print(
                f"{target} {version.name}: {result.tally.frames:,} frames, {result.rate:,.0f}/s, "
                f"{result.tally.violation_count:,} violations",
                flush=True,
            )
    print()
    print(report(results, seed=args.seed, frames=args.frames))
    failed = False
    n = 0
    for result in results:
        for violation in result.tally.violations.values():
            failed = True
            n += 1
            print(
                f"\nVIOLATION {n} ({violation.count:,} inputs): {violation.signature}\n  {violation.detail}"
            )
            print("  " + violation.case.describe()[:2000].replace("\n", "\n  "))
            if args.save is not None:
                args.save.mkdir(parents=True, exist_ok=True)
                save(violation.case, args.save / f"violation-{n}.json")
        if result.rss_growth > args.max_growth_mib * 2**20 or result.block_growth > args.max_growth_blocks:
            failed = True
            print(
                f"\nMEMORY GROWTH in {result.target} {result.variant}: {result.rss_growth / 2**20:.1f} MiB, "
                f"{result.block_growth:,} blocks"
            )
    print(
        "\nFAILED: the invariant does not hold"
        if failed
        else "\nOK: every input parsed or ended as a RemoteProtocolError"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
