"""Export a fleet's counters to Prometheus with the official client, ``prometheus_client``.

python examples/prometheus_exporter.py                  # a simulated fleet; prints one scrape
python examples/prometheus_exporter.py --devices-file devices.json --port 9108 --seconds 3600

The client is this example's need, not the library's: ``pip install prometheus_client``.
Without it the example prints the counters as JSON instead. Each scrape runs in the
client's HTTP thread and asks the event loop for a snapshot: the counters are only ever
read on the loop that writes them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from tinytuya_asyncio import Fleet
from tinytuya_asyncio.metrics import Counts
from tinytuya_asyncio.simulator import Simulator

#: The client, when installed (the example still runs without it: it prints JSON).
CLIENT: ModuleType | None
try:
    import prometheus_client
    from prometheus_client.core import CounterMetricFamily
    from prometheus_client.registry import Collector, CollectorRegistry

    CLIENT = prometheus_client
except ImportError:
    CLIENT = None

#: Counts fields exported, with their help text (each becomes tuya_<name>_total{device=...}).
EXPORTED = {
    "frames_sent": "Frames written to the device",
    "bytes_sent": "Bytes written to the device",
    "frames_received": "Frames read from the device",
    "bytes_received": "Bytes read from the device",
    "requests": "Requests answered",
    "request_seconds": "Seconds from sending requests to their answers",
    "retries": "Requests sent again on a fresh connection",
    "timeouts": "Requests, heartbeats and handshakes left unanswered",
    "connects": "TCP connections opened",
    "handshakes": "Session keys negotiated (3.4/3.5)",
    "handshake_seconds": "Seconds spent negotiating session keys",
    "reconnects": "Persistent connections lost and brought back",
    "pushes": "Updates the device sent on its own",
    "dropped": "Updates dropped because a consumer fell behind",
    "rate_limited": "Commands held back by the minimum interval",
    "rejected": "Requests refused because too many were waiting",
}


def collector_for(fleet: Fleet, loop: asyncio.AbstractEventLoop) -> Any:
    """A prometheus_client collector reading ``fleet``'s counters at each scrape."""

    class FleetCollector(Collector):
        def collect(self) -> Iterator[CounterMetricFamily]:
            # Called in the HTTP server's thread: take the snapshot on the event loop.
            devices = asyncio.run_coroutine_threadsafe(_snapshot(fleet), loop).result(timeout=5)
            yield from families(devices)

    return FleetCollector()


async def _snapshot(fleet: Fleet) -> dict[str, Counts]:
    assert fleet.counters is not None
    return fleet.counters.devices()


def families(devices: dict[str, Counts]) -> Iterator[CounterMetricFamily]:
    for name, text in EXPORTED.items():
        family = CounterMetricFamily(f"tuya_{name}", text, labels=["device"])
        for dev_id, counts in devices.items():
            family.add_metric([dev_id], getattr(counts, name))
        yield family
    errors = CounterMetricFamily(
        "tuya_errors", "Error dicts returned, by tinytuya code", labels=["device", "code"]
    )
    for dev_id, counts in devices.items():
        for code, count in counts.errors.items():
            errors.add_metric([dev_id, str(code)], count)
    yield errors


async def export(devices_file: Path, *, port: int | None, address: str, seconds: float) -> int:
    fleet = await Fleet.load(devices_file, counters=True)
    async with fleet:
        await fleet.status()
        if CLIENT is None:
            print("(prometheus_client is not installed: the counters as JSON)")
            assert fleet.counters is not None
            print(json.dumps(fleet.counters.snapshot()["total"], indent=2))
            return 0
        registry = CollectorRegistry()
        registry.register(collector_for(fleet, asyncio.get_running_loop()))
        if port is None:  # one scrape, printed, from a thread as the HTTP server would
            text = await asyncio.to_thread(CLIENT.generate_latest, registry)
            print(text.decode())
            return 0
        server, thread = CLIENT.start_http_server(port, addr=address, registry=registry)
        print(f"serving http://{address}:{port}/metrics for {seconds:g} s")
        try:
            await asyncio.sleep(seconds)  # the fleet runs meanwhile: pushes, heartbeats
        finally:
            server.shutdown()
            thread.join(timeout=5)
    return 0


@contextlib.asynccontextmanager
async def simulated_devices_file() -> AsyncIterator[Path]:
    async with Simulator(seed=9) as simulator:
        await simulator.add_many(6, versions="3.3,3.5")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "devices.json"
            simulator.write_devices_file(path)
            yield path


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a fleet's counters to Prometheus.")
    parser.add_argument(
        "--devices-file", type=Path, help="tinytuya devices.json (default: a simulated fleet)"
    )
    parser.add_argument("--port", type=int, help="serve /metrics on this port (default: print one scrape)")
    parser.add_argument("--address", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to serve (default 60)")
    args = parser.parse_args(argv)
    if args.devices_file:
        return await export(args.devices_file, port=args.port, address=args.address, seconds=args.seconds)
    async with simulated_devices_file() as path:
        return await export(path, port=args.port, address=args.address, seconds=args.seconds)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
