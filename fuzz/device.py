"""The simulator's device role: hostile bytes from a "client" into a simulated device's connection.

A :class:`DeviceConnection` of a real :class:`DeviceServer` (state, firmware use cases,
stats), with a transport that only records, is fed through ``data_received`` as an event
loop feeds it. The invariant: the connection answers what parses, or closes after a frame it
cannot accept (counted once in ``stats.protocol_errors``); no exception escapes, nothing is
logged at ERROR.

3.4/3.5 devices answer the handshake with a fixed nonce (the benchmarks' ``fixed_nonce``),
so that the session key is known in advance and inputs can be sealed under it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Final

from fuzz.inputs import (
    CHILD_CID,
    DEV_ID,
    DEVICE_NONCE,
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
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import Role
from tinytuya_asyncio.simulator.faults import Faults
from tinytuya_asyncio.simulator.server import ConnectionPolicy, DeviceServer
from tinytuya_asyncio.simulator.service import DeviceConnection
from tinytuya_asyncio.simulator.state import DeviceState
from tinytuya_asyncio.simulator.stats import DeviceStats

#: The simulated clock (replies carry it as ``t``).
FIXED_TIME: Final = 1_700_000_000
ESTABLISHED: Final = "established"
IDLE: Final = "idle"
AWAIT_FINISH: Final = "await-finish"
#: What the firmware is asked for, first: what a hostile client is most likely to send.
_COMMANDS: Final = (
    tuya.CONTROL,
    tuya.DP_QUERY,
    tuya.CONTROL_NEW,
    tuya.DP_QUERY_NEW,
    tuya.UPDATEDPS,
    tuya.HEART_BEAT,
    tuya.LAN_EXT_STREAM,
)


def open_device_connection(server: DeviceServer) -> tuple[DeviceConnection, RecordingTransport]:
    """A simulated device's connection, made as the event loop makes it (construct, connect)."""
    connection = DeviceConnection(server)
    transport = RecordingTransport()
    connection.connection_made(transport)
    return connection, transport


def feed(connection: DeviceConnection, reads: Iterable[bytes]) -> None:
    for data in reads:
        connection.data_received(data)


class DeviceRig:
    """A simulated device (or gateway with one child) serving one connection per input."""

    def __init__(self, variant: Variant, *, gateway: bool) -> None:
        self.variant = variant
        spec = self.spec = variant.spec
        keyed = spec.needs_session_key
        self.state = DeviceState.create(
            DEV_ID,
            KEY,
            version=variant.version,
            dps={"1": True, "2": 10, "3": "auto", "101": [1, 2]},
            device22=variant.device22,
            children={CHILD_CID: {"1": False, "2": 0}} if gateway else None,
            fixed_nonce=DEVICE_NONCE if keyed else None,
        )
        self.stats = DeviceStats()
        faults = Faults()
        self.server = DeviceServer(
            self.state,
            self.stats,
            faults=lambda: faults,
            clock=lambda: FIXED_TIME,
            policy=ConnectionPolicy.MULTIPLE,
            push_on_control=True,
        )
        self.states: tuple[str, ...] = (ESTABLISHED,)
        self._prefix = {ESTABLISHED: b""}
        self._sealers = {ESTABLISHED: Sealer(spec, Role.CLIENT, session=True)}
        self._extra: dict[str, tuple[bytes, ...]] = {ESTABLISHED: ()}
        if keyed:
            frames = handshake_frames(spec)
            self.states = (ESTABLISHED, IDLE, AWAIT_FINISH)
            self._prefix = {ESTABLISHED: frames.start + frames.finish, IDLE: b"", AWAIT_FINISH: frames.start}
            plain = Sealer(spec, Role.CLIENT, session=False)
            self._sealers.update({IDLE: plain, AWAIT_FINISH: plain})
            self._extra = {
                ESTABLISHED: (frames.start,),
                IDLE: (frames.start,),
                AWAIT_FINISH: (frames.finish,),
            }

    def draw(self, c: Choices, bodies: Bodies = hostile_body) -> tuple[str, list[bytes], int]:
        """An input: the state it finds the connection in, the reads, and their frame count."""
        state = pick(c, self.states)
        commands = {
            IDLE: (tuya.SESS_KEY_NEG_START,),
            AWAIT_FINISH: (tuya.SESS_KEY_NEG_FINISH,),
        }.get(state, _COMMANDS)
        stream = hostile_stream(c, self._sealers[state], commands, self._extra[state], bodies)
        return state, stream.reads, stream.frames

    async def run(self, c: Choices, tally: Tally, bodies: Bodies = hostile_body) -> Case:
        """Draw one input and execute it."""
        state, reads, frames = self.draw(c, bodies)
        tally.frames += frames
        case = self.execute(state, reads, tally)
        # Let the loop run, as it does between reads: it drops the timers a closed connection
        # cancelled (its close grace), which would otherwise keep every connection alive.
        await asyncio.sleep(0)
        return case

    def execute(self, state: str, reads: list[bytes], tally: Tally) -> Case:
        """Feed ``reads`` to a fresh connection in ``state``, judge what happened; the case run."""
        case = Case("device", self.variant.name, self.state.is_gateway, state, None, tuple(reads))
        tally.cases += 1
        connection, transport = open_device_connection(self.server)
        prefix = self._prefix[state]
        if prefix:
            connection.data_received(prefix)
            if state == ESTABLISHED and not connection.ready:
                raise RuntimeError("the handshake with the fixed nonces did not complete")
        errors, writes = self.stats.protocol_errors, transport.writes
        try:
            feed(connection, reads)
        except Exception as exc:
            tally.violate_exc("escaped data_received", exc, case)
        refused = self.stats.protocol_errors - errors
        if refused > 1 or (refused and not transport.closed):
            tally.violate("bad frame not followed by exactly one close", f"{refused} errors", case)
        elif refused:
            tally.count("closed after a bad frame")
        elif transport.closed:
            tally.violate("closed without counting a protocol error", "", case)
        elif transport.writes > writes:
            tally.count("answered")
        else:
            tally.count("open, nothing to answer")
        connection.connection_lost(None)
        return case
