"""``make bench-persistent``: a fleet of persistent connections, idle and under push storms.

    python -m bench.persistent [--devices 1000] [--clients ours,monitor,tinytuya-async,rustuya]
                               [--loops asyncio,uvloop] [--idle 30] [--rates 2000,5000,0]
                               [--storm 5] [--no-write]

Every client runs in a process of its own (so that its memory is measured alone), against a
fleet of mixed-version devices in another process (:mod:`bench.fleetd`, pinned to the other
half of the CPUs): the client's ``getrusage`` is its CPU alone. Per client and loop:

1. **Memory per connection**: RSS after every device is connected (and a ``gc.collect()``),
   minus RSS before the device objects were built, divided by N.
2. **Idle CPU**: CPU time over ``--idle`` seconds with nothing but heartbeats (every ~10 s:
   ours by default, the others as their docs say), as a share of one core; the fleet counts
   the heartbeats it received.
3. **Push storms**: the fleet pushes STATUS frames round-robin over every device at each
   ``--rates`` (pushes a second; 0 is as fast as the fleet can) for ``--storm`` seconds. Each
   push carries its sequence number and the fleet's ``time.monotonic_ns()`` when it was
   made; the client's consumer subtracts that from its own clock (CLOCK_MONOTONIC is shared
   by the machine's processes). Reported: pushes delivered, lost (sent and never delivered),
   skipped by the fleet (a device drops a push when its client's socket is full, as firmware
   does), CPU per delivered push (CPU from the storm's start until the last push arrived,
   divided by the pushes delivered), and p50/p99 latency. Ours is measured three ways: with a
   ``subscribe()`` callback, with one ``updates()`` stream consumed per device, and with one
   ``Fleet.updates()`` stream (its default bound) for all of them.

The clients:

* ``ours``: ``DeviceAsync(persist=True)``, default heartbeats (10 s).
* ``monitor``: tinytuya's Monitor pattern, at fleet scale: a persistent ``tinytuya.Device``
  per connection, and one thread that waits on every socket with ``selectors`` and calls
  ``receive()`` on those that are readable, and ``heartbeat(nowait=True)`` on each device
  every 10 s.
* ``tinytuya-async``: ``DeviceAsync(persist=True)``; a ``receive()`` loop task per device
  (without a timeout) and a heartbeat task per device (every 10 s); it has no automatic one.
* ``rustuya``: ``Device(persist=True)`` (its own automatic heartbeat), pushes read from one
  ``unified_listener`` by a Python thread.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from bench import report
from bench.clients import ClientConfig
from bench.fleet import DeviceEntry, FleetProcess, split_cpus
from bench.fleetd import PUSH_TIME_DP
from bench.frames import query_dps
from bench.measure import cpu_seconds
from bench.peers import installed, rustuya_device, tinytuya_async_device, wait_connected
from tinytuya_asyncio import DeviceAsync, DeviceUpdate, Fleet
from tinytuya_asyncio.simulator import raise_nofile_limit

CLIENTS: Final = ("ours", "monitor", "tinytuya-async", "rustuya")
LOOP_CLIENTS: Final = frozenset({"ours", "tinytuya-async"})
PEER_MODULES: Final = {"tinytuya-async": "tinytuya_async", "rustuya": "rustuya", "monitor": "tinytuya"}
RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
#: Seconds between heartbeats where the client leaves it to the application (tinytuya's advice: 9-12 s).
HEARTBEAT_INTERVAL: Final = 10.0
#: How long delivery may trail the end of a storm before what is missing counts as lost.
DRAIN_TIMEOUT: Final = 5.0
#: Seconds a fleet may take to connect (sync clients connect one thread-pool wave at a time).
CONNECT_TIMEOUT: Final = 120.0
_DRAIN_POLL: Final = 0.01
_FDS_PER_DEVICE: Final = 3
_FDS_BASE: Final = 512


def rss_bytes() -> int:
    """Resident set size of this process now."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Recorder:
    """Latencies of the storm pushes a consumer saw (thread-safe enough: appends only)."""

    def __init__(self) -> None:
        self.latencies: list[int] = []
        self.last = 0.0

    def reset(self) -> None:
        self.latencies = []

    def dps(self, dps: object) -> None:
        """Record a storm push if ``dps`` is one (its send time is in ``PUSH_TIME_DP``)."""
        if isinstance(dps, dict):
            sent = dps.get(PUSH_TIME_DP)
            if isinstance(sent, int):
                self.latencies.append(time.monotonic_ns() - sent)

    def result(self, result: object) -> None:
        """Record from a decoded result (``dps`` or 3.4+ ``data.dps``)."""
        if isinstance(result, dict):
            dps = result.get("dps")
            if dps is None and isinstance(result.get("data"), dict):
                dps = result["data"].get("dps")
            self.dps(dps)


class GcPauses:
    """The garbage collector's pauses while active (``gc.callbacks``): the suspects of a tail."""

    def __init__(self) -> None:
        self.count = 0
        self.full = 0
        self.longest = 0.0
        self.total = 0.0
        self._started = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._on_gc)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause = time.perf_counter() - self._started
        self.count += 1
        self.full += info["generation"] == 2
        self.total += pause
        self.longest = max(self.longest, pause)


@dataclass(slots=True)
class StormResult:
    consumer: str
    rate: float
    seconds: float
    sent: int
    skipped: int
    delivered: int
    cpu: float
    p50_ms: float
    p99_ms: float
    #: Collections during the storm (all generations, then full ones) and their pauses.
    gc_collections: int = 0
    gc_full: int = 0
    gc_longest_ms: float = 0.0
    gc_total_ms: float = 0.0

    @property
    def lost(self) -> int:
        return max(self.sent - self.delivered, 0)


@dataclass(slots=True)
class RunResult:
    client: str
    loop: str
    devices: int
    rss_per_connection: float = 0.0
    idle_seconds: float = 0.0
    idle_cpu: float = 0.0
    heartbeats: int = 0
    storms: list[StormResult] = field(default_factory=list)
    note: str = ""


class Client(Protocol):
    consumers: tuple[str, ...]

    def build(self, entries: Sequence[DeviceEntry]) -> None: ...
    async def connect(self) -> None: ...
    async def consume(self, consumer: str, recorder: Recorder) -> None: ...
    async def stop_consuming(self) -> None: ...
    async def close(self) -> None: ...


# -- ours ------------------------------------------------------------------------------------


class Ours:
    consumers: tuple[str, ...] = ("callback", "stream", "fleet")

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._devices: list[DeviceAsync] = []
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._fleet: Fleet | None = None

    def build(self, entries: Sequence[DeviceEntry]) -> None:
        for entry in entries:
            device = DeviceAsync(
                entry.dev_id,
                entry.host,
                entry.key,
                version=entry.version,
                persist=True,
                port=entry.port,
                connection_timeout=self._config.timeout,
            )
            dps = query_dps(entry)
            if dps is not None:
                device.set_dpsUsed(dict(dps))
            self._devices.append(device)

    async def connect(self) -> None:
        results = await asyncio.gather(*(d.connect() for d in self._devices), return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} devices did not connect: {failed[0]!r}")

    async def consume(self, consumer: str, recorder: Recorder) -> None:
        if consumer == "callback":

            def on_update(update: DeviceUpdate) -> None:
                recorder.dps(update.changed)

            self._unsubscribe = [d.subscribe(on_update) for d in self._devices]
            return

        if consumer == "fleet":  # one Fleet.updates() stream and one task for every device
            fleet = self._fleet = Fleet(self._devices, min_interval=0, max_waiting=None)

            async def drain_fleet() -> None:
                async for update in fleet.updates():
                    recorder.dps(update.changed)

            self._tasks = [asyncio.get_running_loop().create_task(drain_fleet())]
            await asyncio.sleep(0)
            return

        async def drain(device: DeviceAsync) -> None:
            async for update in device.updates():
                recorder.dps(update.changed)

        self._tasks = [asyncio.get_running_loop().create_task(drain(d)) for d in self._devices]
        await asyncio.sleep(0)  # every stream subscribed before the storm starts

    async def stop_consuming(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._fleet is not None:  # detach it: the devices stay connected
            for dev_id in self._fleet.ids:
                await self._fleet.remove(dev_id, close=False)
            self._fleet = None

    async def close(self) -> None:
        await asyncio.gather(*(d.close() for d in self._devices))


# -- the peers ------------------------------------------------------------------------------


class _Peer:
    """A peer's devices, and the recorder its receiving side hands each push to."""

    consumers: tuple[str, ...] = ("receive",)

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._devices: list[Any] = []
        self._recorder = Recorder()

    async def consume(self, consumer: str, recorder: Recorder) -> None:
        self._recorder = recorder

    async def stop_consuming(self) -> None:
        self._recorder = Recorder()


class _ThreadedPeer(_Peer):
    """A peer whose pushes are read by a thread of its own until :meth:`_stop_thread`."""

    def __init__(self, config: ClientConfig) -> None:
        super().__init__(config)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stop_thread(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Monitor(_ThreadedPeer):
    """Persistent ``tinytuya.Device`` objects and one receive thread over all their sockets."""

    def build(self, entries: Sequence[DeviceEntry]) -> None:
        import tinytuya  # noqa: PLC0415 - the referee, imported where it is used

        for entry in entries:
            dps = query_dps(entry)
            device = tinytuya.Device(
                entry.dev_id,
                address=entry.host,
                local_key=entry.key,
                version=None if dps is not None else float(entry.version),
                persist=True,
                port=entry.port,
                connection_timeout=self._config.timeout,
            )
            if dps is not None:
                device.set_dpsUsed(dict(dps))
                device.set_version(float(entry.version))
            device.set_sendWait(None)
            self._devices.append(device)

    async def connect(self) -> None:
        import concurrent.futures  # noqa: PLC0415

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            results = list(pool.map(lambda d: d.status(), self._devices))
        bad = [r for r in results if not (isinstance(r, dict) and "dps" in r)]
        if bad:
            raise RuntimeError(f"{len(bad)} tinytuya devices did not answer: {bad[0]!r}")
        self._thread = threading.Thread(target=self._run, name="bench-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        for device in self._devices:
            selector.register(device.socket, selectors.EVENT_READ, device)
        now = time.monotonic()
        step = HEARTBEAT_INTERVAL / max(len(self._devices), 1)
        due = [(now + HEARTBEAT_INTERVAL + i * step, i) for i in range(len(self._devices))]
        heapq.heapify(due)
        while not self._stop.is_set():
            wait = max(0.0, min(due[0][0] - time.monotonic(), 0.1))
            for key, _ in selector.select(wait):
                self._recorder.result(key.data.receive())
            now = time.monotonic()
            while due and due[0][0] <= now:
                _, index = heapq.heappop(due)
                self._devices[index].heartbeat(nowait=True)
                heapq.heappush(due, (now + HEARTBEAT_INTERVAL, index))
        selector.close()

    async def close(self) -> None:
        self._stop_thread()
        for device in self._devices:
            device.close()


# -- tinytuya-async -----------------------------------------------------------------------------


class TinytuyaAsync(_Peer):
    def __init__(self, config: ClientConfig) -> None:
        super().__init__(config)
        self._tasks: list[asyncio.Task[None]] = []

    def build(self, entries: Sequence[DeviceEntry]) -> None:
        self._devices = [tinytuya_async_device(entry, self._config) for entry in entries]

    async def connect(self) -> None:
        results = await asyncio.gather(*(d.open() for d in self._devices))
        if any(results):
            raise RuntimeError(f"{sum(1 for r in results if r)} tinytuya-async devices did not connect")
        loop = asyncio.get_running_loop()
        step = HEARTBEAT_INTERVAL / max(len(self._devices), 1)
        for index, device in enumerate(self._devices):
            self._tasks.append(loop.create_task(self._receive_loop(device)))
            self._tasks.append(loop.create_task(self._heartbeat_loop(device, index * step)))

    async def _receive_loop(self, device: Any) -> None:
        while True:
            self._recorder.result(await device.receive(timeout=None))

    @staticmethod
    async def _heartbeat_loop(device: Any, offset: float) -> None:
        await asyncio.sleep(HEARTBEAT_INTERVAL + offset)
        while True:
            await device.heartbeat()
            await asyncio.sleep(HEARTBEAT_INTERVAL)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*(d.close() for d in self._devices), return_exceptions=True)


# -- rustuya --------------------------------------------------------------------------------------


class Rustuya(_ThreadedPeer):
    consumers: tuple[str, ...] = ("listener",)

    def build(self, entries: Sequence[DeviceEntry]) -> None:
        self._devices = [rustuya_device(entry, self._config, nowait=True) for entry in entries]

    async def connect(self) -> None:
        import rustuya  # noqa: PLC0415 - optional peer

        await asyncio.to_thread(wait_connected, self._devices, CONNECT_TIMEOUT)
        listener = rustuya.unified_listener(self._devices)
        self._thread = threading.Thread(target=self._run, args=(listener,), name="bench-rustuya", daemon=True)
        self._thread.start()

    def _run(self, listener: Any) -> None:
        while not self._stop.is_set():
            event = listener.recv(100)
            if isinstance(event, dict):
                self._recorder.result(event.get("payload"))

    async def close(self) -> None:
        self._stop_thread()
        for device in self._devices:
            device.stop()


def make_client(name: str, config: ClientConfig) -> Client:
    kinds: dict[str, Callable[[ClientConfig], Client]] = {
        "ours": Ours,
        "monitor": Monitor,
        "tinytuya-async": TinytuyaAsync,
        "rustuya": Rustuya,
    }
    return kinds[name](config)


# -- one client, in its own process ----------------------------------------------------------------


def _percentile(values: Sequence[int], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] / 1e6


def _answer(line: str) -> dict[str, float]:
    return {k: float(v) for k, v in (item.split("=", 1) for item in line.split()[1:])}


async def _storm(
    fleet: FleetProcess, client: Client, consumer: str, rate: float, seconds: float
) -> StormResult:
    recorder = Recorder()
    await client.consume(consumer, recorder)
    gc.collect()
    try:
        with GcPauses() as pauses:
            cpu0 = cpu_seconds()
            answer = _answer(
                await asyncio.to_thread(fleet.command, f"storm {rate:g} {seconds:g}", timeout=seconds + 60)
            )
            sent = int(answer["sent"])
            waited = time.monotonic()
            seen = len(recorder.latencies)
            while seen < sent:
                await asyncio.sleep(_DRAIN_POLL)
                if len(recorder.latencies) > seen:
                    seen, waited = len(recorder.latencies), time.monotonic()
                elif time.monotonic() - waited > DRAIN_TIMEOUT:
                    break
            cpu = cpu_seconds() - cpu0
    finally:
        await client.stop_consuming()
    latencies = recorder.latencies
    return StormResult(
        consumer,
        rate,
        answer["seconds"],
        sent,
        int(answer["skipped"]),
        len(latencies),
        cpu,
        _percentile(latencies, 0.50),
        _percentile(latencies, 0.99),
        pauses.count,
        pauses.full,
        1e3 * pauses.longest,
        1e3 * pauses.total,
    )


async def run_one(args: argparse.Namespace, fleet: FleetProcess) -> RunResult:
    config = ClientConfig(timeout=args.timeout)
    result = RunResult(args.child, args.loop, len(fleet.devices))
    gc.collect()
    before = rss_bytes()
    client = make_client(args.child, config)
    client.build(fleet.devices)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await client.connect()
        await asyncio.sleep(1.0)  # let the handshakes' leftovers go
        gc.collect()
        if args.gc_freeze:  # the README's advice for long-lived fleets
            gc.freeze()
        result.rss_per_connection = (rss_bytes() - before) / len(fleet.devices)
        heartbeats0 = _answer(await asyncio.to_thread(fleet.command, "stats", timeout=30))["heartbeats"]
        cpu0 = cpu_seconds()
        await asyncio.sleep(args.idle)
        result.idle_cpu = cpu_seconds() - cpu0
        result.idle_seconds = args.idle
        heartbeats1 = _answer(await asyncio.to_thread(fleet.command, "stats", timeout=30))["heartbeats"]
        result.heartbeats = int(heartbeats1 - heartbeats0)
        for consumer in client.consumers:
            for rate in args.rates:
                storm = await _storm(fleet, client, consumer, rate, args.storm)
                result.storms.append(storm)
                print(
                    f"  {args.child}/{args.loop} {consumer} rate {rate:g}: {storm}",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        await client.close()
    return result


def child_main(args: argparse.Namespace) -> int:
    raise_nofile_limit(_FDS_BASE + _FDS_PER_DEVICE * args.devices)
    split = None if args.no_pin else split_cpus()
    if split is not None:
        os.sched_setaffinity(0, split[0])
    with FleetProcess(
        args.devices, seed=args.seed, cpus=split[1] if split else None, module="bench.fleetd", control=True
    ) as fleet:
        factory = None
        if args.loop == "uvloop":
            import uvloop  # noqa: PLC0415 - optional (the speed extra)

            factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            result = runner.run(run_one(args, fleet))
    print(json.dumps(asdict(result)), flush=True)
    return 0


# -- the whole run ---------------------------------------------------------------------------------


def _rates(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.persistent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--clients", default=",".join(CLIENTS), help=f"comma list of {', '.join(CLIENTS)}")
    parser.add_argument("--loops", default="asyncio,uvloop", help="event loops of the asyncio clients")
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle measurement (default 30)")
    parser.add_argument("--rates", type=_rates, default=[2000.0, 5000.0, 0.0], help="pushes/s; 0 = max")
    parser.add_argument("--storm", type=float, default=5.0, help="seconds per storm (default 5)")
    parser.add_argument("--timeout", type=float, default=5.0, help="connection_timeout, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() once connected (the README's advice)"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--child", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--loop", default="asyncio", help=argparse.SUPPRESS)
    return parser


def _rate_text(rate: float) -> str:
    return "max" if rate <= 0 else f"{rate:,.0f}/s"


def render(results: Sequence[RunResult], machine: dict[str, str], command: str) -> str:
    lines = [
        "# Persistent fleet",
        "",
        "## Machine",
        "",
        report.machine_lines(machine),
        "",
        f"`{command}`",
        "",
    ]
    lines += [
        "## Memory and idle cost",
        "",
        "| client | loop | N | RSS per connection KiB | idle CPU, % of a core "
        "| heartbeats received per device |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.note:
            lines.append(f"| {r.client} | {r.loop} | {r.devices} | {r.note} | | |")
            continue
        lines.append(
            f"| {r.client} | {r.loop} | {r.devices} | {r.rss_per_connection / 1024:.1f} "
            f"| {100 * r.idle_cpu / r.idle_seconds:.2f} "
            f"| {r.heartbeats / r.devices:.1f} in {r.idle_seconds:g} s |"
        )
    lines += [
        "",
        "## Push storms",
        "",
        "| client | loop | consumer | rate | achieved /s | delivered | lost | skipped by devices "
        "| CPU µs per push | p50 ms | p99 ms | collections (full) | longest GC pause ms |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for s in r.storms:
            per_push = 1e6 * s.cpu / s.delivered if s.delivered else float("nan")
            lines.append(
                f"| {r.client} | {r.loop} | {s.consumer} | {_rate_text(s.rate)} | {s.sent / s.seconds:,.0f} "
                f"| {s.delivered:,} | {s.lost:,} | {s.skipped:,} | {per_push:.0f} "
                f"| {s.p50_ms:.2f} | {s.p99_ms:.2f} | {s.gc_collections} ({s.gc_full}) "
                f"| {s.gc_longest_ms:.1f} |"
            )
    return "\n".join(lines) + "\n"


def _run_child(args: argparse.Namespace, client: str, loop: str, argv: Sequence[str]) -> RunResult:
    command = [sys.executable, "-m", "bench.persistent", *argv, "--child", client, "--loop", loop]
    budget = (
        CONNECT_TIMEOUT
        + args.idle
        + len(args.rates) * len(Ours.consumers) * (args.storm + DRAIN_TIMEOUT + 60)
        + 120
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=budget, check=False)
    sys.stderr.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return RunResult(client, loop, args.devices, note=f"FAILED: {tail[0][:120]}")
    data = json.loads(lines[-1])
    storms = [StormResult(**s) for s in data.pop("storms")]
    return RunResult(**data, storms=storms)


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(raw)
    if args.child:
        return child_main(args)
    clients = [c for c in args.clients.split(",") if c]
    loops = [loop for loop in args.loops.split(",") if loop]
    if "uvloop" in loops and not installed("uvloop"):
        loops.remove("uvloop")
    machine = report.machine_info()
    results: list[RunResult] = []
    for client in clients:
        if client not in CLIENTS:
            print(f"unknown client {client}", file=sys.stderr)
            return 2
        if not installed(PEER_MODULES.get(client, "tinytuya_asyncio")):
            print(f"note: {client} is not installed (pip install -e '.[bench]'): left out", file=sys.stderr)
            continue
        for loop in loops if client in LOOP_CLIENTS else ["threads"]:
            print(f"{client} ({loop}): {args.devices} devices", file=sys.stderr, flush=True)
            child_argv = [a for a in raw if a != "--no-write"]
            results.append(_run_child(args, client, "asyncio" if loop == "threads" else loop, child_argv))
            if loop == "threads":
                results[-1].loop = "threads"
    command = " ".join(["python -m bench.persistent", *raw])
    markdown = render(results, machine, command)
    print(markdown)
    if not args.no_write:
        stem = "persistent-" + time.strftime("%Y%m%d-%H%M%S")
        payload = json.dumps(
            {"machine": machine, "command": command, "results": [asdict(r) for r in results]}
        )
        for path in report.write(args.output_dir, stem, markdown, payload + "\n"):
            print(f"wrote {path}", file=sys.stderr)
    return 1 if any(r.note for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
