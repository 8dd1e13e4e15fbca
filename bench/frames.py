"""What every client asks, and the floor client's precomputed frames.

The floor sends bytes computed before the clock starts. For 3.1-3.3 the status query is a
static frame. For 3.4/3.5 every frame after the handshake depends on both nonces; with the
fleet started with ``--bench-fixed-nonces`` the device's nonce is
:func:`~tinytuya_asyncio.simulator.state.bench_nonce` of its id, and ours is
:data:`CLIENT_NONCE`, so the whole exchange (START, FINISH and the query under the session
key) is computed here once, with the protocol core playing both roles. Replies are read as
bytes during the run and decrypted and checked only afterwards (:meth:`FloorFrames.check`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Final

from bench.fleet import DeviceEntry
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import TuyaError
from tinytuya_asyncio.protocol import (
    Codec,
    FrameReader,
    HandshakeRequested,
    HandshakeResponded,
    PayloadBuilder,
    Role,
    Session,
    derive_session_key,
    version_spec,
)
from tinytuya_asyncio.protocol.results import decode_result
from tinytuya_asyncio.simulator.state import bench_nonce

#: The data points every simulated fleet device has (``Simulator.generate``).
FLEET_DPS: Final = ("1", "9", "18", "19", "20")
#: The floor's handshake nonce (the other half comes from the device, fixed per device).
CLIENT_NONCE: Final = bytes(range(16))
#: The floor's 3.5 GCM IV, reused for every frame. Reusing an IV under one key is unsafe in
#: real use; here it only keeps the frames precomputable.
CLIENT_IV: Final = bytes(range(100, 112))
_DEVICE_IV: Final = bytes(12)


def query_dps(entry: DeviceEntry) -> dict[str, Any] | None:
    """The DP list a status query must name: only device22 firmware (every 3.2 device) needs one.

    Every client is given this list up front, so none of them spends requests probing for it.
    """
    return dict.fromkeys(FLEET_DPS) if entry.version == "3.2" else None


def is_valid_status(result: object) -> bool:
    """True for a sync-style status result that carries the device's DP 1."""
    if not isinstance(result, dict) or "Err" in result:
        return False
    dps = result.get("dps")
    return isinstance(dps, dict) and "1" in dps


@dataclass(frozen=True, slots=True)
class FloorFrames:
    """The bytes the floor sends to one device, and how to check what came back."""

    entry: DeviceEntry
    #: 3.4/3.5: the START frame (written first, then the device's RESP is read); else empty.
    start: bytes
    #: 3.4/3.5: FINISH; written together with the first query of a connection.
    finish: bytes
    #: The status query (DP_QUERY, DP_QUERY_NEW from 3.4, CONTROL_NEW for device22).
    query: bytes
    #: ``finish + query``, joined ahead of time (one write for a cold connection).
    finish_query: bytes
    session_key: bytes | None = field(repr=False)

    def check(self, reply: bytes) -> bool:
        """Decrypt ``reply`` (one frame) and say whether it is a valid status (not timed)."""
        spec = version_spec(self.entry.version)
        codec = Codec(spec, self.entry.key_bytes, Role.CLIENT)
        if self.session_key is not None:
            codec.use_session_key(self.session_key)
        frames = FrameReader().feed(reply)
        if len(frames) != 1:
            return False
        try:
            message = codec.decode(frames[0])
        except TuyaError:
            return False
        if not message.payload or message.retcode not in (None, 0):
            return False
        return is_valid_status(decode_result(message, spec))


def precompute(entry: DeviceEntry, *, t: int | None = None) -> FloorFrames:
    """Compute the floor's frames for ``entry`` (a fleet started with fixed nonces)."""
    spec = version_spec(entry.version)
    key = entry.key_bytes
    dev_type = "device22" if entry.version == "3.2" else "default"
    builder = PayloadBuilder(version=spec, dev_id=entry.dev_id, dev_type=dev_type)
    cmd, body = builder.build(
        tuya.DP_QUERY, t=int(time.time()) if t is None else t, query_dps=query_dps(entry)
    )
    iv = CLIENT_IV if spec.number >= 3.5 else None
    client = Session(Role.CLIENT, spec, key)
    if not spec.needs_session_key:
        query = client.send(cmd, body, iv=iv)
        return FloorFrames(entry, b"", b"", query, query, None)
    # Play the device's part of the handshake with the nonce the fleet's device will use.
    device = Session(Role.DEVICE, spec, key)
    start = client.start_handshake(CLIENT_NONCE, iv=iv)
    device.receive_data(start)
    requested = device.next_event()
    assert isinstance(requested, HandshakeRequested)
    device_nonce = bench_nonce(entry.dev_id)
    response = device.answer_handshake(
        device_nonce, seqno=requested.seqno, iv=_DEVICE_IV if spec.number >= 3.5 else None
    )
    client.receive_data(response)
    assert isinstance(client.next_event(), HandshakeResponded)
    finish = client.finish_handshake(iv=iv)
    query = client.send(cmd, body, iv=iv)
    session_key = derive_session_key(spec, key, CLIENT_NONCE, device_nonce)
    return FloorFrames(entry, start, finish, query, finish + query, session_key)
