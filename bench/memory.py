"""``make bench-memory``: where the memory of a persistent connection goes, per connection.

    python -m bench.memory [--devices 1000] [--loop asyncio|uvloop] [--top 25] [--no-write]

Connects N persistent ``DeviceAsync`` (default heartbeats, mixed versions) to a fleet in
another process, twice:

1. **RSS** (no tracing): resident memory after building the device objects and after
   connecting them, minus before, per connection. This is what the process really pays,
   native allocations included (OpenSSL cipher contexts, the allocator's slack); the
   kernel's socket buffers are not in it.
2. **tracemalloc**, then: the Python heap per connection by source line and by file, a
   census of the new objects by type (``sys.getsizeof``), and a walk from every device
   object that charges each object it reaches to the component that owns it (device,
   link, connection, session, codec, ciphers, transport, socket, timers...), stopping at
   the event loop, modules, classes and functions' globals. Objects shared by devices are
   charged once, so they vanish in the per-connection figure. What the walk does not reach
   from a device (the loop's selector keys and timer heap entries, module registries) is
   the "held by the loop or a registry" row.

Also measured apart: the native size of the cipher objects a connection may hold
(cryptography's ECB contexts, AES-GCM, a keyed HMAC), as RSS per object over 5,000 of them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import types
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Final

from bench import report
from bench.fleet import DeviceEntry, FleetProcess, split_cpus
from bench.frames import query_dps
from bench.persistent import rss_bytes
from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio.connection.conn import TuyaConnection
from tinytuya_asyncio.connection.link import DeviceLink
from tinytuya_asyncio.connection.turns import Turns
from tinytuya_asyncio.devices.receiver import PushBacklog
from tinytuya_asyncio.devices.status_cache import StatusCache
from tinytuya_asyncio.devices.updates import UpdateHub
from tinytuya_asyncio.protocol.codec import Codec
from tinytuya_asyncio.protocol.crypto import KeyedCipher
from tinytuya_asyncio.protocol.frames import FrameReader
from tinytuya_asyncio.protocol.handshake import Handshake
from tinytuya_asyncio.protocol.payloads import PayloadBuilder
from tinytuya_asyncio.protocol.session import Session
from tinytuya_asyncio.simulator import raise_nofile_limit

RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
#: Seconds after connecting before measuring (the handshakes' leftovers go).
SETTLE: Final = 1.0
#: Cipher objects built to measure their native size.
NATIVE_SAMPLES: Final = 5000
_FDS_PER_DEVICE: Final = 3

#: Which component owns what the walk reaches from it, by type (first match along the path).
COMPONENTS: Final[tuple[tuple[type, str], ...]] = (
    (DeviceAsync, "device object (tinytuya attributes)"),
    (DeviceLink, "link (requests, reconnects)"),
    (TuyaConnection, "connection (protocol object)"),
    (Session, "session"),
    (Codec, "codec"),
    (KeyedCipher, "ciphers (Python objects)"),
    (FrameReader, "frame reader"),
    (Handshake, "handshake"),
    (UpdateHub, "update hub (callbacks, WeakSet)"),
    (Turns, "turns (request mutex)"),
    (PushBacklog, "receive() backlog"),
    (StatusCache, "status caches"),
    (PayloadBuilder, "payload builder"),
    (asyncio.TimerHandle, "loop timers"),
    (asyncio.Handle, "loop callbacks"),
    (socket.socket, "socket object"),
)
_TRANSPORT: Final = "asyncio transport"
_STOP_TYPES: Final = (type, types.ModuleType, types.CodeType, asyncio.AbstractEventLoop, types.FrameType)


def _component(obj: object, inherited: str) -> str:
    for kind, name in COMPONENTS:
        if isinstance(obj, kind):
            return name
    if "Transport" in type(obj).__name__ and hasattr(obj, "get_extra_info"):
        return _TRANSPORT
    return inherited


def _referents(obj: object) -> Iterator[object]:
    """What ``obj`` keeps alive that the walk follows (no globals, code or classes)."""
    if isinstance(obj, types.FunctionType):
        yield from obj.__closure__ or ()
        return
    if isinstance(obj, types.MethodType):
        yield obj.__self__
        return
    yield from gc.get_referents(obj)
    slots = getattr(type(obj), "__slots__", None)
    if slots and not gc.is_tracked(obj):
        for name in slots:
            value = getattr(obj, name, None)
            if value is not None:
                yield value


@dataclass(slots=True)
class Walk:
    """Bytes and objects per component, summed over every device walked."""

    sizes: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    by_type: Counter[tuple[str, str]] = field(default_factory=Counter)
    seen: set[int] = field(default_factory=set)

    def device(self, root: object) -> None:
        stack: list[tuple[object, str]] = [(root, "device object (tinytuya attributes)")]
        while stack:
            obj, inherited = stack.pop()
            if id(obj) in self.seen or isinstance(obj, _STOP_TYPES):
                continue
            self.seen.add(id(obj))
            name = _component(obj, inherited)
            size = sys.getsizeof(obj)
            self.sizes[name] += size
            self.counts[name] += 1
            self.by_type[(name, type(obj).__qualname__)] += size
            stack.extend((child, name) for child in _referents(obj))


def _ours(entry: DeviceEntry) -> DeviceAsync:
    device = DeviceAsync(
        entry.dev_id, entry.host, entry.key, version=entry.version, persist=True, port=entry.port
    )
    dps = query_dps(entry)
    if dps is not None:
        device.set_dpsUsed(dict(dps))
    return device


async def _connect(devices: Sequence[DeviceAsync]) -> None:
    results = await asyncio.gather(*(d.connect() for d in devices), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:
        raise RuntimeError(f"{len(failed)} devices did not connect: {failed[0]!r}")
    await asyncio.sleep(SETTLE)
    gc.collect()


def _census() -> Counter[str]:
    sizes: Counter[str] = Counter()
    objects = gc.get_objects()
    for obj in objects:
        if obj is objects:
            continue  # the census's own list
        sizes[f"{type(obj).__module__}.{type(obj).__qualname__}"] += sys.getsizeof(obj)
    return sizes


@dataclass(slots=True)
class Measured:
    devices: int
    rss_built: float = 0.0
    rss_connected: float = 0.0
    heap_built: float = 0.0
    heap_connected: float = 0.0
    lines: list[tuple[str, float, float]] = field(default_factory=list)
    files: list[tuple[str, float]] = field(default_factory=list)
    types: list[tuple[str, float]] = field(default_factory=list)
    walk: Walk = field(default_factory=Walk)
    native: list[tuple[str, float, float]] = field(default_factory=list)
    floor_rss: float = 0.0
    floor_heap: float = 0.0


async def measure(entries: Sequence[DeviceEntry], top: int) -> Measured:
    n = len(entries)
    out = Measured(n)
    # 1. RSS, untraced.
    gc.collect()
    rss0 = rss_bytes()
    devices = [_ours(e) for e in entries]
    gc.collect()
    rss1 = rss_bytes()
    await _connect(devices)
    rss2 = rss_bytes()
    out.rss_built, out.rss_connected = (rss1 - rss0) / n, (rss2 - rss1) / n
    await asyncio.gather(*(d.close() for d in devices))
    del devices
    gc.collect()
    # 2. tracemalloc, a census and the walk.
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    census0 = _census()
    devices = [_ours(e) for e in entries]
    gc.collect()
    built = tracemalloc.take_snapshot()
    await _connect(devices)
    connected = tracemalloc.take_snapshot()
    census1 = _census()
    out.heap_built = sum(s.size_diff for s in built.compare_to(base, "filename")) / n
    out.heap_connected = sum(s.size_diff for s in connected.compare_to(built, "filename")) / n
    ignore = (tracemalloc.Filter(False, __file__), tracemalloc.Filter(False, tracemalloc.__file__))
    since = connected.filter_traces(ignore).compare_to(base.filter_traces(ignore), "lineno")
    out.lines = [(str(s.traceback[0]), s.size_diff / n, s.count_diff / n) for s in since[:top]]
    by_file = connected.filter_traces(ignore).compare_to(base.filter_traces(ignore), "filename")
    out.files = [(str(s.traceback[0]).rsplit(":", 1)[0], s.size_diff / n) for s in by_file[:top]]
    grown = census1 - census0
    out.types = [(name, size / n) for name, size in grown.most_common(top)]
    for device in devices:
        out.walk.device(device)
    tracemalloc.stop()
    await asyncio.gather(*(d.close() for d in devices))
    return out


async def floor(entries: Sequence[DeviceEntry]) -> tuple[float, float]:
    """(RSS, traced heap) per bare ``asyncio.Protocol`` connection: what any asyncio client pays."""
    loop = asyncio.get_running_loop()
    gc.collect()
    rss0 = rss_bytes()
    tracemalloc.start()
    heap0 = tracemalloc.get_traced_memory()[0]
    kept = [await loop.create_connection(asyncio.Protocol, e.host, e.port) for e in entries]
    await asyncio.sleep(SETTLE)
    gc.collect()
    heap1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    rss1 = rss_bytes()
    for transport, _ in kept:
        transport.close()
    await asyncio.sleep(0.1)
    return (rss1 - rss0) / len(entries), (heap1 - heap0) / len(entries)


def _per_object(make: Callable[[], object]) -> tuple[float, float]:
    """(RSS bytes, traced Python bytes) per object, over :data:`NATIVE_SAMPLES` of them."""
    gc.collect()
    tracemalloc.start()
    rss0, heap0 = rss_bytes(), tracemalloc.get_traced_memory()[0]
    kept = [make() for _ in range(NATIVE_SAMPLES)]
    rss1, heap1 = rss_bytes(), tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (rss1 - rss0) / NATIVE_SAMPLES, (heap1 - heap0) / NATIVE_SAMPLES


def native_sizes() -> list[tuple[str, float, float]]:
    """What the cipher objects a connection may hold cost, native part included.

    Run it in a fresh process (``--native``): memory freed earlier would hide what they take.
    """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: PLC0415

    def key() -> bytes:
        return os.urandom(16)

    def ecb_pair() -> object:
        cipher = Cipher(algorithms.AES(key()), modes.ECB())
        return cipher, cipher.encryptor(), cipher.decryptor()

    def keyed_ecb() -> object:
        cipher = KeyedCipher(key())
        cipher.ecb_encrypt(b"x")
        cipher.ecb_decrypt(bytes(16))
        return cipher

    def keyed_gcm() -> object:
        cipher = KeyedCipher(key())
        cipher.gcm_encrypt(os.urandom(12), b"x", None)
        return cipher

    def keyed_hmac() -> object:
        return hmac.new(key(), digestmod=sha256)

    rows = []
    _per_object(ecb_pair)  # the first objects of a fresh process also pay for the heap's growth
    for name, make in (
        ("KeyedCipher with both ECB contexts (3.1-3.4)", keyed_ecb),
        ("Cipher + encryptor + decryptor (ECB)", ecb_pair),
        ("KeyedCipher with AES-GCM (3.5)", keyed_gcm),
        ("keyed HMAC-SHA256 state (3.4 frames)", keyed_hmac),
    ):
        rss, heap = _per_object(make)
        rows.append((name, rss, heap))
    return rows


def render(m: Measured, machine: dict[str, str], command: str) -> str:
    kib = 1024
    walked = sum(m.walk.sizes.values()) / m.devices
    heap = m.heap_built + m.heap_connected
    lines = ["# Memory per persistent connection", "", report.machine_lines(machine), "", f"`{command}`", ""]
    lines += [
        "| per connection | built (not connected) | connecting adds | total |",
        "|---|---:|---:|---:|",
        f"| RSS | {m.rss_built / kib:.1f} KiB | {m.rss_connected / kib:.1f} KiB "
        f"| **{(m.rss_built + m.rss_connected) / kib:.1f} KiB** |",
        f"| Python heap (tracemalloc) | {m.heap_built / kib:.1f} KiB | {m.heap_connected / kib:.1f} KiB "
        f"| {heap / kib:.1f} KiB |",
        f"| outside Python's allocator (RSS − heap) | | "
        f"| {(m.rss_built + m.rss_connected - heap) / kib:.1f} KiB |",
        f"| floor: a bare asyncio.Protocol connection, RSS | | | {m.floor_rss / kib:.1f} KiB |",
        f"| floor: a bare asyncio.Protocol connection, heap | | | {m.floor_heap / kib:.1f} KiB |",
        "",
        "## By component (walk from each device; getsizeof, Python objects only)",
        "",
        "| component | bytes per connection | objects per connection |",
        "|---|---:|---:|",
    ]
    for name, size in m.walk.sizes.most_common():
        lines.append(f"| {name} | {size / m.devices:,.0f} | {m.walk.counts[name] / m.devices:.1f} |")
    lines.append(f"| **reached from the device** | **{walked:,.0f}** | |")
    lines.append(f"| held by the loop or a registry (heap − walk) | {heap - walked:,.0f} | |")
    lines += ["", "### Largest types within components", "", "| component | type | bytes per connection |"]
    lines.append("|---|---|---:|")
    for (name, kind), size in m.walk.by_type.most_common(30):
        lines.append(f"| {name} | {kind} | {size / m.devices:,.0f} |")
    lines += [
        "",
        "## Python heap by source line (tracemalloc)",
        "",
        "| where | bytes | blocks |",
        "|---|---:|---:|",
    ]
    lines += [f"| {where} | {size:,.0f} | {count:.2f} |" for where, size, count in m.lines]
    lines += ["", "## By file", "", "| file | bytes per connection |", "|---|---:|"]
    lines += [f"| {where} | {size:,.0f} |" for where, size in m.files]
    lines += ["", "## New objects by type (gc census, getsizeof)", "", "| type | bytes per connection |"]
    lines.append("|---|---:|")
    lines += [f"| {name} | {size:,.0f} |" for name, size in m.types]
    lines += [
        "",
        f"## Cipher objects, native part included (RSS over {NATIVE_SAMPLES:,} objects)",
        "",
        "| object | RSS bytes each | of which Python heap |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {rss:,.0f} | {heap:,.0f} |" for name, rss, heap in m.native]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--native", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(raw)
    if args.native:
        print(json.dumps(native_sizes()))
        return 0
    if not args.floor:
        # Each in a fresh process: memory freed by an earlier measurement would hide theirs.
        base = [sys.executable, "-m", "bench.memory", "--devices", str(args.devices), "--loop", args.loop]
        native, floor_run = (
            subprocess.run([*base, flag], capture_output=True, text=True, check=True, timeout=300)
            for flag in ("--native", "--floor")
        )
    raise_nofile_limit(512 + _FDS_PER_DEVICE * args.devices)
    machine = report.machine_info()
    split = split_cpus()
    if split is not None:
        os.sched_setaffinity(0, split[0])
    factory = None
    if args.loop == "uvloop":
        import uvloop  # noqa: PLC0415 - optional (the speed extra)

        factory = uvloop.new_event_loop
    with (
        FleetProcess(args.devices, seed=args.seed, cpus=split[1] if split else None) as fleet,
        asyncio.Runner(loop_factory=factory) as runner,
    ):
        if args.floor:
            print(json.dumps(runner.run(floor(fleet.devices))))
            return 0
        measured = runner.run(measure(fleet.devices, args.top))
    measured.floor_rss, measured.floor_heap = json.loads(floor_run.stdout)
    measured.native = [(str(a), float(b), float(c)) for a, b, c in json.loads(native.stdout)]
    command = " ".join(["python -m bench.memory", *raw])
    markdown = render(measured, machine, command)
    print(markdown)
    if not args.no_write:
        stem = "memory-" + time.strftime("%Y%m%d-%H%M%S")
        for path in report.write(args.output_dir, stem, markdown, "{}\n"):
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
