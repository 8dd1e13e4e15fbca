"""``make soak``: a fleet of persistent devices under random faults, pushes, controls and polls.

One process, one event loop: simulated devices (with a write log) and the library's clients.
For the whole run a few percent of the devices misbehave at any time, each with one fault of
the simulator's set for a few seconds, while the application polls, controls and receives
pushes. At the end the run asserts:

* every control either reached the device exactly once and was answered, or returned an
  error dict and reached the device at most once: none lost, none carried out twice;
* every device was back to CONNECTED within the recovery bound after its fault ended, and
  answers a status at the end;
* nothing of ours is left once everything is closed: no task, socket or timer;
* resident memory grew by less than 5 % between the end of the warm-up and the end.

Loopback only, ephemeral ports. ``python -m bench.soak --minutes 1`` is the smoke run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import itertools
import os
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from tinytuya_asyncio import Backoff, ConnectionState, DeviceAsync, StateChange
from tinytuya_asyncio.simulator import Faults, SimulatedDevice, Simulator, raise_nofile_limit

#: The data point controls write: every control a value of its own, so each can be traced.
CONTROL_DP: Final = "9"
PUSH_DP: Final = "18"


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """How the soak's devices are configured: a fault must not need minutes to heal."""

    timeout: float = 2.0
    retry_delay: float = 0.5
    backoff: Backoff = field(default_factory=lambda: Backoff(floor=0.5, cap=5.0))
    heartbeat: float = 10.0

    @property
    def recovery_bound(self) -> float:
        """How soon a device must be CONNECTED again after its fault ends: the longest
        backoff (cap plus jitter), then a connect and a handshake within the timeout each."""
        return self.backoff.cap * (1 + self.backoff.jitter) + 2 * self.timeout + self.retry_delay


DEFAULT_SETTINGS: Final = ClientSettings()
#: Runs shorter than this skip the memory check: a warm-up that short is still warming up.
RSS_CHECK_MIN_SECONDS: Final = 60.0
#: Operations in flight at once, so that the workload cannot pile up without bound.
CONCURRENCY: Final = 200
#: Resident memory may grow this much between the end of the warm-up and the end.
RSS_GROWTH_LIMIT: Final = 0.05


def _set(faults: Faults, **values: Any) -> Callable[[], None]:
    def apply() -> None:
        for name, value in values.items():
            setattr(faults, name, value)

    return apply


#: Fault name -> how to switch it on for a device, given the client timeout (switched off by
#: ``Faults.clear``).
FAULTS: Final[dict[str, Callable[[Faults, float], Callable[[], None]]]] = {
    "slow": lambda f, timeout: _set(f, reply_delay=timeout * 1.5),
    "silent": lambda f, _: _set(f, silent=True),
    "cut": lambda f, _: _set(f, close_mid_frame=True),
    "garbage": lambda f, _: _set(f, garbage=True),
    "corrupt": lambda f, _: _set(f, corrupt_integrity=True),
    "drop": lambda f, _: _set(f, drop_after_frames=1),
    "held": lambda f, _: _set(f, refuse_connections=True),  # another client holds the device (see _faults)
    "unread": lambda f, _: _set(f, drop_requests=3),
}
REBOOT: Final = "reboot"  # not a Faults field: the device stops listening, then comes back


@dataclass(slots=True)
class Tracked:
    """One client device and what happened to it."""

    client: DeviceAsync
    sim: SimulatedDevice
    state: ConnectionState = ConnectionState.DISCONNECTED
    faulty_until: float = 0.0
    #: Fault end times whose recovery has not been seen yet.
    awaiting: list[float] = field(default_factory=list)
    pushes: int = 0


@dataclass(slots=True)
class Report:
    devices: int
    seconds: float
    recovery_bound: float
    polls: int = 0
    poll_errors: int = 0
    controls: int = 0
    control_errors: int = 0
    pushes_sent: int = 0
    pushes_received: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    recoveries: list[float] = field(default_factory=list)
    unrecovered: int = 0
    lost: int = 0
    twice: int = 0
    final_failures: int = 0
    #: (seconds into the run, resident bytes as found, resident bytes once the allocator has
    #: handed back what it holds free).
    rss: list[tuple[float, int, int]] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    @property
    def rss_growth(self) -> float:
        """Growth of the memory the process holds (trimmed RSS) from the warm-up to the end."""
        return self._growth(2)

    @property
    def raw_rss_growth(self) -> float:
        """The same, as RSS reads before the allocator hands free memory back."""
        return self._growth(1)

    def _growth(self, column: int) -> float:
        if len(self.rss) < 2:
            return 0.0
        warm = self.rss[0][column]
        return (self.rss[-1][column] - warm) / warm

    def problems(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{self.lost} answered controls never reached the device")
        if self.twice:
            found.append(f"{self.twice} controls were carried out twice")
        if self.unrecovered:
            found.append(f"{self.unrecovered} devices not CONNECTED within {self.recovery_bound:.1f} s")
        if self.recoveries and max(self.recoveries) > self.recovery_bound:
            slowest = max(self.recoveries)
            found.append(f"slowest recovery {slowest:.1f} s > {self.recovery_bound:.1f} s")
        if self.final_failures:
            found.append(f"{self.final_failures} devices failed the final status")
        if self.seconds >= RSS_CHECK_MIN_SECONDS and self.rss_growth >= RSS_GROWTH_LIMIT:
            found.append(f"resident memory grew {self.rss_growth:.1%} after the warm-up")
        found.extend(self.leaks)
        return found

    def markdown(self) -> str:
        answered = self.controls - self.control_errors
        recoveries = sorted(self.recoveries)
        p50 = statistics.median(recoveries) if recoveries else 0.0
        p99 = recoveries[int(len(recoveries) * 0.99)] if recoveries else 0.0
        faults = ", ".join(f"{name} {n}" for name, n in sorted(self.faults.items()))
        if self.rss:
            (_, raw_warm, warm), (_, raw_end, end) = self.rss[0], self.rss[-1]
            rss = f"{warm / 2**20:.1f} / {end / 2**20:.1f} MiB ({self.rss_growth:+.1%})"
            raw = f"{raw_warm / 2**20:.1f} / {raw_end / 2**20:.1f} MiB ({self.raw_rss_growth:+.1%})"
        else:
            rss = raw = "not sampled"
        rows = [
            ("devices", f"{self.devices} (persistent, mixed 3.1-3.5)"),
            ("run", f"{self.seconds:.0f} s"),
            ("polls", f"{self.polls} ({self.poll_errors} error dicts)"),
            ("controls", f"{self.controls} ({answered} answered, {self.control_errors} error dicts)"),
            ("controls lost / carried out twice", f"{self.lost} / {self.twice}"),
            ("pushes sent / updates received", f"{self.pushes_sent} / {self.pushes_received}"),
            ("faults", f"{sum(self.faults.values())}: {faults}"),
            (
                "recovery after a fault, p50 / p99 / max",
                f"{p50:.2f} / {p99:.2f} / {max(recoveries, default=0.0):.2f} s",
            ),
            ("recovery bound", f"{self.recovery_bound:.1f} s"),
            ("devices not recovered in time", str(self.unrecovered)),
            ("final status failures", str(self.final_failures)),
            ("resident memory after warm-up / at the end", rss),
            ("the same before the allocator hands free memory back", raw),
            ("leaks after close", "none" if not self.leaks else "; ".join(self.leaks)),
        ]
        return "\n".join(["| | |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)])


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _trim() -> None:
    """Collect garbage and have glibc hand free heap memory back to the system.

    Without it, RSS also counts memory freed long ago that glibc keeps for reuse (the churn
    of thousands of reconnects, each with its cipher contexts, leaves its heap fragmented): a
    ten-minute run read +6.7 % that way while the memory in use grew 1.1 %.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _rss_sample() -> tuple[int, int]:
    raw = _rss()
    _trim()
    return raw, _rss()


def _open_sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return count


def _our_timers(loop: asyncio.AbstractEventLoop) -> int:
    # The default loop keeps its timers in _scheduled; this soak runs on it on purpose.
    scheduled: list[asyncio.TimerHandle] = getattr(loop, "_scheduled", [])
    live = [handle for handle in scheduled if not handle.cancelled()]
    owners = (type(getattr(getattr(handle, "_callback", None), "__self__", None)) for handle in live)
    return sum(1 for owner in owners if owner.__module__.startswith("tinytuya_asyncio"))


class Soak:
    """The run: see the module docstring."""

    def __init__(
        self,
        *,
        devices: int,
        seconds: float,
        fault_share: float,
        seed: int,
        settings: ClientSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.seconds = seconds
        self.settings = settings
        self.bound = settings.recovery_bound
        self.fault_share = fault_share
        self.rng = random.Random(seed)
        self.count = devices
        self.report = Report(devices=devices, seconds=seconds, recovery_bound=self.bound)
        self.tracked: list[Tracked] = []
        self.values = itertools.count(1)
        self.slots = asyncio.Semaphore(CONCURRENCY)
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> Report:
        loop = asyncio.get_running_loop()
        raise_nofile_limit(self.count * 4 + 512)
        sockets_before = _open_sockets()
        async with Simulator(seed=self.rng.randrange(1 << 30)) as fleet:
            # The devices log every control (checked and dropped as each one returns) and no
            # requests: resident memory then tells what the clients keep.
            sims = await fleet.add_many(self.count, versions="mixed", record_writes=True, request_log=0)
            self.tracked = [Tracked(self._client(sim), sim) for sim in sims]
            for entry in self.tracked:
                entry.client.add_state_listener(self._listener(entry))
                entry.client.subscribe(self._push_counter(entry))
            await asyncio.gather(*(entry.client.connect() for entry in self.tracked))
            started = loop.time()
            warm_up = min(60.0, self.seconds / 3)
            inject_until = started + self.seconds - self.bound
            next_sample = started + warm_up
            while (now := loop.time()) < started + self.seconds:
                if now < inject_until:
                    await self._faults(now)
                else:
                    await self._heal(now, force=True)
                await self._heal(now)
                self._workload()
                if now >= next_sample:
                    self.report.rss.append((now - started, *_rss_sample()))
                    next_sample = now + 5.0
                await asyncio.sleep(0.1)
            await self._heal(loop.time(), force=True)
            if self.tasks:
                await asyncio.wait(self.tasks)
            window_ends = loop.time() + self.bound  # the last faults' recovery window
            while loop.time() < window_ends and any(entry.awaiting for entry in self.tracked):  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            self._settle_recoveries(loop.time())
            finals = await asyncio.gather(*(entry.client.status() for entry in self.tracked))
            self.report.final_failures = sum(1 for r in finals if not r or "Err" in r)
            self._check_stragglers()
            await asyncio.gather(*(entry.client.close() for entry in self.tracked))
        self._check_leaks(loop, sockets_before)
        return self.report

    # -- setup -----------------------------------------------------------------------------

    def _client(self, sim: SimulatedDevice) -> DeviceAsync:
        assert sim.port is not None
        settings = self.settings
        return DeviceAsync(
            sim.dev_id,
            sim.host or "127.0.0.1",
            sim.local_key,
            version=sim.version,
            port=sim.port,
            persist=True,
            connection_timeout=settings.timeout,
            connection_retry_limit=1,
            connection_retry_delay=settings.retry_delay,
            backoff=settings.backoff,
            heartbeat_interval=settings.heartbeat,
        )

    def _listener(self, entry: Tracked) -> Callable[[StateChange], None]:
        loop = asyncio.get_running_loop()

        def listener(change: StateChange) -> None:
            entry.state = change.state
            if change.state is ConnectionState.CONNECTED and entry.awaiting:
                now = loop.time()
                self.report.recoveries.extend(now - ended for ended in entry.awaiting)
                entry.awaiting.clear()

        return listener

    def _push_counter(self, entry: Tracked) -> Callable[[object], None]:
        def pushed(_update: object) -> None:
            entry.pushes += 1
            self.report.pushes_received += 1

        return pushed

    # -- faults ----------------------------------------------------------------------------

    async def _faults(self, now: float) -> None:
        faulty = sum(1 for entry in self.tracked if entry.faulty_until)
        wanted = int(self.count * self.fault_share)
        healthy = [e for e in self.tracked if not e.faulty_until and not e.awaiting]
        for entry in self.rng.sample(healthy, min(max(wanted - faulty, 0), len(healthy))):
            name = self.rng.choice([*FAULTS, REBOOT])
            entry.faulty_until = now + self.rng.uniform(2.0, 8.0)
            self.report.faults[name] += 1
            if name == REBOOT:
                await entry.sim.stop()
                continue
            FAULTS[name](entry.sim.faults, self.settings.timeout)()
            if name == "held":
                entry.sim.drop_clients()  # the other client took it from us

    async def _heal(self, now: float, *, force: bool = False) -> None:
        for entry in self.tracked:
            if entry.faulty_until and (force or now >= entry.faulty_until):
                entry.faulty_until = 0.0
                entry.sim.faults.clear()
                if not entry.sim.is_serving:
                    await entry.sim.start()
                if entry.state is not ConnectionState.CONNECTED:
                    entry.awaiting.append(now)

    def _settle_recoveries(self, now: float) -> None:
        for entry in self.tracked:
            late = [ended for ended in entry.awaiting if now - ended > self.bound]
            self.report.unrecovered += bool(late)

    # -- workload --------------------------------------------------------------------------

    def _workload(self) -> None:
        # Per 0.1 s tick: about 100 polls, 30 controls and 200 pushes a second in all.
        for _ in range(10):
            self._spawn(self._poll(self.rng.choice(self.tracked)))
        for _ in range(3):
            self._spawn(self._control(self.rng.randrange(self.count)))
        for _ in range(20):
            entry = self.rng.choice(self.tracked)
            if entry.sim.is_serving and entry.sim.connected_clients:
                self._spawn(self._push(entry))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _poll(self, entry: Tracked) -> None:
        async with self.slots:
            result = await entry.client.status()
        self.report.polls += 1
        self.report.poll_errors += bool(not result or "Err" in result)

    async def _control(self, index: int) -> None:
        value = next(self.values)
        entry = self.tracked[index]
        async with self.slots:
            result = await entry.client.set_value(CONTROL_DP, value)
        answered = bool(result) and "Err" not in (result or {})
        self.report.controls += 1
        self.report.control_errors += not answered
        # The device carries a control out when it reads it, before it answers: by the time
        # the call returns, every time it was done is in the log.
        times = self._take_writes(entry, value)
        if answered and times == 0:
            self.report.lost += 1
        if times > 1:
            self.report.twice += 1

    async def _push(self, entry: Tracked) -> None:
        self.report.pushes_sent += await entry.sim.push({PUSH_DP: self.rng.randrange(1000)})

    # -- checks ----------------------------------------------------------------------------

    @staticmethod
    def _take_writes(entry: Tracked, value: int) -> int:
        writes = entry.sim.state.writes
        if writes is None:
            return 0
        kept = [w for w in writes if w.get(CONTROL_DP) != value]
        times = len(writes) - len(kept)
        writes[:] = kept
        return times

    def _check_stragglers(self) -> None:
        """Writes of controls that had already returned: a control carried out late, again."""
        for entry in self.tracked:
            self.report.twice += sum(1 for w in entry.sim.state.writes or [] if CONTROL_DP in w)

    def _check_leaks(self, loop: asyncio.AbstractEventLoop, sockets_before: int) -> None:
        tasks = [t for t in asyncio.all_tasks(loop) if t is not asyncio.current_task() and not t.done()]
        if tasks:
            self.report.leaks.append(f"{len(tasks)} tasks left: {tasks[:3]}")
        sockets = _open_sockets()
        if sockets > sockets_before:
            self.report.leaks.append(f"{sockets - sockets_before} sockets left open")
        timers = _our_timers(loop)
        if timers:
            self.report.leaks.append(f"{timers} timers left")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the run (default 10)")
    parser.add_argument("--devices", type=int, default=1000, help="simulated devices (default 1000)")
    parser.add_argument("--fault-share", type=float, default=0.03, help="devices misbehaving at any time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, help="also write the report (markdown) here")
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    bound = DEFAULT_SETTINGS.recovery_bound
    if seconds <= bound * 2:
        parser.error(f"a run needs more than {bound * 2:.0f} s")
    started = time.perf_counter()
    soak = Soak(devices=args.devices, seconds=seconds, fault_share=args.fault_share, seed=args.seed)
    report = asyncio.run(soak.run())
    text = report.markdown()
    print(text)
    print(f"\n(wall time {time.perf_counter() - started:.0f} s)")
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    problems = report.problems()
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
