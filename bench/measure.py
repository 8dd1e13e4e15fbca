"""Timing: wall clock and this process's CPU time (user + system, every thread), and medians."""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self


def cpu_seconds() -> float:
    """User + system CPU seconds used so far by this process, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.wall`` and ``sw.cpu`` in seconds."""

    __slots__ = ("_cpu0", "_wall0", "cpu", "wall")

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self._wall0 = 0.0
        self._cpu0 = 0.0

    def __enter__(self) -> Self:
        self._cpu0 = cpu_seconds()
        self._wall0 = time.perf_counter()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.wall = time.perf_counter() - self._wall0
        self.cpu = cpu_seconds() - self._cpu0


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed pass over every device: a cold run or a warm round."""

    wall: float
    cpu: float
    #: Devices that answered with a valid status.
    ok: int
    total: int
    #: Why some did not (error codes, exception names), counted.
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.ok == self.total


def count_errors(reasons: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for reason in reasons:
        counts[reason] = counts.get(reason, 0) + 1
    return counts


@dataclass(slots=True)
class Series:
    """The samples of one client, one mode, one fleet size."""

    client: str
    mode: str
    devices: int
    samples: list[Sample] = field(default_factory=list)
    #: Set when the client could not even start (connect failures in warm mode, say).
    failure: str | None = None

    @property
    def complete(self) -> bool:
        return self.failure is None and bool(self.samples) and all(s.complete for s in self.samples)

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def cpu_range(self) -> tuple[float, float]:
        values = [s.cpu for s in self.samples]
        return min(values), max(values)

    @property
    def min_ok(self) -> int:
        return min((s.ok for s in self.samples), default=0)

    def errors(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for sample in self.samples:
            for reason, count in sample.errors.items():
                merged[reason] = merged.get(reason, 0) + count
        return merged
