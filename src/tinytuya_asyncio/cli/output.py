"""What the command line prints: tables for people, JSON for scripts, one line per error.

Human output goes through rich (the ``cli`` extra): tables, progress, and colour on a
terminal only (rich turns it off when output is piped, and ``--no-color`` or ``NO_COLOR``
turn it off everywhere). ``--json`` output needs nothing but the standard library.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from rich.console import Console

#: Exit codes (also in ``--help``).
EXIT_OK: Final = 0
#: Some devices failed: unreachable, wrong key, an error answer.
EXIT_FAILED: Final = 1
#: Bad arguments or input: unknown device, missing or malformed file, bad value.
EXIT_USAGE: Final = 2
#: The ``cli`` extra (rich) is not installed and a table was asked for.
EXIT_MISSING: Final = 3
EXIT_CODES_HELP: Final = (
    "exit codes: 0 all ok; 1 some devices failed (unreachable, wrong key, error answer);"
    " 2 bad arguments or input (unknown device, missing or malformed file, bad value);"
    " 3 the 'cli' extra is missing (pip install 'tinytuya-asyncio[cli]')"
)
PROG: Final = "tinytuya-asyncio"


class UsageError(Exception):
    """Bad arguments or input: printed as one line, exit code 2."""


class MissingExtra(Exception):
    """rich is not installed."""


def _console(stderr: bool, no_color: bool) -> Console:
    try:
        from rich.console import Console  # noqa: PLC0415 - optional extra, only for tables
    except ImportError:
        raise MissingExtra from None
    return Console(stderr=stderr, no_color=no_color or None, highlight=False)


class Output:
    """Where results and messages go for one command run."""

    def __init__(self, *, as_json: bool, no_color: bool = False) -> None:
        self.as_json = as_json
        self.no_color = no_color
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def console(self) -> Console:
        """The rich console for human output on stdout."""
        if self._out is None:
            self._out = _console(False, self.no_color)
        return self._out

    @property
    def err_console(self) -> Console:
        if self._err is None:
            self._err = _console(True, self.no_color)
        return self._err

    def check_ready(self) -> None:
        """Fail early (before any work) when human output needs rich and it is missing."""
        if not self.as_json:
            _ = self.console

    def json(self, value: Any) -> None:
        print(json.dumps(value, indent=2, default=str), flush=True)

    def json_line(self, value: Any) -> None:
        print(json.dumps(value, default=str), flush=True)

    def note(self, text: str) -> None:
        """A message for people (stderr when the output is JSON)."""
        if self.as_json:
            print(text, file=sys.stderr, flush=True)
        else:
            self.err_console.print(text, style="dim")

    def table(
        self,
        title: str | None,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        wrap: str | None = None,
    ) -> None:
        """A table; only the ``wrap`` column (by name) may wrap when the terminal is narrow."""
        from rich.table import Table  # noqa: PLC0415 - optional extra

        table = Table(title=title, header_style="bold", title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column != wrap)
        for row in rows:
            table.add_row(*("" if cell is None else str(cell) for cell in row))
        self.console.print(table)


def error(text: str) -> None:
    """One line on stderr, no traceback."""
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)
