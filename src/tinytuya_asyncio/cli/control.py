"""``on``, ``off``, ``set`` and ``get``: one command to one or several devices at once."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from tinytuya_asyncio.cli.inventory import Target, failed, parse_value, select
from tinytuya_asyncio.cli.output import EXIT_FAILED, EXIT_OK, Output
from tinytuya_asyncio.devices import DeviceAsync


async def _act(device: DeviceAsync, args: argparse.Namespace, value: Any) -> Any:
    if args.command == "on":
        return await device.turn_on(switch=args.dps)
    if args.command == "off":
        return await device.turn_off(switch=args.dps)
    if args.command == "set":
        return await device.set_value(args.dps, value)
    return await device.status()


async def run(args: argparse.Namespace, out: Output) -> int:
    out.check_ready()
    value = parse_value(args.value) if args.command == "set" else None
    targets = await select(args, timeout=args.timeout)
    limit = asyncio.Semaphore(max(args.concurrency, 1))

    async def one(target: Target) -> dict[str, Any]:
        async with limit:
            device = target.device(timeout=args.timeout)
            try:
                result = await _act(device, args, value)
            finally:
                await device.close()
        return _outcome(target, result, args)

    outcomes = await asyncio.gather(*(one(t) for t in targets))
    if out.as_json:
        out.json(outcomes[0] if len(outcomes) == 1 else outcomes)
    else:
        for outcome in outcomes:
            text = outcome.get("error") or _describe(outcome, args)
            out.console.print(f"[bold]{outcome['name'] or outcome['id']}[/bold]: {text}")
    return EXIT_FAILED if any("error" in o for o in outcomes) else EXIT_OK


def _outcome(target: Target, result: Any, args: argparse.Namespace) -> dict[str, Any]:
    outcome: dict[str, Any] = {"id": target.id, "name": target.name, "ip": target.ip}
    problem = failed(result)
    if problem is not None:
        outcome["error"] = problem
        return outcome
    if args.command == "get" and args.dps is not None:
        dps = result.get("dps", {}) if isinstance(result, dict) else {}
        if str(args.dps) not in dps:
            outcome["error"] = f"data point {args.dps} not in the answer (it has {', '.join(dps) or 'none'})"
        else:
            outcome["value"] = dps[str(args.dps)]
        return outcome
    outcome["result"] = result
    return outcome


def _describe(outcome: dict[str, Any], args: argparse.Namespace) -> str:
    if "value" in outcome:
        return json.dumps(outcome["value"])
    result = outcome.get("result")
    if args.command == "get":
        return json.dumps(result.get("dps", result) if isinstance(result, dict) else result)
    changed = result.get("dps") if isinstance(result, dict) else None
    return f"ok {json.dumps(changed)}" if changed else "ok"
