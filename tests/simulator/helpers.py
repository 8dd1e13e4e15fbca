"""Clients for the simulator tests: tinytuya's sync client (the referee) and a raw asyncio
client built on the protocol core's client role (for what tinytuya cannot observe)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import tinytuya

from tinytuya_asyncio.protocol import (
    BytesDiscarded,
    Event,
    HandshakeResponded,
    Message,
    MessageReceived,
    Role,
    Session,
)
from tinytuya_asyncio.simulator import SimulatedDevice

KEY = "0123456789abcdef"
DEV_ID = "simtest0000000000001"
DEV22_ID = "simtest000000000000022"  # device22 firmware has 22-character ids
#: Small timeouts: everything is on loopback, and a test must fail fast, not hang.
TIMEOUT = 2.0

T = TypeVar("T")


def tuya_device(
    dev: SimulatedDevice,
    *,
    cls: type[tinytuya.Device] = tinytuya.OutletDevice,
    key: str | None = None,
    version: str | None = None,
    timeout: float = TIMEOUT,
    **kwargs: Any,
) -> tinytuya.Device:
    """tinytuya's client for ``dev`` (run this in a thread: 3.2 probes the device here)."""
    return cls(
        dev.dev_id,
        address=dev.host,
        local_key=key if key is not None else dev.local_key,
        version=float(version or dev.version),
        port=dev.port,
        connection_timeout=timeout,
        connection_retry_limit=1,
        connection_retry_delay=0,
        **kwargs,
    )


def tuya_device_from_entry(entry: dict[str, Any]) -> tinytuya.Device:
    """tinytuya's client for one entry of a devices file the simulator wrote."""
    return tinytuya.OutletDevice(
        entry["id"],
        address=entry["ip"],
        local_key=entry["key"],
        version=float(entry["version"]),
        port=entry["port"],
        connection_timeout=TIMEOUT,
        connection_retry_limit=1,
        connection_retry_delay=0,
    )


async def in_thread(dev: SimulatedDevice, work: Callable[[tinytuya.Device], T], **kwargs: Any) -> T:
    """Build a tinytuya client for ``dev`` in a worker thread, run ``work`` on it, close it."""

    def run() -> T:
        client = tuya_device(dev, **kwargs)
        try:
            return work(client)
        finally:
            client.close()

    return await asyncio.to_thread(run)


def _iv(session: Session) -> bytes | None:
    return os.urandom(12) if session.spec.number >= 3.5 else None


class RawClient:
    """A minimal asyncio client over ``Session(Role.CLIENT)``; errors surface as raised."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: Session) -> None:
        self.reader = reader
        self.writer = writer
        self.session = session

    @classmethod
    async def connect(
        cls, dev: SimulatedDevice, *, handshake: bool = True, key: str | None = None
    ) -> RawClient:
        assert dev.host is not None
        assert dev.port is not None
        reader, writer = await asyncio.wait_for(asyncio.open_connection(dev.host, dev.port), TIMEOUT)
        local_key = (key if key is not None else dev.local_key).encode("latin1")
        client = cls(reader, writer, Session(Role.CLIENT, dev.version, local_key))
        if handshake and client.session.spec.needs_session_key:
            try:
                await client.handshake()
            except BaseException:
                await client.close()
                raise
        return client

    async def handshake(self) -> None:
        self.writer.write(self.session.start_handshake(os.urandom(16), iv=_iv(self.session)))
        event = await self.next_event()
        assert isinstance(event, HandshakeResponded), event
        self.writer.write(self.session.finish_handshake(iv=_iv(self.session)))
        await self.writer.drain()

    def frame(self, cmd: int, body: dict[str, Any] | bytes | None = None) -> bytes:
        payload = body if isinstance(body, bytes) else b"" if body is None else json.dumps(body).encode()
        return self.session.send(cmd, payload, iv=_iv(self.session))

    async def request(self, cmd: int, body: dict[str, Any] | bytes | None = None) -> int:
        """Send one command; returns its seqno."""
        seqno = self.session.next_seqno
        self.writer.write(self.frame(cmd, body))
        await self.writer.drain()
        return seqno

    async def read_some(self, timeout: float = TIMEOUT) -> bytes:
        """The next bytes from the device; b"" once it closed (a reset counts as closed)."""
        try:
            return await asyncio.wait_for(self.reader.read(65536), timeout)
        except ConnectionError:
            return b""

    async def next_event(self, timeout: float = TIMEOUT) -> Event:
        """The next event; EOFError when the device closes first."""
        async with asyncio.timeout(timeout):
            while (event := self.session.next_event()) is None:
                data = await self.read_some(timeout)
                if not data:
                    raise EOFError("device closed the connection")
                self.session.receive_data(data)
        return event

    async def next_message(self, timeout: float = TIMEOUT) -> Message:
        """The next application message, skipping resynchronisation notices."""
        while True:
            event = await self.next_event(timeout)
            if isinstance(event, MessageReceived):
                return event.message
            assert isinstance(event, BytesDiscarded), event

    async def wait_closed(self, timeout: float = TIMEOUT) -> bytes:
        """Read until the device closes; returns what arrived before EOF."""
        received = bytearray()
        async with asyncio.timeout(timeout):
            while data := await self.read_some(timeout):
                received += data
        return bytes(received)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def raw_client(dev: SimulatedDevice, **kwargs: Any) -> Any:
    client = await RawClient.connect(dev, **kwargs)
    try:
        yield client
    finally:
        await client.close()


def body(message: Message) -> Any:
    return json.loads(message.payload)


def iter_versions() -> Iterator[str]:
    yield from ("3.1", "3.2", "3.3", "3.4", "3.5")
