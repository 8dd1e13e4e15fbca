"""``monitor``: stay connected to many devices and print each change, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from typing import Any

from tinytuya_asyncio.cli.inventory import Target, failed, select
from tinytuya_asyncio.cli.output import EXIT_FAILED, EXIT_OK, Output
from tinytuya_asyncio.connection.state import StateChange
from tinytuya_asyncio.devices import DeviceUpdate


class _Printer:
    def __init__(self, out: Output) -> None:
        self.out = out
        self.last_state: dict[str, str] = {}

    def line(self, target: Target, kind: str, data: Any) -> None:
        stamp = time.strftime("%H:%M:%S")
        if self.out.as_json:
            self.out.json_line({"time": time.time(), "id": target.id, "name": target.name, kind: data})
        else:
            text = data if isinstance(data, str) else json.dumps(data)
            self.out.console.print(f"{stamp} [bold]{target.label}[/bold] {kind}: {text}", soft_wrap=True)


async def run(args: argparse.Namespace, out: Output) -> int:
    out.check_ready()
    targets = await select(args, timeout=args.timeout)
    printer = _Printer(out)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    devices = [t.device(timeout=args.timeout, persist=True) for t in targets]
    failures = 0
    try:
        for target, device in zip(targets, devices, strict=True):
            device.subscribe(lambda update, t=target: _on_update(printer, t, update))  # type: ignore[misc]
            device.add_state_listener(lambda change, t=target: _on_state(printer, t, change))  # type: ignore[misc]
        statuses = await asyncio.gather(*(d.status() for d in devices))

        for target, status in zip(targets, statuses, strict=True):
            problem = failed(status)
            failures += problem is not None
            printer.line(target, "error" if problem else "status", problem or (status or {}).get("dps", {}))
        if not out.as_json:
            out.note("monitoring, Ctrl-C to stop")
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await asyncio.gather(*(d.close() for d in devices))
    return EXIT_FAILED if failures else EXIT_OK


def _on_update(printer: _Printer, target: Target, update: DeviceUpdate) -> None:
    if update.pushed:
        printer.line(target, "changed", update.changed)


def _on_state(printer: _Printer, target: Target, change: StateChange) -> None:
    if change.reason is None or printer.last_state.get(target.id) == change.state.value:
        return
    printer.last_state[target.id] = change.state.value
    printer.line(target, "connection", f"{change.state.value} ({change.reason.value})")
