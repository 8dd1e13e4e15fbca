"""The clients measured side by side: status() of every device, cold or warm.

* ``ours``: :class:`tinytuya_asyncio.DeviceAsync`, every device in one ``asyncio.gather``.
* ``sync``: tinytuya's :class:`tinytuya.Device` from a pool of threads (32), tinytuya's
  defaults except the timeouts and retries in :class:`ClientConfig`; it sleeps
  ``sendWait`` (0.01 s) after every request it sends.
* ``sync-nowait``: the same with ``set_sendWait(None)``, to show what that sleep costs.
* ``floor``: a bare asyncio streams client writing precomputed frames and reading one
  reply each (:mod:`bench.frames`): no crypto, no JSON, no matching while timed.
* ``core``: the work the protocol itself asks for, and nothing else: bare asyncio streams
  driving our sans-I/O :class:`~tinytuya_asyncio.protocol.Session` (a real handshake with
  random nonces, the JSON body built, encrypted and framed, the reply verified, decrypted
  and parsed into a result dict). No device object, state, retries, timers or caches: the
  gap between ``core`` and ``floor`` is what the protocol costs, the gap between ``ours``
  and ``core`` is what the device API adds.

Every client builds its device objects (and the floor its frames) before the clock starts;
the timed section is what each does for one pass over all devices. ``cold``: connect,
handshake (3.4/3.5), query, close, per device. ``warm``: connections opened beforehand,
one query per device per round. Every answer is checked afterwards; a pass reports how
many were valid, and why the others were not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import tinytuya

from bench.fleet import DeviceEntry
from bench.frames import FloorFrames, is_valid_status, precompute, query_dps
from bench.measure import Sample, Stopwatch, count_errors
from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    HandshakeResponded,
    MessageReceived,
    PayloadBuilder,
    Role,
    Session,
    version_spec,
)
from tinytuya_asyncio.protocol.results import decode_result

#: Frames longer than this are refused by the floor's reader (a reply is ~200 bytes).
_MAX_FRAME: Final = 64 * 1024
_HEADER_55AA: Final = 16
_HEADER_6699: Final = 18
_SUFFIX_6699: Final = 4


class SetupError(RuntimeError):
    """A warm client could not open its connections; nothing was timed."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Settings shared by the clients."""

    #: Seconds for a connect, a handshake or a reply (both libraries' ``connection_timeout``).
    timeout: float = 5.0
    #: Both libraries' ``connection_retry_limit`` and ``connection_retry_delay``.
    retry_limit: int = 2
    retry_delay: float = 0.5
    #: Threads of the sync client's pool.
    threads: int = 32
    #: Seconds a whole pass may take, plus this much per device; past it the pass fails.
    deadline_base: float = 30.0
    deadline_per_device: float = 0.1

    def deadline(self, devices: int) -> float:
        return self.deadline_base + self.deadline_per_device * devices


class BenchClient(Protocol):
    name: str
    description: str

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        """One timed cold pass over ``devices``."""
        ...

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        """Open every connection, then ``warmup`` untimed and ``rounds`` timed rounds."""
        ...

    def close(self) -> None: ...


def why_not(result: object) -> str | None:
    """``None`` for a valid status, else a short reason (an error code or exception name)."""
    if is_valid_status(result):
        return None
    if isinstance(result, BaseException):
        return type(result).__name__
    if isinstance(result, dict) and "Err" in result:
        return f"Err {result['Err']}"
    return "no status" if result is None else "no dps"


def _sample(stopwatch: Stopwatch, reasons: Sequence[str | None]) -> Sample:
    failed = [r for r in reasons if r is not None]
    return Sample(
        stopwatch.wall, stopwatch.cpu, len(reasons) - len(failed), len(reasons), count_errors(failed)
    )


async def bounded_gather(aws: Sequence[Awaitable[Any]], deadline: float) -> list[object]:
    """Gather, exceptions returned; past ``deadline`` every result is a ``TimeoutError``."""
    try:
        async with asyncio.timeout(deadline):
            return list(await asyncio.gather(*aws, return_exceptions=True))
    except TimeoutError:
        return [TimeoutError() for _ in aws]


async def timed_rounds(
    make: Callable[[], Sequence[Awaitable[object]]],
    reasons: Callable[[Sequence[object]], list[str | None]],
    *,
    rounds: int,
    warmup: int,
    deadline: float,
) -> list[Sample]:
    """``warmup`` untimed and ``rounds`` timed gathers of what ``make`` returns, each checked."""
    samples: list[Sample] = []
    for index in range(warmup + rounds):
        gc.collect()
        with Stopwatch() as stopwatch:
            results = await bounded_gather(make(), deadline)
        if index >= warmup:
            samples.append(_sample(stopwatch, reasons(results)))
    return samples


def all_opened(opened: Sequence[object]) -> list[Any]:
    """The connections a setup gather opened (the first of each result tuple).

    The caller closes them; :func:`require_all` fails the setup unless every one opened.
    """
    return [r[0] for r in opened if isinstance(r, tuple)]


def require_all(opened: Sequence[object], kept: Sequence[object], count: int) -> None:
    if len(kept) != count:
        failed = next(r for r in opened if not isinstance(r, tuple))
        raise SetupError(f"{count - len(kept)} of {count} did not connect: {failed!r}")


def _why_not_each(results: Sequence[object]) -> list[str | None]:
    return [why_not(r) for r in results]


# -- ours ----------------------------------------------------------------------------------


def ours_device(entry: DeviceEntry, config: ClientConfig, *, persist: bool) -> DeviceAsync:
    """Our client for ``entry``; persistent ones send no heartbeats (they would muddle rounds)."""
    device = DeviceAsync(
        entry.dev_id,
        entry.host,
        entry.key,
        version=entry.version,
        persist=persist,
        port=entry.port,
        connection_timeout=config.timeout,
        connection_retry_limit=config.retry_limit,
        connection_retry_delay=config.retry_delay,
        heartbeat_interval=None,
    )
    dps = query_dps(entry)
    if dps is not None:
        device.set_dpsUsed(dps)
    return device


class OursClient:
    """``DeviceAsync``, all devices on one event loop."""

    name = "ours"

    def __init__(self, runner: asyncio.Runner, config: ClientConfig) -> None:
        self._runner = runner
        self._config = config
        self.description = (
            "tinytuya_asyncio.DeviceAsync, one asyncio.gather over all devices; cold: persist=False, "
            "warm: persist=True with heartbeat_interval=None; "
            f"connection_timeout={config.timeout:g}, connection_retry_limit={config.retry_limit}, "
            f"connection_retry_delay={config.retry_delay:g}; default connect limit (32 at once)"
        )

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        return self._runner.run(self._cold(devices))

    async def _cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        clients = [ours_device(entry, self._config, persist=False) for entry in devices]
        deadline = self._config.deadline(len(devices))
        try:
            gc.collect()
            with Stopwatch() as stopwatch:
                results = await bounded_gather([c.status() for c in clients], deadline)
        finally:
            await bounded_gather([c.close() for c in clients], deadline)
        return _sample(stopwatch, [why_not(r) for r in results])

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        return self._runner.run(self._warm(devices, rounds=rounds, warmup=warmup))

    async def _warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        clients = [ours_device(entry, self._config, persist=True) for entry in devices]
        deadline = self._config.deadline(len(devices))
        try:
            connected = await bounded_gather([c.connect() for c in clients], deadline)
            failed = [r for r in connected if isinstance(r, BaseException)]
            if failed:
                raise SetupError(f"{len(failed)} of {len(clients)} devices did not connect: {failed[0]!r}")
            return await timed_rounds(
                lambda: [c.status() for c in clients],
                _why_not_each,
                rounds=rounds,
                warmup=warmup,
                deadline=deadline,
            )
        finally:
            await bounded_gather([c.close() for c in clients], deadline)

    def close(self) -> None:
        pass


# -- tinytuya's sync client ----------------------------------------------------------------


class SyncClient:
    """tinytuya's ``Device`` objects driven from a thread pool."""

    def __init__(self, config: ClientConfig, *, name: str = "sync", no_send_wait: bool = False) -> None:
        self.name = name
        self._config = config
        self._no_send_wait = no_send_wait
        self._pool = concurrent.futures.ThreadPoolExecutor(config.threads, thread_name_prefix=f"bench-{name}")
        wait = "set_sendWait(None)" if no_send_wait else "sendWait=0.01 s (tinytuya's default)"
        self.description = (
            f"tinytuya {tinytuya.__version__} Device from a {config.threads}-thread pool; "
            f"cold: persist=False, warm: persist=True; {wait}; "
            f"connection_timeout={config.timeout:g}, connection_retry_limit={config.retry_limit}, "
            f"connection_retry_delay={config.retry_delay:g}; other settings tinytuya's defaults"
        )

    def _device(self, entry: DeviceEntry, *, persist: bool) -> Any:
        config = self._config
        version = float(entry.version)
        dps = query_dps(entry)
        device = tinytuya.Device(
            entry.dev_id,
            address=entry.host,
            local_key=entry.key,
            # tinytuya probes a 3.2 device's DPs in set_version() unless it knows them: give
            # it the list first, as the other clients get it.
            version=None if dps is not None else version,
            persist=persist,
            port=entry.port,
            connection_timeout=config.timeout,
            connection_retry_limit=config.retry_limit,
            connection_retry_delay=config.retry_delay,
        )
        if dps is not None:
            device.set_dpsUsed(dps)
            device.set_version(version)
        if self._no_send_wait:
            device.set_sendWait(None)
        return device

    def _pass(self, clients: Sequence[Any], deadline: float) -> tuple[Stopwatch, list[object]]:
        gc.collect()
        with Stopwatch() as stopwatch:
            futures = [self._pool.submit(c.status) for c in clients]
            done, _ = concurrent.futures.wait(futures, timeout=deadline)
        results: list[object] = []
        for future in futures:
            if future not in done:
                future.cancel()
                results.append(TimeoutError())
            elif (error := future.exception()) is not None:
                results.append(error)
            else:
                results.append(future.result())
        return stopwatch, results

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        clients = [self._device(entry, persist=False) for entry in devices]
        try:
            stopwatch, results = self._pass(clients, self._config.deadline(len(devices)))
        finally:
            for client in clients:
                client.close()
        return _sample(stopwatch, [why_not(r) for r in results])

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        clients = [self._device(entry, persist=True) for entry in devices]
        deadline = self._config.deadline(len(devices))
        try:
            # tinytuya connects on the first request: that first round opens the connections.
            _, connected = self._pass(clients, deadline)
            failed = [why_not(r) for r in connected if why_not(r) is not None]
            if failed:
                raise SetupError(f"{len(failed)} of {len(clients)} devices did not answer: {failed[0]}")
            samples: list[Sample] = []
            for index in range(warmup + rounds):
                stopwatch, results = self._pass(clients, deadline)
                if index >= warmup:
                    samples.append(_sample(stopwatch, [why_not(r) for r in results]))
            return samples
        finally:
            for client in clients:
                client.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


# -- the floor -----------------------------------------------------------------------------


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """One whole frame: the header, then the length it announces (no checks beyond a cap)."""
    head = await reader.readexactly(_HEADER_55AA)
    prefix = head[:4]
    if prefix == tuya.PREFIX_55AA_BIN:
        length = int.from_bytes(head[12:16], "big")
        tail = 0
    elif prefix == tuya.PREFIX_6699_BIN:
        head += await reader.readexactly(_HEADER_6699 - _HEADER_55AA)
        length = int.from_bytes(head[14:18], "big")
        tail = _SUFFIX_6699
    else:
        raise ValueError(f"not a frame prefix: {prefix.hex()}")
    if length > _MAX_FRAME:
        raise ValueError(f"frame length {length} above the cap")
    return head + await reader.readexactly(length + tail)


@dataclass(slots=True)
class _Stream:
    frames: FloorFrames
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def _close_stream(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class FloorClient:
    """Precomputed frames over bare asyncio streams: what any client must at least spend."""

    name = "floor"

    def __init__(self, runner: asyncio.Runner, config: ClientConfig) -> None:
        self._runner = runner
        self._config = config
        self._frames: dict[str, FloorFrames] = {}
        self.description = (
            "asyncio.open_connection, one asyncio.gather over all devices, precomputed request "
            "frames (fleet started with --bench-fixed-nonces), one reply read per request by "
            "header and announced length; replies decrypted and checked after the clock stops; "
            "no connect limit"
        )

    def _frames_for(self, devices: Sequence[DeviceEntry]) -> list[FloorFrames]:
        for entry in devices:
            if entry.dev_id not in self._frames or self._frames[entry.dev_id].entry != entry:
                self._frames[entry.dev_id] = precompute(entry)
        return [self._frames[entry.dev_id] for entry in devices]

    @staticmethod
    async def _open(frames: FloorFrames, *, query: bool) -> tuple[_Stream, bytes | None]:
        """Connect, handshake if needed, and (``query``) send the first query and read its reply."""
        entry = frames.entry
        reader, writer = await asyncio.open_connection(entry.host, entry.port)
        stream = _Stream(frames, reader, writer)
        try:
            if frames.start:
                writer.write(frames.start)
                await read_frame(reader)  # the device's nonce and proof: not checked, not needed
                writer.write(frames.finish_query if query else frames.finish)
            elif query:
                writer.write(frames.query)
            return stream, (await read_frame(reader) if query else None)
        except BaseException:
            await _close_stream(writer)
            raise

    async def _cold_one(self, frames: FloorFrames) -> bytes:
        stream, reply = await self._open(frames, query=True)
        await _close_stream(stream.writer)
        assert reply is not None
        return reply

    @staticmethod
    async def _exchange(stream: _Stream) -> bytes:
        stream.writer.write(stream.frames.query)
        return await read_frame(stream.reader)

    @staticmethod
    def _reasons(frames: Sequence[FloorFrames], results: Sequence[object]) -> list[str | None]:
        reasons: list[str | None] = []
        for item, result in zip(frames, results, strict=True):
            if isinstance(result, bytes):
                reasons.append(None if item.check(result) else "invalid reply")
            else:
                reasons.append(type(result).__name__)
        return reasons

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        frames = self._frames_for(devices)
        return self._runner.run(self._cold(frames))

    async def _cold(self, frames: Sequence[FloorFrames]) -> Sample:
        gc.collect()
        with Stopwatch() as stopwatch:
            results = await bounded_gather(
                [self._cold_one(f) for f in frames], self._config.deadline(len(frames))
            )
        return _sample(stopwatch, self._reasons(frames, results))

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        frames = self._frames_for(devices)
        return self._runner.run(self._warm(frames, rounds=rounds, warmup=warmup))

    async def _warm(self, frames: Sequence[FloorFrames], *, rounds: int, warmup: int) -> list[Sample]:
        deadline = self._config.deadline(len(frames))
        opened = await bounded_gather([self._open(f, query=False) for f in frames], deadline)
        streams: list[_Stream] = all_opened(opened)
        try:
            require_all(opened, streams, len(frames))
            return await timed_rounds(
                lambda: [self._exchange(s) for s in streams],
                lambda results: self._reasons(frames, results),
                rounds=rounds,
                warmup=warmup,
                deadline=deadline,
            )
        finally:
            await bounded_gather([_close_stream(s.writer) for s in streams], deadline)

    def close(self) -> None:
        self._frames.clear()


# -- the protocol core alone ---------------------------------------------------------------

_NONCE_LEN: Final = 16
_GCM_IV_LEN: Final = 12
_READ_SIZE: Final = 64 * 1024


@dataclass(slots=True)
class _CoreDevice:
    entry: DeviceEntry
    builder: PayloadBuilder
    query_dps: dict[str, Any] | None
    gcm: bool


@dataclass(slots=True)
class _CoreStream:
    device: _CoreDevice
    session: Session
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


def _core_iv(device: _CoreDevice) -> bytes | None:
    return os.urandom(_GCM_IV_LEN) if device.gcm else None


async def _next_event(stream: _CoreStream) -> object:
    """The next protocol event, reading as much as it takes (EOF ends the exchange)."""
    while (event := stream.session.next_event()) is None:
        data = await stream.reader.read(_READ_SIZE)
        if not data:
            raise ConnectionError("device closed the connection")
        stream.session.receive_data(data)
    return event


class CoreClient:
    """Our protocol core over bare asyncio streams: the protocol's own cost, nothing more."""

    name = "core"

    def __init__(self, runner: asyncio.Runner, config: ClientConfig) -> None:
        self._runner = runner
        self._config = config
        self.description = (
            "asyncio.open_connection + tinytuya_asyncio.protocol.Session, one asyncio.gather over "
            "all devices: real handshake (random nonces), JSON body built, encrypted and framed, "
            "reply verified, decrypted and parsed into a result dict; no device objects, "
            "timers, retries or connect limit"
        )

    @staticmethod
    def _devices(devices: Sequence[DeviceEntry]) -> list[_CoreDevice]:
        out = []
        for entry in devices:
            spec = version_spec(entry.version)
            dev_type = "device22" if entry.version == "3.2" else "default"
            builder = PayloadBuilder(version=spec, dev_id=entry.dev_id, dev_type=dev_type)
            out.append(_CoreDevice(entry, builder, query_dps(entry), spec.number >= 3.5))
        return out

    @staticmethod
    def _query(device: _CoreDevice, session: Session) -> bytes:
        cmd, body = device.builder.build(tuya.DP_QUERY, t=int(time.time()), query_dps=device.query_dps)
        return session.send(cmd, body, iv=_core_iv(device))

    async def _open(self, device: _CoreDevice, *, query: bool) -> tuple[_CoreStream, object]:
        entry = device.entry
        session = Session(Role.CLIENT, entry.version, entry.key_bytes)
        reader, writer = await asyncio.open_connection(entry.host, entry.port)
        stream = _CoreStream(device, session, reader, writer)
        try:
            prefix = b""
            if session.spec.needs_session_key:
                writer.write(session.start_handshake(os.urandom(_NONCE_LEN), iv=_core_iv(device)))
                if not isinstance(await _next_event(stream), HandshakeResponded):
                    raise ConnectionError("no handshake response")
                prefix = session.finish_handshake(iv=_core_iv(device))
            if not query:
                if prefix:
                    writer.write(prefix)
                return stream, None
            writer.write(prefix + self._query(device, session))
            return stream, await self._reply(stream)
        except BaseException:
            await _close_stream(writer)
            raise

    @staticmethod
    async def _reply(stream: _CoreStream) -> object:
        event = await _next_event(stream)
        if not isinstance(event, MessageReceived):
            raise ConnectionError(f"unexpected {type(event).__name__}")
        return decode_result(event.message, stream.session.spec)

    async def _cold_one(self, device: _CoreDevice) -> object:
        stream, result = await self._open(device, query=True)
        await _close_stream(stream.writer)
        return result

    async def _exchange(self, stream: _CoreStream) -> object:
        stream.writer.write(self._query(stream.device, stream.session))
        return await self._reply(stream)

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        return self._runner.run(self._cold(self._devices(devices)))

    async def _cold(self, devices: Sequence[_CoreDevice]) -> Sample:
        gc.collect()
        with Stopwatch() as stopwatch:
            results = await bounded_gather(
                [self._cold_one(d) for d in devices], self._config.deadline(len(devices))
            )
        return _sample(stopwatch, [why_not(r) for r in results])

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        return self._runner.run(self._warm(self._devices(devices), rounds=rounds, warmup=warmup))

    async def _warm(self, devices: Sequence[_CoreDevice], *, rounds: int, warmup: int) -> list[Sample]:
        deadline = self._config.deadline(len(devices))
        opened = await bounded_gather([self._open(d, query=False) for d in devices], deadline)
        streams: list[_CoreStream] = all_opened(opened)
        try:
            require_all(opened, streams, len(devices))
            return await timed_rounds(
                lambda: [self._exchange(s) for s in streams],
                _why_not_each,
                rounds=rounds,
                warmup=warmup,
                deadline=deadline,
            )
        finally:
            await bounded_gather([_close_stream(s.writer) for s in streams], deadline)

    def close(self) -> None:
        pass
