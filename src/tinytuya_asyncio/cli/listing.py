"""``list``: the devices file as a table (or JSON), as tinytuya's ``list`` shows it."""

from __future__ import annotations

import argparse

from tinytuya_asyncio.cli.inventory import load_directory
from tinytuya_asyncio.cli.output import EXIT_OK, Output


async def run(args: argparse.Namespace, out: Output) -> int:
    out.check_ready()
    directory = await load_directory(args.device_file)
    rows = [{"name": e.name, "id": e.id, "key": e.key, "ip": e.ip, "version": e.version} for e in directory]
    if out.as_json:
        out.json(rows)
    else:
        columns = ("name", "id", "key", "ip", "version")
        out.table(
            f"{len(rows)} devices in {args.device_file}",
            [c.upper() for c in columns],
            [[row[c] for c in columns] for row in rows],
        )
    return EXIT_OK
