"""TuyaConnection against a scripted device: how frames on the wire become answers and pushes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.conn import TuyaConnection, open_connection
from tinytuya_asyncio.connection.pairing import Answer, ReplyRule
from tinytuya_asyncio.exceptions import TuyaError, TuyaTimeoutError
from tinytuya_asyncio.metrics import Reporter
from tinytuya_asyncio.protocol import (
    HandshakeCompleted,
    HandshakeRequested,
    MessageReceived,
    Role,
    Session,
    encode_json,
)
from tinytuya_asyncio.protocol.frames import FrameReader

KEY = b"0123456789abcdef"
#: What the scripted device writes back for a request: a list of (cmd, body) frames, all in
#: one write so that they arrive in one read.
Script = Callable[[int, bytes], list[tuple[int, dict[str, Any] | None]]]


class ScriptedDevice:
    """A 3.3 device whose answers a test dictates; built on the protocol core's device role."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(Role.DEVICE, "3.3", KEY)
        try:
            while data := await reader.read(4096):
                session.receive_data(data)
                for event in session.events():
                    assert isinstance(event, MessageReceived)
                    message = event.message
                    frames = [
                        session.send(cmd, encode_json(body) if body is not None else b"", seqno=message.seqno)
                        for cmd, body in self.script(message.cmd, message.payload)
                    ]
                    writer.write(b"".join(frames))
        finally:
            writer.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Script], ScriptedDevice]]:
    devices: list[ScriptedDevice] = []

    def make(script: Script) -> ScriptedDevice:
        device = ScriptedDevice(script)
        devices.append(device)
        return device

    yield make
    for device in devices:
        if device.server is not None:
            device.server.close()
            await device.server.wait_closed()


async def _connect(device: ScriptedDevice, pushes: list[Answer]) -> TuyaConnection:
    device.server = await asyncio.start_server(device.handle, "127.0.0.1", 0)
    lost: list[TuyaError] = []
    return await open_connection(
        "127.0.0.1",
        device.port,
        Session(Role.CLIENT, "3.3", KEY),
        name="scripted",
        timeout=2,
        on_push=pushes.append,
        on_lost=lambda conn, error, expected: lost.append(error),
        report=Reporter("scripted"),
    )


async def test_a_status_split_over_frames_read_together_is_merged(scripted: Any) -> None:
    device = scripted(
        lambda cmd, body: [(cmd, {"devId": "d", "dps": {"1": True}}), (cmd, {"devId": "d", "dps": {"2": 7}})]
    )
    pushes: list[Answer] = []
    conn = await _connect(device, pushes)
    try:
        reply = await conn.start_request(tuya.DP_QUERY, b"{}", cid=None, rule=ReplyRule.QUERY, timeout=2)
        assert [a.result["dps"] for a in reply.answers] == [{"1": True}, {"2": 7}]
        assert pushes == []
    finally:
        conn.close()
        await conn.wait_closed()


async def test_ack_then_status_answers_a_control_and_other_frames_are_pushes(scripted: Any) -> None:
    device = scripted(
        lambda cmd, body: [
            (tuya.STATUS, {"devId": "d", "dps": {"9": 1}, "cid": "other"}),  # another child's push
            (cmd, None),  # the ack
            (tuya.STATUS, {"devId": "d", "dps": {"1": False}}),  # what the command changed
        ]
    )
    pushes: list[Answer] = []
    conn = await _connect(device, pushes)
    try:
        reply = await conn.start_request(
            tuya.CONTROL, b'{"dps":{"1":false}}', cid=None, rule=ReplyRule.CONTROL, timeout=2
        )
        assert reply.acked
        assert [a.result["dps"] for a in reply.answers] == [{"1": False}]
        assert [p.result["dps"] for p in pushes] == [{"9": 1}]
        assert pushes[0].cid == "other"
    finally:
        conn.close()


async def test_a_query_only_acked_returns_the_ack_at_its_deadline(scripted: Any) -> None:
    device = scripted(lambda cmd, body: [(cmd, None)])
    conn = await _connect(device, [])
    try:
        reply = await conn.start_request(tuya.DP_QUERY, b"{}", cid=None, rule=ReplyRule.QUERY, timeout=0.1)
        assert reply.acked
        assert reply.answers == ()
        assert conn.is_open  # the device answered: no reason to drop the connection
    finally:
        conn.close()


async def test_no_answer_at_all_ends_the_connection(scripted: Any) -> None:
    device = scripted(lambda cmd, body: [])
    conn = await _connect(device, [])
    with pytest.raises(TuyaTimeoutError):
        await conn.start_request(tuya.DP_QUERY, b"{}", cid=None, rule=ReplyRule.QUERY, timeout=0.1)
    assert not conn.is_open
    await conn.wait_closed()
    with pytest.raises(TuyaError):
        conn.send(tuya.HEART_BEAT, b"{}")


class HandshakingDevice:
    """A 3.4/3.5 device that answers the handshake and every query; ``finished`` is set on FINISH."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.finished = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(Role.DEVICE, self.version, KEY)
        iv = b"\x01" * 12 if self.version == "3.5" else None
        try:
            while data := await reader.read(4096):
                session.receive_data(data)
                for event in session.events():
                    if isinstance(event, HandshakeRequested):
                        writer.write(session.answer_handshake(b"\x02" * 16, seqno=event.seqno, iv=iv))
                    elif isinstance(event, HandshakeCompleted):
                        self.finished.set()
                    elif isinstance(event, MessageReceived):
                        body = encode_json({"devId": "d", "dps": {"1": True}})
                        writer.write(session.send(event.message.cmd, body, seqno=event.message.seqno, iv=iv))
        finally:
            writer.close()


class _RecordingTransport:
    """Stands between a connection and its transport, recording each write's commands."""

    def __init__(self, transport: asyncio.BaseTransport, recorded: list[list[int]]) -> None:
        self._transport = transport
        self._recorded = recorded

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._recorded.append([frame.cmd for frame in FrameReader().feed(bytes(data))])
        self._transport.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The commands of the frames in each write a connection makes to its transport."""
    recorded: list[list[int]] = []
    made = TuyaConnection.connection_made

    def spy(self: TuyaConnection, transport: asyncio.BaseTransport) -> None:
        # A proxy rather than a patched method: uvloop's transports take no new attributes.
        made(self, _RecordingTransport(transport, recorded))  # type: ignore[arg-type]

    monkeypatch.setattr(TuyaConnection, "connection_made", spy)
    return recorded


@contextlib.asynccontextmanager
async def _handshaken(device: HandshakingDevice) -> AsyncIterator[TuyaConnection]:
    server = await asyncio.start_server(device.handle, "127.0.0.1", 0)
    conn = await open_connection(
        "127.0.0.1",
        int(server.sockets[0].getsockname()[1]),
        Session(Role.CLIENT, device.version, KEY),
        name="handshaking",
        timeout=2,
        on_push=lambda answer: None,
        on_lost=lambda conn, error, expected: None,
        report=Reporter("handshaking"),
    )
    try:
        yield conn
    finally:
        conn.close()
        await conn.wait_closed()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("version", ["3.4", "3.5"])
async def test_finish_and_the_first_request_go_out_in_one_write(
    version: str, writes: list[list[int]]
) -> None:
    device = HandshakingDevice(version)
    async with _handshaken(device) as conn:
        reply = await conn.start_request(tuya.DP_QUERY, b"{}", cid=None, rule=ReplyRule.QUERY, timeout=2)
        assert [a.result["dps"] for a in reply.answers] == [{"1": True}]
    assert writes == [[tuya.SESS_KEY_NEG_START], [tuya.SESS_KEY_NEG_FINISH, tuya.DP_QUERY]]


async def test_finish_goes_out_alone_when_no_request_follows(writes: list[list[int]]) -> None:
    device = HandshakingDevice("3.4")
    async with _handshaken(device):
        await asyncio.wait_for(device.finished.wait(), 2)
    assert writes == [[tuya.SESS_KEY_NEG_START], [tuya.SESS_KEY_NEG_FINISH]]
