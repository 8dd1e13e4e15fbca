"""The benchmarks' fleet: the simulator's devices, plus a reply delay and timed push storms.

    python -m bench.fleetd --count N [--versions mixed] [--seed 0] [--reply-delay S]
                           [--bench-fixed-nonces] --devices-file PATH

Runs as a child process of a benchmark (:class:`bench.fleet.FleetProcess` with
``module="bench.fleetd"``), so that everything the devices do is spent outside the client
being measured. Like ``python -m tinytuya_asyncio.simulator`` it prints one ``simulator
ready:`` line once every device listens; then it reads commands on standard input, one a
line, and answers each with one line on standard output:

* ``storm RATE SECONDS``: STATUS pushes round-robin over every connected device, ``RATE``
  a second (``0``: as fast as this process can) for ``SECONDS``. Each push carries DP
  ``PUSH_SEQ_DP`` (a sequence number from 1) and DP ``PUSH_TIME_DP`` (``time.monotonic_ns()``
  just before the frame is encoded: CLOCK_MONOTONIC is shared by every process of the
  machine, so the client subtracts it from its own clock for the latency). Answers
  ``storm sent=S skipped=K seconds=T``: pushes written, and pushes a device did not write
  because its client had stopped reading (its send buffer was full).
* ``stats``: ``stats clients=C heartbeats=H requests=R pushes=P`` summed over the fleet.
* ``quit``: stop (so does SIGTERM or the end of standard input).

Loopback only, ephemeral ports, and every storm ends by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.simulator import SimulatedDevice, Simulator, raise_nofile_limit
from tinytuya_asyncio.simulator.discovery import require_loopback
from tinytuya_asyncio.simulator.fleet import parse_versions
from tinytuya_asyncio.simulator.state import bench_nonce

#: The data points a storm's pushes carry (no device profile uses them).
PUSH_SEQ_DP: Final = "101"
PUSH_TIME_DP: Final = "102"
#: A paced storm sends what is due every this many seconds.
_TICK: Final = 0.001
#: A storm at full speed yields to the loop after this many pushes (so reads still happen).
_BATCH: Final = 64
#: Longest storm accepted, seconds (benchmarks stop by themselves).
MAX_STORM_SECONDS: Final = 120.0
_FDS_PER_DEVICE: Final = 3
_FDS_BASE: Final = 256


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.fleetd", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--versions", default="mixed")
    parser.add_argument("--device22", type=int, default=0, help="accepted for the simulator's argv; 0 only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", type=require_loopback, default="127.0.0.1")
    parser.add_argument("--devices-file", required=True)
    parser.add_argument("--reply-delay", type=float, default=0.0, help="seconds every frame is held")
    parser.add_argument("--bench-fixed-nonces", action="store_true")
    return parser


class Storms:
    """Runs push storms over a fleet and counts what was written."""

    def __init__(self, devices: Sequence[SimulatedDevice]) -> None:
        self._devices = list(devices)
        self._seq = 0

    def _push_one(self, index: int) -> bool:
        device = self._devices[index % len(self._devices)]
        self._seq += 1
        change = {PUSH_SEQ_DP: self._seq, PUSH_TIME_DP: time.monotonic_ns()}
        return _push(device, change)

    async def storm(self, rate: float, seconds: float) -> tuple[int, int, float]:
        """(pushes written, pushes skipped, seconds taken)."""
        loop = asyncio.get_running_loop()
        sent = skipped = 0
        started = loop.time()
        end = started + seconds
        index = 0
        while (now := loop.time()) < end:
            due = _BATCH if rate <= 0 else int((now - started) * rate) - index
            for _ in range(max(due, 0)):
                if self._push_one(index):
                    sent += 1
                else:
                    skipped += 1
                index += 1
            await asyncio.sleep(0 if rate <= 0 else _TICK)
        return sent, skipped, loop.time() - started


def _push(device: SimulatedDevice, change: dict[str, int]) -> bool:
    # SimulatedDevice.push is a coroutine function that never suspends: run it to its end here
    # rather than through a task per push, which would cost this process more than the push.
    coro = device.push(change)
    try:
        coro.send(None)
    except StopIteration as done:
        return bool(done.value)
    coro.close()
    raise RuntimeError("SimulatedDevice.push suspended")


def _stats(sim: Simulator) -> str:
    clients = sum(d.connected_clients for d in sim.devices)
    heartbeats = sum(d.stats.requests[tuya.HEART_BEAT] for d in sim.devices)
    requests = sum(sum(d.stats.requests.values()) for d in sim.devices)
    pushes = sum(d.stats.pushes for d in sim.devices)
    return f"stats clients={clients} heartbeats={heartbeats} requests={requests} pushes={pushes}"


async def _commands(sim: Simulator, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    storms = Storms(sim.devices)
    while not stop.is_set():
        line = (await reader.readline()).decode("ascii", "replace").split()
        if not line or line[0] == "quit":
            break
        if line[0] == "storm" and len(line) == 3:
            rate, seconds = float(line[1]), min(float(line[2]), MAX_STORM_SECONDS)
            sent, skipped, taken = await storms.storm(rate, seconds)
            answer = f"storm sent={sent} skipped={skipped} seconds={taken:.3f}"
        elif line[0] == "stats":
            answer = _stats(sim)
        else:
            answer = f"error unknown command {' '.join(line)!r}"
        print(answer, flush=True)
    stop.set()


async def serve(args: argparse.Namespace) -> int:
    raise_nofile_limit(_FDS_BASE + _FDS_PER_DEVICE * args.count)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started = time.perf_counter()
    async with Simulator(seed=args.seed) as sim:
        await sim.add_many(args.count, versions=parse_versions(args.versions), host=args.host)
        for device in sim.devices:
            device.faults.reply_delay = args.reply_delay
            if args.bench_fixed_nonces:
                device.state.fixed_nonce = bench_nonce(device.dev_id)
        sim.write_devices_file(args.devices_file)
        print(
            f"simulator ready: {len(sim.devices)} devices on {args.host} in "
            f"{time.perf_counter() - started:.2f} s, reply delay {args.reply_delay:g} s",
            flush=True,
        )
        commands = loop.create_task(_commands(sim, stop))
        await stop.wait()
        commands.cancel()
        await asyncio.gather(commands, return_exceptions=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.count < 1 or args.device22 != 0 or args.reply_delay < 0:
        print("fleetd: --count >= 1, --device22 0 and --reply-delay >= 0", file=sys.stderr)
        return 2
    return asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
