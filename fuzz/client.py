"""The client decode path: bytes -> frames -> codec -> result shaping -> device.

A :class:`TuyaConnection` on a client :class:`Session`, with a transport that only records,
is fed through its ``BufferedProtocol`` methods as an event loop feeds it. Its pushes go to
a real :class:`DeviceAsync`'s push handler (gateway child routing, status caches, update
subscribers), and the answer to a pending request goes through the device's reply shaping,
as ``status()`` or ``set_value()`` would take it. :func:`open_connection` is the one place
that builds the connection.

The invariant checked for every input: the connection either stays open having delivered
what parsed, or ends through its fatal funnel with a RemoteProtocolError (the owner hears
it through ``on_lost``, the transport is closed); nothing escapes ``buffer_updated`` or the
device layer, nothing is logged at ERROR, and every data point delivered is in the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from fuzz.inputs import (
    CHILD_CID,
    CHILD_ID,
    CLIENT_NONCE,
    DEV_ID,
    KEY,
    Bodies,
    Choices,
    Sealer,
    Variant,
    handshake_frames,
    hostile_body,
    hostile_stream,
    pick,
)
from fuzz.outcomes import Case, Tally
from fuzz.transport import RecordingTransport
from tinytuya_asyncio import DeviceAsync
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.conn import TuyaConnection
from tinytuya_asyncio.connection.pairing import Answer, ReplyRule
from tinytuya_asyncio.exceptions import RemoteProtocolError, TuyaError
from tinytuya_asyncio.metrics import Reporter
from tinytuya_asyncio.protocol import Role, Session
from tinytuya_asyncio.protocol.crypto import KeyedCipher
from tinytuya_asyncio.protocol.dps import dps_of
from tinytuya_asyncio.protocol.results import result_cid

#: Never reached: every case ends its connection itself, so no timer decides an outcome.
REQUEST_TIMEOUT: Final = 3600.0
ESTABLISHED: Final = "established"
AWAIT_RESPONSE: Final = "await-response"

T = TypeVar("T")
LostCallback = Callable[[TuyaConnection, TuyaError, bool], None]


def open_connection(
    session: Session, *, on_push: Callable[[Answer], None], on_lost: LostCallback
) -> tuple[TuyaConnection, RecordingTransport]:
    """A client connection on ``session``, made as the event loop makes it (construct, connect)."""
    connection = TuyaConnection(
        session, name="fuzz", on_push=on_push, on_lost=on_lost, report=Reporter("fuzz")
    )
    transport = RecordingTransport()
    connection.connection_made(transport)
    return connection, transport


def feed(protocol: asyncio.BufferedProtocol, reads: Iterable[bytes]) -> None:
    """Deliver ``reads`` as a loop does: ``get_buffer``, copy in, ``buffer_updated``."""
    for data in reads:
        done = 0
        while done < len(data):
            buffer = memoryview(protocol.get_buffer(len(data) - done))
            size = min(len(buffer), len(data) - done)
            buffer[:size] = data[done : done + size]
            protocol.buffer_updated(size)
            done += size


@dataclass(frozen=True, slots=True)
class Request:
    """A request pending while the input arrives, made as the device method makes it."""

    name: str
    command: int
    data: Any
    rule: ReplyRule
    child: bool = False


REQUESTS: Final = (
    Request("status", tuya.DP_QUERY, None, ReplyRule.QUERY),
    Request("child-status", tuya.DP_QUERY, None, ReplyRule.QUERY, child=True),
    Request("set_value", tuya.CONTROL, {"1": False}, ReplyRule.CONTROL),
    Request("child-set_value", tuya.CONTROL, {"1": False}, ReplyRule.CONTROL, child=True),
    Request("heartbeat", tuya.HEART_BEAT, None, ReplyRule.ACK),
    Request("updatedps", tuya.UPDATEDPS, [1], ReplyRule.CONTROL),
    Request("subdev_query", tuya.LAN_EXT_STREAM, None, ReplyRule.QUERY),
)
REQUESTS_BY_NAME: Final = {r.name: r for r in REQUESTS}


def _ignore_update(update: object) -> None:
    return None


def _at_once(coroutine: Coroutine[Any, Any, T]) -> T:
    """The value of a coroutine that returns without suspending (``cached_status(historic=True)``)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("the coroutine suspended")


class ClientRig:
    """A device (a gateway with one child, or a plain device) fed by one connection per input."""

    def __init__(self, variant: Variant, *, gateway: bool) -> None:
        self.variant = variant
        spec = self.spec = variant.spec
        dev_type = "device22" if variant.device22 else "default"
        self.device = DeviceAsync(DEV_ID, "127.0.0.1", KEY, dev_type, version=variant.version, persist=True)
        self.child = DeviceAsync(CHILD_ID, cid=CHILD_CID, parent=self.device) if gateway else None
        if gateway:  # with subscribers a device computes what changed; without, only caches
            for device in self._devices():
                device.subscribe(_ignore_update)
        self._cipher: KeyedCipher | None = None
        self._gcm = spec.number >= 3.5
        self.states: tuple[str, ...] = (ESTABLISHED,)
        self._sealers = {ESTABLISHED: Sealer(spec, Role.DEVICE, session=True)}
        self._extra: dict[str, tuple[bytes, ...]] = {ESTABLISHED: ()}
        self._resp = b""
        if spec.needs_session_key:
            frames = handshake_frames(spec)
            self._resp = frames.resp
            self.states = (ESTABLISHED, AWAIT_RESPONSE)
            self._sealers[AWAIT_RESPONSE] = Sealer(spec, Role.DEVICE, session=False)
            # The answer that completes the handshake, and a push under the key it negotiates.
            push = self._sealers[ESTABLISHED].sealed(tuya.STATUS, b'{"dps":{"1":true}}', 0, 0, bytes(12))
            self._extra[AWAIT_RESPONSE] = (frames.resp, push)
            self._extra[ESTABLISHED] = (frames.resp,)

    def _devices(self) -> list[DeviceAsync]:
        return [self.device] if self.child is None else [self.device, self.child]

    # -- inputs ----------------------------------------------------------------------------

    def draw(self, c: Choices, bodies: Bodies = hostile_body) -> tuple[str, Request | None, list[bytes], int]:
        """An input: state, pending request, reads, and how many frames they hold."""
        state = pick(c, self.states)
        request = pick(c, (None, *REQUESTS)) if state == ESTABLISHED else None
        if request is not None and request.child and self.child is None:
            request = None
        if state == AWAIT_RESPONSE:
            commands: tuple[int, ...] = (tuya.SESS_KEY_NEG_RESP, tuya.STATUS)
        elif request is not None:
            commands = (self._requester(request).generate_payload(request.command).cmd, tuya.STATUS)
        else:
            commands = (tuya.STATUS, tuya.HEART_BEAT)
        stream = hostile_stream(c, self._sealers[state], commands, self._extra[state], bodies)
        return state, request, stream.reads, stream.frames

    async def run(self, c: Choices, tally: Tally, bodies: Bodies = hostile_body) -> Case:
        """Draw one input and execute it."""
        state, request, reads, frames = self.draw(c, bodies)
        tally.frames += frames
        return await self.execute(state, request, reads, tally)

    # -- one input -------------------------------------------------------------------------

    def _requester(self, request: Request) -> DeviceAsync:
        return self.child if request.child and self.child is not None else self.device

    def _session(self, state: str) -> Session:
        session = Session(Role.CLIENT, self.spec, KEY, device_cipher=self._cipher)
        self._cipher = session.device_cipher
        if self.spec.needs_session_key:
            iv = bytes(12) if self._gcm else None
            session.start_handshake(CLIENT_NONCE, iv=iv)
            if state == ESTABLISHED:
                session.receive_data(self._resp)
                list(session.events())
                session.finish_handshake(iv=iv)
        return session

    async def execute(self, state: str, request: Request | None, reads: list[bytes], tally: Tally) -> Case:
        """Feed ``reads`` to a fresh connection in ``state``, judge what happened; the case run."""
        name = request.name if request else None
        case = Case("client", self.variant.name, self.child is not None, state, name, tuple(reads))
        tally.cases += 1
        lost: list[tuple[TuyaError, bool]] = []

        def on_push(answer: Answer) -> None:
            tally.outcomes["pushes delivered"] += 1
            self.device._on_push(answer)  # the handler the device gives its link
            target = self._push_target(answer.result)
            if target is not None:
                self._check_cached(target, answer.result, tally, case)

        connection, transport = open_connection(
            self._session(state), on_push=on_push, on_lost=lambda _c, error, exp: lost.append((error, exp))
        )
        future = requester = None
        if request is not None:
            requester = self._requester(request)
            payload = requester.generate_payload(request.command, request.data)
            future = connection.start_request(
                payload.cmd, payload.payload, cid=requester.cid, rule=request.rule, timeout=REQUEST_TIMEOUT
            )
        try:
            feed(connection, reads)
        except Exception as exc:
            tally.violate_exc("escaped buffer_updated", exc, case)
        if lost:
            error, expected = lost[0]
            if isinstance(error, RemoteProtocolError) and not expected and transport.closed:
                tally.count(f"ended: {type(error).__name__}")
            else:
                tally.violate(f"connection ended with {type(error).__name__}", str(error)[:200], case)
        if future is not None and requester is not None and future.done():
            self._judge_reply(requester, future, lost, tally, case)
        elif not lost:
            tally.count("open, nothing answered" if request else "open")
        connection.connection_lost(None)
        if future is not None and future.done():
            future.exception()  # a request the close failed: retrieved, as its caller would
        await asyncio.sleep(0)  # let the connection's call_soon callbacks run, as a loop would
        return case

    def _judge_reply(
        self,
        requester: DeviceAsync,
        future: asyncio.Future[Any],
        lost: list[tuple[TuyaError, bool]],
        tally: Tally,
        case: Case,
    ) -> None:
        error = future.exception()
        if error is not None:
            if not lost or error is not lost[0][0]:
                tally.violate(
                    f"request failed with {type(error).__name__} outside the funnel", str(error), case
                )
            return
        try:
            result = requester._process_reply(future.result())  # what status() / set_value() return
        except Exception as exc:
            tally.violate_exc("raised shaping the reply", exc, case)
            return
        if result is None:
            tally.count("reply: None")
        elif "Err" in result:
            code = result["Err"]
            known = isinstance(code, str) and code.isdigit() and len(code) == 3
            tally.count(f"reply: error {code}" if known else "reply: device JSON with an Err key")
        else:
            tally.count("reply: result")
            self._check_cached(self._target(result, requester), result, tally, case)

    def _target(self, result: dict[str, Any], default: DeviceAsync) -> DeviceAsync:
        if self.child is not None and result_cid(result) == CHILD_CID:
            return self.child
        return default

    def _push_target(self, result: dict[str, Any]) -> DeviceAsync | None:
        """Whose cache a push goes to; ``None`` for a gateway's push about a sub-device it has
        no child object for, which is kept out of every cache by design."""
        if self.child is None:
            return self.device
        cid = result_cid(result)
        if cid is None:
            return self.device
        return self.child if cid == CHILD_CID else None

    @staticmethod
    def _check_cached(target: DeviceAsync, result: dict[str, Any], tally: Tally, case: Case) -> None:
        """Every data point a result just delivered carried is now in its device's cache."""
        if "Err" in result or "Error" in result:
            return  # error dicts (and device JSON that looks like one) are not cached
        try:
            cached = dps_of(_at_once(target.cached_status(historic=True)))
            missing = [key for key, val in dps_of(result).items() if cached.get(key, cached) is not val]
        except Exception as exc:
            tally.violate_exc("raised reading the cache", exc, case)
            return
        if missing:
            tally.violate("delivered data points missing from the cache", repr(missing[:5])[:200], case)
