"""Shared pieces of the protocol-core tests: keys, session pairs and the recorded frame vectors."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    SUPPORTED_VERSIONS,
    Event,
    HandshakeCompleted,
    HandshakeRequested,
    HandshakeResponded,
    Role,
    Session,
    VersionSpec,
    derive_session_key,
    version_spec,
)

KEY = b"0123456789abcdef"
OTHER_KEY = b"fedcba9876543210"
VERSIONS = tuple(spec.text for spec in SUPPORTED_VERSIONS)
KEYED_VERSIONS = ("3.4", "3.5")
#: The application commands the protocol tests send through every version and role.
APP_COMMANDS = (
    tuya.CONTROL,
    tuya.STATUS,
    tuya.HEART_BEAT,
    tuya.DP_QUERY,
    tuya.CONTROL_NEW,
    tuya.DP_QUERY_NEW,
    tuya.UPDATEDPS,
    tuya.LAN_EXT_STREAM,
)
CLIENT_NONCE = bytes(range(16))
DEVICE_NONCE = bytes(range(100, 116))
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "frames"


class IVs:
    """Distinct, reproducible 12-byte GCM IVs (``None`` below 3.5, where frames take none)."""

    def __init__(self, spec: VersionSpec | str) -> None:
        self._gcm = version_spec(spec).number >= 3.5
        self._counter = itertools.count(1)

    def __call__(self) -> bytes | None:
        return next(self._counter).to_bytes(12, "big") if self._gcm else None


def drain(session: Session) -> list[Event]:
    """Every event the session has ready."""
    return list(session.events())


@dataclass
class Pair:
    """A client and a device session that completed their handshake (if the version has one)."""

    client: Session
    device: Session
    #: The negotiated session key (``None`` before 3.4).
    session_key: bytes | None
    ivs: IVs


def established_pair(
    version: str,
    *,
    key: bytes = KEY,
    client_nonce: bytes = CLIENT_NONCE,
    device_nonce: bytes = DEVICE_NONCE,
    max_payload: int | None = None,
) -> Pair:
    """Run the handshake between a fresh client and device session."""
    extra: dict[str, Any] = {} if max_payload is None else {"max_payload": max_payload}
    client = Session(Role.CLIENT, version, key, **extra)
    device = Session(Role.DEVICE, version, key, **extra)
    ivs = IVs(version)
    session_key = None
    if client.spec.needs_session_key:
        device.receive_data(client.start_handshake(client_nonce, iv=ivs()))
        (request,) = drain(device)
        assert request == HandshakeRequested(client_nonce, 1)
        client.receive_data(device.answer_handshake(device_nonce, seqno=request.seqno, iv=ivs()))
        assert drain(client) == [HandshakeResponded()]
        device.receive_data(client.finish_handshake(iv=ivs()))
        assert drain(device) == [HandshakeCompleted()]
        session_key = derive_session_key(client.spec, key, client_nonce, device_nonce)
    assert client.established
    assert device.established
    return Pair(client, device, session_key, ivs)


def chunks(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` split at the given offsets (sorted, clamped, duplicates allowed)."""
    start = 0
    for cut in sorted(min(max(c, 0), len(data)) for c in cuts):
        yield data[start:cut]
        start = cut
    yield data[start:]


# -- recorded frame vectors (tests/fixtures/frames, written by devtools/make_frame_vectors.py) ---


@dataclass(frozen=True)
class FrameVector:
    """One frame tinytuya encoded, with everything needed to decode and re-encode it."""

    version: str
    name: str
    #: ``client->device`` or ``device->client``.
    direction: str
    #: The key in effect for this frame: the local key, or the session key after a handshake.
    key: bytes
    key_kind: str
    local_key: bytes
    cmd: int
    seqno: int
    retcode: int | None
    iv: bytes | None
    payload: bytes
    json: Any
    frame: bytes

    @property
    def id(self) -> str:
        return f"v{self.version}-{self.name}"

    @property
    def sender(self) -> Role:
        return Role.CLIENT if self.direction == "client->device" else Role.DEVICE

    @property
    def receiver(self) -> Role:
        return Role.DEVICE if self.sender is Role.CLIENT else Role.CLIENT

    @property
    def prefix(self) -> int:
        return version_spec(self.version).prefix


def load_vector_file(version: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"v{version}.json").read_text(encoding="utf-8"))
    return data


def _vector(data: dict[str, Any], entry: dict[str, Any]) -> FrameVector:
    return FrameVector(
        version=data["version"],
        name=entry["name"],
        direction=entry["direction"],
        key=bytes.fromhex(entry["key"]),
        key_kind=entry["key_kind"],
        local_key=data["local_key"].encode("latin1"),
        cmd=entry["cmd"],
        seqno=entry["seqno"],
        retcode=entry["retcode"],
        iv=None if entry["iv"] is None else bytes.fromhex(entry["iv"]),
        payload=bytes.fromhex(entry["payload"]),
        json=entry["json"],
        frame=bytes.fromhex(entry["frame"]),
    )


def load_vectors() -> list[FrameVector]:
    files = [load_vector_file(version) for version in VERSIONS]
    return [_vector(data, entry) for data in files for entry in data["vectors"]]


VECTORS = load_vectors()
