"""``make demo``: a simulated fleet on loopback, driven concurrently by the async API.

Starts a few dozen simulated devices (every protocol version, some of the device22 kind)
in this process on 127.0.0.1, then, all devices at once on one event loop: connects,
reads status, toggles switch 1, and listens for pushes while the "devices" report button
presses. Prints a table per device and a summary. Nothing leaves the loopback interface.

    python -m tinytuya_asyncio.demo [--devices 36] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tinytuya_asyncio._loop import run as run_on_best_loop
from tinytuya_asyncio.devices import DeviceAsync, DeviceUpdate
from tinytuya_asyncio.metrics import CounterSink
from tinytuya_asyncio.simulator import SimulatedDevice, Simulator

#: How long to listen for pushes after the devices start "pressing buttons".
PUSH_WINDOW = 2.0


@dataclass
class Row:
    """What the demo learned about one device."""

    name: str
    version: str
    dev_type: str = "?"
    dps: int = 0
    before: Any = None
    after: Any = None
    pushes: list[Any] = field(default_factory=list)
    error: str | None = None
    latency_ms: float = 0.0


async def _drive(device: DeviceAsync, row: Row) -> None:
    started = time.perf_counter()
    status = await device.status()
    if not status or "Err" in status:
        row.error = f"status: {status}"
        return
    row.dev_type = device.dev_type
    if device.dev_type == "device22":
        # device22 firmware only reports the DPs a query names: find them first.
        await device.detect_available_dps()
        status = await device.status() or status
    row.dps = len(status.get("dps", {}))
    row.before = status["dps"].get("1")
    changed = await device.set_value(1, not row.before)
    if not changed or "Err" in changed:
        row.error = f"set_value: {changed}"
        return
    row.after = changed["dps"].get("1")
    row.latency_ms = (time.perf_counter() - started) * 1000


async def _press_buttons(fleet: Sequence[SimulatedDevice], rng: random.Random, presses: int) -> None:
    """Simulate people pressing buttons: spontaneous STATUS pushes from random devices."""
    for simulated in rng.sample(list(fleet), presses):
        await simulated.push({"1": not simulated.dps["1"]})


def _table(rows: Sequence[Row]) -> str:
    header = f"{'device':<22} {'ver':>4} {'type':<9} {'dps':>3} {'switch 1':<14} {'pushes':<14} {'ms':>6}"
    lines = [header, "-" * len(header)]
    for row in rows:
        if row.error:
            lines.append(f"{row.name:<22} {row.version:>4} {'':<9} {'':>3} ERROR {row.error}")
            continue
        switch = f"{_onoff(row.before)} -> {_onoff(row.after)}"
        pushes = ", ".join(_onoff(p) for p in row.pushes) or "-"
        lines.append(
            f"{row.name:<22} {row.version:>4} {row.dev_type:<9} {row.dps:>3} {switch:<14} {pushes:<14} "
            f"{row.latency_ms:>6.1f}"
        )
    return "\n".join(lines)


def _onoff(value: Any) -> str:
    return {True: "on", False: "off"}.get(value, str(value))


async def run(count: int, seed: int) -> int:
    """Run the demo; returns the number of devices that failed (0 on success)."""
    rng = random.Random(seed)
    sink = CounterSink()
    started = time.perf_counter()
    async with Simulator(seed=seed) as simulator:
        fleet = await simulator.add_many(count, versions="mixed", device22_share=0.3)
        ready = time.perf_counter()
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        print(
            f"simulator: {len(fleet)} devices listening on 127.0.0.1 in {(ready - started) * 1000:.0f} ms"
            f" (event loop: {loop})"
        )
        devices = [
            DeviceAsync(
                s.dev_id, s.host, s.local_key, version=s.version, port=s.port or 0, persist=True, metrics=sink
            )
            for s in fleet
        ]
        rows = [Row(s.name, s.version) for s in fleet]
        presses = max(1, count // 4)
        tally = _PushTally(presses)
        for device, row in zip(devices, rows, strict=True):
            device.subscribe(functools.partial(tally.record, row))
        try:
            await asyncio.gather(*(d.connect() for d in devices))
            connected = time.perf_counter()
            print(f"client: {len(devices)} persistent connections in {(connected - ready) * 1000:.0f} ms")
            await asyncio.gather(*(_drive(d, r) for d, r in zip(devices, rows, strict=True)))
            driven = time.perf_counter()
            print(f"client: status + detect + toggle on every device in {(driven - connected) * 1000:.0f} ms")
            await _press_buttons(fleet, rng, presses)
            try:
                async with asyncio.timeout(PUSH_WINDOW):
                    await tally.done.wait()
            except TimeoutError:
                print(f"note: only {tally.count} of {presses} pushes arrived within {PUSH_WINDOW:g} s")
            print()
            print(_table(rows))
        finally:
            await asyncio.gather(*(d.close() for d in devices))
    elapsed = time.perf_counter() - started
    errors = sum(1 for r in rows if r.error)
    pushes = sum(len(r.pushes) for r in rows)
    requests = sink.counts["request"]
    mean = sink.mean_duration("request")
    handshake = sink.mean_duration("handshake")
    print()
    print(
        f"summary: {len(rows)} devices, {requests} requests (mean {1000 * (mean or 0):.1f} ms), "
        f"{sink.counts['handshake']} session keys negotiated (mean {1000 * (handshake or 0):.1f} ms), "
        f"{pushes} pushes received, {errors} errors, {elapsed:.2f} s elapsed"
    )
    return errors


class _PushTally:
    """Counts button pushes as they arrive (replies to our own toggles are not pushes)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.count = 0
        self.done = asyncio.Event()

    def record(self, row: Row, update: DeviceUpdate) -> None:
        if update.pushed and "1" in update.changed:
            row.pushes.append(update.changed["1"])
            self.count += 1
            if self.count >= self.target:
                self.done.set()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tinytuya_asyncio.demo", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--devices", type=int, default=36, help="simulated devices (default 36)")
    parser.add_argument("--seed", type=int, default=1, help="seed for ids, keys and button presses")
    args = parser.parse_args(argv)
    return 1 if run_on_best_loop(run(args.devices, args.seed)) else 0


if __name__ == "__main__":
    sys.exit(main())
