"""Client-side cost of one status, without sockets: ours next to a streams floor.

    python -m bench.micro [--devices 500] [--rounds 40] [--runs 8] [--version 3.3]
                          [--mode warm|cold|push-callback|push-stream|heartbeat]

Both clients run against an in-process stand-in for the device: a transport whose
``write()`` answers, on the next loop iteration, with one precomputed reply frame. No
socket, no simulator, no system calls: what remains is the Python and asyncio work each
client does per request, which is what we can change. The floor is ``asyncio`` streams
writing a precomputed request and reading the reply by its header (as in ``bench.run``).
``--mode cold`` opens and closes a connection per request (``loop.create_connection`` is
replaced by one that connects at once), with new client objects each round, as in
``bench.run``. Prints the minimum over ``--runs`` of the CPU per request (``time.process_time``).

The persistent paths (ours only): ``--mode push-callback`` feeds every connected device one
STATUS push per round straight into its protocol object (``get_buffer``/``buffer_updated``,
as the loop does after a read) with a ``subscribe()`` callback listening; ``push-stream``
does the same with one ``updates()`` stream consumed per device, so the figure includes
waking its task. ``--mode heartbeat`` lets the connections beat every ``HEARTBEAT_STEP``
seconds for ``--rounds`` steps against a stand-in that acks each beat, and reports per
heartbeat sent (timer, frame, write, ack, deadline).

For a number that does not move with the machine's load, count instructions instead:

    valgrind --tool=callgrind .venv/bin/python -m bench.micro --runs 1 --clients ours --rounds R

with two values of R, and divide the difference of the totals by the extra requests
(``bench/instructions.sh`` does that).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import struct
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    MessageReceived,
    PayloadBuilder,
    Role,
    Session,
    encode_json,
    version_spec,
)
from tinytuya_asyncio.protocol.results import decode_result

KEY: Final = "0123456789abcdef"
DEV_ID: Final = "bf0123456789abcdefgh"
_HEADER: Final = struct.Struct(">4I")
#: What a device22 (3.2) status query names; the others ignore it.
_DP_LIST: Final = {"1": None, "9": None, "18": None, "19": None, "20": None}


class InstantDevice(asyncio.Transport):
    """A transport that answers every write with ``reply`` on the next loop iteration."""

    def __init__(self, deliver: Callable[[bytes], None], reply: bytes) -> None:
        super().__init__()
        self._deliver = deliver
        self._reply = reply
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._on_close: Callable[[], None] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        _WRITES[0] += 1
        self._loop.call_soon(self._deliver, self._reply)

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            if self._on_close is not None:
                self._loop.call_soon(self._on_close)

    def is_closing(self) -> bool:
        return self._closing

    def abort(self) -> None:
        self.close()

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


def _reply_frame(version: str) -> bytes:
    body = {"devId": DEV_ID, "dps": {"1": False, "9": 0, "18": 0, "19": 0, "20": 2300}}
    return Session(Role.DEVICE, version, KEY.encode()).send(tuya.DP_QUERY, encode_json(body), seqno=1)


def _push_frame(version: str) -> bytes:
    body = {"devId": DEV_ID, "dps": {"1": True, "101": 1}, "t": 1700000000}
    return Session(Role.DEVICE, version, KEY.encode()).send(tuya.STATUS, encode_json(body), seqno=0)


def _heartbeat_ack(version: str) -> bytes:
    return Session(Role.DEVICE, version, KEY.encode()).send(tuya.HEART_BEAT, b"", seqno=1)


#: What every stand-in connection of this process delivers with, in connection order.
_DELIVERIES: list[Callable[[bytes], None]] = []
#: Writes seen by the stand-ins (heartbeats in ``--mode heartbeat``).
_WRITES = [0]
#: Seconds between heartbeats in ``--mode heartbeat``.
HEARTBEAT_STEP: Final = 0.02


def _instant_connections(reply: bytes) -> None:
    """Make the running loop's ``create_connection`` connect at once to an :class:`InstantDevice`."""
    loop = asyncio.get_running_loop()

    async def create_connection(
        factory: Callable[[], asyncio.BaseProtocol], host: str, port: int, **kwargs: object
    ) -> tuple[asyncio.Transport, asyncio.BaseProtocol]:
        protocol = factory()
        if isinstance(protocol, asyncio.BufferedProtocol):
            buffered = protocol

            def deliver(data: bytes) -> None:
                buffer = memoryview(buffered.get_buffer(len(data)))
                buffer[: len(data)] = data
                buffered.buffer_updated(len(data))

        else:
            assert isinstance(protocol, asyncio.Protocol)
            deliver = protocol.data_received
        _DELIVERIES.append(deliver)
        transport = InstantDevice(deliver, reply)
        transport._on_close = lambda: protocol.connection_lost(None)
        protocol.connection_made(transport)
        return transport, protocol

    loop.create_connection = create_connection  # type: ignore[method-assign,assignment]


def _our_devices(devices: int, version: str, *, persist: bool) -> list[DeviceAsync]:
    return [
        DeviceAsync(DEV_ID, "127.0.0.1", KEY, version=version, persist=persist, heartbeat_interval=None)
        for _ in range(devices)
    ]


_UNITS: Final = {
    "push-callback": "push (callback)",
    "push-stream": "push (updates())",
    "heartbeat": "heartbeat",
}

#: Seconds one round of requests may take.
_ROUND_DEADLINE: Final = 60.0

#: Cold rounds build at least this many batches of clients up front (see bench/instructions.sh,
#: whose longer run has 12 rounds): both runs then build as many, and the difference is requests.
_MIN_COLD_BATCHES: Final = 12


def _cold_batches(rounds: int) -> int:
    return max(rounds, _MIN_COLD_BATCHES)


async def _pushes(devices: int, rounds: int, version: str, mode: str) -> float:
    """CPU per push delivered to a callback or an ``updates()`` consumer (see the docstring)."""
    _instant_connections(_reply_frame(version))
    _DELIVERIES.clear()
    clients = _our_devices(devices, version, persist=True)
    frame = _push_frame(version)
    delivered = [0]
    tasks: list[asyncio.Task[None]] = []

    def on_update(update: object) -> None:
        delivered[0] += 1

    async def consume(device: DeviceAsync) -> None:
        async for _ in device.updates():
            delivered[0] += 1

    try:
        await asyncio.gather(*(c.status() for c in clients))  # connect
        if mode == "push-callback":
            for client in clients:
                client.subscribe(on_update)
        else:
            tasks = [asyncio.get_running_loop().create_task(consume(c)) for c in clients]
            await asyncio.sleep(0)
        deliveries = list(_DELIVERIES)
        gc.collect()
        started = time.process_time()
        for _ in range(rounds):
            for deliver in deliveries:
                deliver(frame)
            await asyncio.sleep(0)  # the consumers' turn (and the loop's iteration per round)
        await asyncio.sleep(0)
        spent = time.process_time() - started
        if delivered[0] != rounds * devices:
            raise RuntimeError(f"{delivered[0]} of {rounds * devices} pushes delivered")
        return spent / (rounds * devices)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in clients))


async def _heartbeats(devices: int, rounds: int, version: str) -> float:
    """CPU per heartbeat, with the connections beating every :data:`HEARTBEAT_STEP` s."""
    _instant_connections(_heartbeat_ack(version))
    clients = [
        DeviceAsync(
            DEV_ID, "127.0.0.1", KEY, version=version, persist=True, heartbeat_interval=HEARTBEAT_STEP
        )
        for _ in range(devices)
    ]
    try:
        await asyncio.gather(*(c.connect() for c in clients))
        gc.collect()
        writes, started = _WRITES[0], time.process_time()
        await asyncio.sleep(rounds * HEARTBEAT_STEP)
        spent, beats = time.process_time() - started, _WRITES[0] - writes
        print(f"heartbeats={beats}")
        return spent / max(beats, 1)
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def _ours(devices: int, rounds: int, version: str, mode: str) -> float:
    if mode.startswith("push"):
        return await _pushes(devices, rounds, version, mode)
    if mode == "heartbeat":
        return await _heartbeats(devices, rounds, version)
    _instant_connections(_reply_frame(version))
    if mode == "cold":
        # Every round's devices are built first, so that instruction counts (which cover the
        # whole process) do not include building them: the benchmark never times that either.
        batches = iter([_our_devices(devices, version, persist=False) for _ in range(_cold_batches(rounds))])
        return await _time_rounds(rounds, devices, lambda: [c.status() for c in next(batches)])
    clients = _our_devices(devices, version, persist=True)
    try:
        await asyncio.gather(*(c.status() for c in clients))  # connect and warm up
        return await _time_rounds(rounds, devices, lambda: [c.status() for c in clients])
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def _floor(devices: int, rounds: int, version: str, mode: str) -> float:
    _instant_connections(_reply_frame(version))
    request = Session(Role.CLIENT, version, KEY.encode()).send(tuya.DP_QUERY, b'{"gwId":"x","t":"1"}')

    async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
        writer.write(request)
        head = await reader.readexactly(_HEADER.size)
        return head + await reader.readexactly(_HEADER.unpack(head)[3])

    async def cold() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", 6668)
        reply = await exchange(reader, writer)
        writer.close()
        await writer.wait_closed()
        return reply

    if mode == "cold":
        return await _time_rounds(rounds, devices, lambda: [cold() for _ in range(devices)])
    streams = [await asyncio.open_connection("127.0.0.1", 6668) for _ in range(devices)]
    await asyncio.gather(*(exchange(r, w) for r, w in streams))
    return await _time_rounds(rounds, devices, lambda: [exchange(r, w) for r, w in streams])


async def _core(devices: int, rounds: int, version: str, mode: str) -> float:
    """The protocol core over streams, as ``bench.clients.CoreClient`` (no handshake: 3.1-3.3)."""
    _instant_connections(_reply_frame(version))
    spec = version_spec(version)

    def builders() -> list[PayloadBuilder]:
        dev_type = "device22" if version == "3.2" else "default"
        return [PayloadBuilder(version=spec, dev_id=DEV_ID, dev_type=dev_type) for _ in range(devices)]

    async def exchange(
        builder: PayloadBuilder, session: Session, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> object:
        cmd, body = builder.build(tuya.DP_QUERY, t=int(time.time()), query_dps=_DP_LIST)
        writer.write(session.send(cmd, body))
        while (event := session.next_event()) is None:
            session.receive_data(await reader.read(65536))
        assert isinstance(event, MessageReceived)
        return decode_result(event.message, spec)

    async def cold(builder: PayloadBuilder) -> object:
        session = Session(Role.CLIENT, spec, KEY.encode())
        reader, writer = await asyncio.open_connection("127.0.0.1", 6668)
        result = await exchange(builder, session, reader, writer)
        writer.close()
        await writer.wait_closed()
        return result

    if mode == "cold":
        batches = iter([builders() for _ in range(_cold_batches(rounds))])
        return await _time_rounds(rounds, devices, lambda: [cold(b) for b in next(batches)])
    kept = [
        (b, Session(Role.CLIENT, spec, KEY.encode()), *await asyncio.open_connection("127.0.0.1", 6668))
        for b in builders()
    ]
    await asyncio.gather(*(exchange(*k) for k in kept))
    return await _time_rounds(rounds, devices, lambda: [exchange(*k) for k in kept])


async def _time_rounds(rounds: int, devices: int, make: Callable[[], Sequence[Awaitable[object]]]) -> float:
    """CPU per request over ``rounds`` gathers of what ``make`` returns (built outside the clock)."""
    gc.collect()
    spent = 0.0
    for _ in range(rounds):
        requests = make()
        started = time.process_time()
        async with asyncio.timeout(_ROUND_DEADLINE):  # a stand-in that stops answering fails, not hangs
            results = await asyncio.gather(*requests)
        spent += time.process_time() - started
        if not all(isinstance(r, dict | bytes) and r for r in results):
            raise RuntimeError("a request got no answer")
    return spent / (rounds * devices)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.micro", description="Client CPU per request, no sockets."
    )
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--runs", type=int, default=8, help="repeat and keep the minimum")
    parser.add_argument("--version", default="3.3", choices=["3.1", "3.2", "3.3"])
    parser.add_argument("--clients", default="ours,core,floor", help="comma list of ours, core, floor")
    parser.add_argument(
        "--mode", default="warm", choices=["warm", "cold", "push-callback", "push-stream", "heartbeat"]
    )
    args = parser.parse_args(argv)
    chosen = set(args.clients.split(","))
    if args.mode not in ("warm", "cold"):
        chosen &= {"ours"}  # the persistent paths are ours alone
    for name, client in (("ours", _ours), ("core", _core), ("floor", _floor)):
        if name not in chosen:
            continue
        best = min(
            asyncio.run(client(args.devices, args.rounds, args.version, args.mode)) for _ in range(args.runs)
        )
        print(
            f"{name:>5}: {best * 1e6:6.1f} us CPU per {_UNITS.get(args.mode, args.mode + ' status')} "
            f"({args.devices} devices, v{args.version})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
