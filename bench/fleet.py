"""Start and stop the simulated fleet in a separate process (loopback, ephemeral ports).

The fleet is ``python -m tinytuya_asyncio.simulator`` run as a child process: it prints one
line once every device listens, writes a devices file, and serves until SIGTERM. The
benchmark process never serves devices itself, so its CPU time is the client's alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

#: How long a fleet may take to print its ready line (500 devices start in about a second).
READY_TIMEOUT: Final = 60.0
#: How long a fleet may take to exit after SIGTERM before it is killed.
STOP_TIMEOUT: Final = 30.0
#: Longest ready line we accept (the simulator prints one short line).
_MAX_LINE: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class DeviceEntry:
    """One simulated device, as the devices file describes it."""

    dev_id: str
    key: str = field(repr=False)  # keys stay out of reprs, even simulated ones
    host: str
    port: int
    version: str

    @property
    def key_bytes(self) -> bytes:
        return self.key.encode("latin1")


class FleetProcess:
    """The simulator CLI as a child process; use as a context manager.

    ``fixed_nonces`` passes ``--bench-fixed-nonces`` so that the floor client can precompute
    its 3.4/3.5 frames (see :mod:`bench.frames`). Every device is a plain 3.1-3.5 device
    (``--device22 0``); 3.2 devices are device22 by nature and are queried as such.
    ``cpus`` pins the fleet to those CPUs.
    """

    def __init__(
        self,
        count: int,
        *,
        versions: str = "mixed",
        seed: int = 0,
        fixed_nonces: bool = True,
        ready_timeout: float = READY_TIMEOUT,
        cpus: frozenset[int] | None = None,
        host: str = "127.0.0.1",
        extra_args: Sequence[str] = (),
        module: str = "tinytuya_asyncio.simulator",
        control: bool = False,
    ) -> None:
        self.count = count
        #: Where the devices listen (the first address in ``--address-mode ips``).
        self.host = host
        #: More simulator arguments (``--address-mode ips --port N``, say).
        self.extra_args = tuple(extra_args)
        #: The fleet's program: the simulator, or ``bench.fleetd`` (reply delay, push storms).
        self.module = module
        #: Keep a pipe to the fleet's standard input for :meth:`command` (``bench.fleetd``).
        self.control = control
        self._out = b""
        self.versions = versions
        self.seed = seed
        self.fixed_nonces = fixed_nonces
        self.ready_timeout = ready_timeout
        #: CPUs the fleet may run on (``None``: wherever the scheduler puts it).
        self.cpus = cpus
        self.ready_line = ""
        self.devices: list[DeviceEntry] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._stderr: IO[bytes] | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> list[DeviceEntry]:
        """Start the fleet, wait for its ready line, and read its devices file."""
        if self._proc is not None:
            raise RuntimeError("the fleet is already running")
        self._tmp = tempfile.TemporaryDirectory(prefix="tinytuya-bench-")
        devices_file = Path(self._tmp.name) / "devices.json"
        self._stderr = (Path(self._tmp.name) / "simulator.err").open("w+b")
        argv = [
            sys.executable,
            "-m",
            self.module,
            "--count",
            str(self.count),
            "--versions",
            self.versions,
            "--device22",
            "0",
            "--seed",
            str(self.seed),
            "--host",
            self.host,
            "--devices-file",
            str(devices_file),
            *self.extra_args,
        ]
        if self.fixed_nonces:
            argv.append("--bench-fixed-nonces")
        self._proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.PIPE if self.control else subprocess.DEVNULL,
        )
        try:
            if self.cpus:
                os.sched_setaffinity(self._proc.pid, self.cpus)
            self.ready_line = self._wait_ready()
            self.devices = _read_devices(devices_file)
        except BaseException:
            self.stop()
            raise
        if len(self.devices) != self.count:
            self.stop()
            raise RuntimeError(f"asked for {self.count} devices, the fleet reports {len(self.devices)}")
        return self.devices

    def _read_line(self, timeout: float, what: str) -> str:
        proc = self._proc
        assert proc is not None
        assert proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._out:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"the simulator printed no {what} within {timeout:g} s")
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    proc.wait(timeout=STOP_TIMEOUT)
                    raise RuntimeError(f"the simulator exited ({proc.returncode}): {self._errors()}")
                self._out += chunk
                if len(self._out) > _MAX_LINE:
                    raise RuntimeError(f"the simulator's {what} is too long")
        line, self._out = self._out.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def command(self, line: str, *, timeout: float) -> str:
        """Send one command line to a ``control=True`` fleet and return its one-line answer."""
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise RuntimeError("the fleet is not running with control=True")
        proc.stdin.write(line.encode("ascii") + b"\n")
        proc.stdin.flush()
        return self._read_line(timeout, f"answer to {line.split(maxsplit=1)[0]!r}")

    def _wait_ready(self) -> str:
        line = self._read_line(self.ready_timeout, "ready line")
        if not line.startswith("simulator ready:"):
            raise RuntimeError(f"unexpected simulator output: {line!r}; {self._errors()}")
        return line

    def _errors(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read(_MAX_LINE).decode("utf-8", "replace").strip()

    def stop(self) -> int | None:
        """SIGTERM the fleet and wait for it (killed if it hangs); idempotent. Returns its exit code."""
        proc, self._proc = self._proc, None
        code: int | None = None
        if proc is not None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=STOP_TIMEOUT)
            code = proc.returncode
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        return code


def split_cpus() -> tuple[frozenset[int], frozenset[int]] | None:
    """(client CPUs, fleet CPUs): the usable CPUs split in two, or ``None`` with fewer than two."""
    usable = sorted(os.sched_getaffinity(0))
    if len(usable) < 2:
        return None
    half = len(usable) // 2
    return frozenset(usable[:half]), frozenset(usable[half:])


def _read_devices(path: Path) -> list[DeviceEntry]:
    entries = json.loads(path.read_text(encoding="utf-8"))
    return [
        DeviceEntry(
            dev_id=str(entry["id"]),
            key=str(entry["key"]),
            host=str(entry["ip"]),
            port=int(entry["port"]),
            version=str(entry["version"]),
        )
        for entry in entries
        if entry.get("port") and not entry.get("sub")
    ]
