"""``tinytuya-asyncio`` and ``python -m tinytuya_asyncio``: tinytuya's commands, on asyncio.

One module per job: :mod:`.app` (arguments), :mod:`.output` (tables, JSON, exit codes),
:mod:`.inventory` (which devices), :mod:`.scan`, :mod:`.poll` (``devices``, ``snapshot``),
:mod:`.listing` (``list``), :mod:`.control` (``on``, ``off``, ``set``, ``get``),
:mod:`.monitor`; ``simulate`` and ``demo`` hand over to the simulator's and the demo's own
command lines. Bad input is one line on stderr and exit code 2, never a traceback. When
uvloop is installed the commands run on it (the library itself never picks a loop).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from tinytuya_asyncio._loop import run as run_on_best_loop
from tinytuya_asyncio.cli.app import build_parser
from tinytuya_asyncio.cli.output import EXIT_MISSING, EXIT_USAGE, MissingExtra, Output, UsageError, error

Command = Callable[[argparse.Namespace, Output], Coroutine[Any, Any, int]]


def _commands() -> dict[str, Command]:
    from tinytuya_asyncio.cli import control, listing, monitor, poll, scan  # noqa: PLC0415

    return {
        "scan": scan.run,
        "devices": poll.devices,
        "snapshot": poll.snapshot,
        "list": listing.run,
        "on": control.run,
        "off": control.run,
        "set": control.run,
        "get": control.run,
        "monitor": monitor.run,
    }


def _run(coro: Coroutine[Any, Any, int]) -> int:
    return run_on_best_loop(coro)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["simulate"]:
        from tinytuya_asyncio.simulator.__main__ import main as simulate  # noqa: PLC0415

        return simulate(args_list[1:], prog="tinytuya-asyncio simulate")
    if args_list[:1] == ["demo"]:
        from tinytuya_asyncio.demo import main as demo  # noqa: PLC0415

        return demo(args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.version:
        from tinytuya_asyncio import __version__  # noqa: PLC0415

        print(f"tinytuya-asyncio {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    out = Output(as_json=args.json, no_color=args.no_color)
    try:
        return _run(_commands()[args.command](args, out))
    except UsageError as exc:
        error(str(exc))
        return EXIT_USAGE
    except MissingExtra:
        error("tables need the 'cli' extra: pip install 'tinytuya-asyncio[cli]' (or use --json)")
        return EXIT_MISSING
    except KeyboardInterrupt:
        return 130
