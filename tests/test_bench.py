"""``make bench`` keeps working: a tiny run where every client must get a valid answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_client_answers_in_a_tiny_benchmark() -> None:
    # bench.run exits 1 when any client got a missing or invalid answer in any pass.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--devices",
            "10",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--clients",
            "ours,sync,core,floor",
            "--no-write",
            "--no-pin",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 10 |")]
    assert len(rows) == 8  # four clients, cold and warm
    assert all("10/10" in row for row in rows), rows


def test_the_scan_benchmark_identifies_every_device() -> None:
    # bench.scan exits 1 when a sweep misses or fails to identify a device.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.scan",
            "--devices",
            "5",
            "--ranges",
            "8",
            "--concurrency",
            "4",
            "--runs",
            "1",
            "--no-write",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| 8 | 5 | 4 |" in done.stdout
    assert "| 5/5 |" in done.stdout
