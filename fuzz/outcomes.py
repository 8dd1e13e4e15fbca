"""What a fuzz case did: counted outcomes, and the violations of the invariant with their input.

A violation is anything but "parsed" or "ended through the funnel with a remote-protocol
error": an exception out of the protocol callback or the device layer, a funnel ending with
another error, an error logged at ERROR. Violations are grouped by a signature (the error
type and the innermost line of the package it came from), and the first input of each is
kept, so that one defect found a thousand times is reported once, with a reproducer.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final

from fuzz.inputs import KEY

_PACKAGE: Final = "tinytuya_asyncio"
#: Loggers whose ERROR records break the invariant (asyncio's: "Fatal error", "never retrieved").
WATCHED_LOGGERS: Final = (_PACKAGE, "asyncio")


@dataclass(frozen=True, slots=True)
class Case:
    """Enough to replay one input: where it went, in what state, and the reads."""

    target: str
    variant: str
    gateway: bool
    state: str
    request: str | None
    reads: tuple[bytes, ...]

    def describe(self) -> str:
        lines = [
            f"target={self.target} version={self.variant} gateway={self.gateway} state={self.state} "
            f"request={self.request} key={KEY.decode()}",
            *(f"read {i}: {piece.hex()}" for i, piece in enumerate(self.reads)),
        ]
        return "\n".join(lines)


@dataclass(slots=True)
class Violation:
    signature: str
    detail: str
    case: Case
    count: int = 1


@dataclass(slots=True)
class Tally:
    """Outcome counts and violations of one run."""

    frames: int = 0
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    violations: dict[str, Violation] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def violate(self, signature: str, detail: str, case: Case) -> None:
        known = self.violations.get(signature)
        if known is None:
            self.violations[signature] = Violation(signature, detail, case)
        else:
            known.count += 1

    def violate_exc(self, where: str, exc: BaseException, case: Case) -> None:
        self.violate(f"{where}: {signature(exc)}", f"{type(exc).__name__}: {str(exc)[:200]}", case)

    @property
    def violation_count(self) -> int:
        return sum(v.count for v in self.violations.values())

    def merge(self, other: Tally) -> None:
        self.frames += other.frames
        self.cases += other.cases
        self.outcomes.update(other.outcomes)
        for sig, violation in other.violations.items():
            known = self.violations.get(sig)
            if known is None:
                self.violations[sig] = violation
            else:
                known.count += violation.count


def signature(exc: BaseException) -> str:
    """The error type and the innermost line of the package in its traceback."""
    where = "outside the package"
    tb: TracebackType | None = exc.__traceback__
    marker = f"/{_PACKAGE}/"
    for frame, line in traceback.walk_tb(tb):
        path = frame.f_code.co_filename.replace("\\", "/")
        if marker in path:
            where = f"{path.rsplit(marker, 1)[1]}:{line} in {frame.f_code.co_name}"
    return f"{type(exc).__name__} at {where}"


class ErrorLog(logging.Handler):
    """Collects ERROR records of the watched loggers (attach with :meth:`watch`)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def watch(self) -> None:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).addHandler(self)

    def unwatch(self) -> None:
        for name in WATCHED_LOGGERS:
            logging.getLogger(name).removeHandler(self)

    def drain(self, tally: Tally, case: Case) -> None:
        """Report each collected record as a violation of ``case``."""
        records, self.records = self.records, []
        for record in records:
            try:
                message = record.getMessage()
            except Exception:  # the arguments are hostile too: a repr may recurse
                message = str(record.msg)
            tally.violate(f"logged at {record.levelname} by {record.name}", message[:200], case)
