"""Is there a Tuya device at this address, which one, and which protocol does it speak?

The TCP side of a force scan, one address at a time, with nothing but the devices file's
keys. Every connection is bounded by a connect deadline and every read by a reply
deadline, and each one is closed before the next opens (devices take one client).

1. Connect. Refused, unreachable or timed out: nothing there.
2. Send a status query that needs no key (a 55AA frame, empty body). Firmware answers by
   version:

   * 3.1 answers in clear, with its ``devId``: the devices file gives its name and key.
   * 3.2 and 3.3 answer with a body encrypted under the local key: each key of the file is
     tried on it offline (no more traffic), and a keyed status query then confirms the
     device and tells 3.2 from 3.3 (3.2 firmware is always of the device22 kind, whose
     refusal and answer carry the version in clear). Without a fitting key it is reported
     as 3.3, as tinytuya does.
   * 3.4 and 3.5 close the connection (or say nothing): the key has to be proven in a
     session-key handshake, one connection per key and version tried, the keys of entries
     whose address or version fits first and keys already matched elsewhere last.

A device that answers but whose key is not in the file is still reported, without an id.
Nothing here changes a device's state: only status queries and handshakes are sent.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import json
import os
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import RemoteProtocolError
from tinytuya_asyncio.protocol import (
    Codec,
    Frame,
    FrameReader,
    HandshakeResponded,
    PayloadBuilder,
    Role,
    Session,
    version_spec,
)
from tinytuya_asyncio.protocol.crypto import KeyedCipher
from tinytuya_asyncio.protocol.results import DATA_UNVALID
from tinytuya_asyncio.scanner.devicesfile import DeviceDirectory, KnownDevice

_NONCE_LEN: Final = 16
_GCM_IV_LEN: Final = 12
_READ_SIZE: Final = 4096
#: A probe reads a few small frames; a device sending more than this is not answering a query.
_MAX_PAYLOAD: Final = 4096
_HEADER_55AA: Final = struct.Struct(tuya.HEADER_FMT_55AA)
_RETCODE_LEN: Final = 4
_CRC_TAIL_LEN: Final = 8
_V3X_HEADER_LEN: Final = 15
_CLASSIC: Final = ("3.2", "3.3")
_SESSION: Final = ("3.4", "3.5")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one address turned out to be."""

    #: ``""`` when the device answered but no key of the devices file fits it.
    version: str
    known: KnownDevice | None = None
    #: The id the device gave itself (3.1 says it in clear), when no entry matched.
    dev_id: str = ""


@dataclass(slots=True)
class ProbeSettings:
    """Deadlines and the shared state of one sweep."""

    port: int = tuya.TCPPORT
    connect_timeout: float = 3.0
    reply_timeout: float = 1.5
    #: Ids already matched at another address: their keys are tried last.
    claimed: set[str] | None = None


class _Link:
    """One probe connection: write frames, read whole frames, with deadlines."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._frames = FrameReader(_MAX_PAYLOAD)
        self._pending: list[Frame] = []

    @classmethod
    async def open(cls, host: str, port: int, timeout: float) -> _Link | None:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError):
            return None
        return cls(reader, writer)

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def frame(self, timeout: float) -> Frame | None:
        """The next whole frame; None when the peer closes, resets or stays silent."""
        try:
            async with asyncio.timeout(timeout):
                while not self._pending:
                    data = await self._reader.read(_READ_SIZE)
                    if not data:
                        return None
                    self._pending.extend(self._frames.feed(data))
        except (OSError, TimeoutError):
            return None
        return self._pending.pop(0)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()


def _keyless_query() -> bytes:
    # A 3.1 codec needs no key; with an empty body this is a bare 55AA/CRC status query.
    return Codec("3.1", b"", Role.CLIENT).encode(tuya.DP_QUERY, b"", 1)


def _device_payload(frame: Frame) -> bytes | None:
    """A 55AA device frame's body after its return code, if its CRC is right."""
    data = frame.data
    end = len(data) - _CRC_TAIL_LEN
    if end < _HEADER_55AA.size + _RETCODE_LEN:
        return None
    if struct.unpack_from(">I", data, end)[0] != binascii.crc32(data[:end]):
        return None
    return data[_HEADER_55AA.size + _RETCODE_LEN : end]


def _version_header(payload: bytes) -> str | None:
    """``"3.3"`` when ``payload`` starts with a clear 3.x version header."""
    head = payload[:3]
    if payload[3:_V3X_HEADER_LEN] == tuya.PROTOCOL_3X_HEADER and head in (b"3.2", b"3.3"):
        return head.decode()
    return None


def _plausible(plain: bytes) -> bool:
    """Decrypted text that a device would send: a JSON object or printable ASCII."""
    if plain[:1] == b"{":
        with contextlib.suppress(ValueError):
            return isinstance(json.loads(plain), dict)
        return False
    return bool(plain) and all(32 <= b < 127 for b in plain)


def _ordered(
    candidates: Iterable[KnownDevice], host: str, versions: Sequence[str], claimed: set[str]
) -> list[KnownDevice]:
    """Likeliest first: the address fits, then the version, unknown versions, others; claimed last."""

    def rank(entry: KnownDevice) -> tuple[bool, bool, int]:
        fit = 0 if entry.version in versions else 1 if not entry.version else 2
        return (entry.id in claimed, entry.ip != host, fit)

    return sorted(candidates, key=rank)


async def probe_address(host: str, directory: DeviceDirectory, settings: ProbeSettings) -> ProbeResult | None:
    """Identify the device at ``host`` (see the module docstring); None when nothing answers."""
    claimed = settings.claimed if settings.claimed is not None else set()
    link = await _Link.open(host, settings.port, settings.connect_timeout)
    if link is None:
        return None
    try:
        link.write(_keyless_query())
        frame = await link.frame(settings.reply_timeout)
        if frame is not None and frame.prefix == tuya.PREFIX_55AA:
            result = await _classic(link, frame, host, directory, settings)
            if result is not None:
                return result
    finally:
        await link.close()
    return await _session_search(host, directory, settings, claimed)


async def _classic(
    link: _Link,
    frame: Frame,
    host: str,
    directory: DeviceDirectory,
    settings: ProbeSettings,
) -> ProbeResult | None:
    """3.1 to 3.3: the answer to the keyless query tells the version, the key decrypts it."""
    payload = _device_payload(frame)
    if payload is None:
        return None
    if payload[:1] == b"{":  # 3.1 answers status in clear
        dev_id = ""
        with contextlib.suppress(ValueError):
            body = json.loads(payload)
            if isinstance(body, dict):
                dev_id = str(body.get("devId") or body.get("gwId") or "")
        return ProbeResult("3.1", directory.by_id(dev_id), dev_id)
    header = _version_header(payload)
    body = payload[_V3X_HEADER_LEN:] if header else payload
    for entry in _ordered(directory.with_keys(), host, _CLASSIC, settings.claimed or set()):
        plain = KeyedCipher(entry.key.encode("latin1")).ecb_decrypt(body)
        if plain is not None and _plausible(plain):
            version = header or await _classic_version(link, entry, settings)
            if version is not None:
                return ProbeResult(version, entry)
    # Encrypted, so 3.2 or 3.3; without the key only a header would tell, and 3.3 is the rule.
    return ProbeResult(header or "3.3")


async def _classic_version(link: _Link, entry: KnownDevice, settings: ProbeSettings) -> str | None:
    """Confirm ``entry`` with a keyed status query; 3.3, or the version a device22 answer carries."""
    key = entry.key.encode("latin1")
    spec = version_spec("3.3")
    query = PayloadBuilder(version=spec, dev_id=entry.id).build(tuya.DP_QUERY, t=int(time.time()))
    link.write(Codec(spec, key, Role.CLIENT).encode(*query, 2))
    frame = await link.frame(settings.reply_timeout)
    payload = _device_payload(frame) if frame is not None else None
    if payload is None:
        return None
    plain = KeyedCipher(key).ecb_decrypt(payload[_V3X_HEADER_LEN:] if _version_header(payload) else payload)
    if plain is None:
        return None
    if DATA_UNVALID not in plain:
        return _version_header(payload) or "3.3"
    # device22 firmware (all 3.2, some 3.3): its own query form, answered with a clear header.
    builder = PayloadBuilder(version=spec, dev_id=entry.id, dev_type="device22")
    query = builder.build(tuya.DP_QUERY, t=int(time.time()), query_dps={"1": None})
    link.write(Codec(spec, key, Role.CLIENT).encode(*query, 3))
    frame = await link.frame(settings.reply_timeout)
    payload = _device_payload(frame) if frame is not None else None
    return (_version_header(payload) if payload is not None else None) or "3.3"


async def _session_search(
    host: str, directory: DeviceDirectory, settings: ProbeSettings, claimed: set[str]
) -> ProbeResult:
    """3.4/3.5: the key (and version) whose handshake the device completes."""
    for entry in _ordered(directory.with_keys(), host, _SESSION, claimed):
        versions = (entry.version,) if entry.version in _SESSION else _SESSION
        for version in versions:
            outcome = await _handshake(host, version, entry.key.encode("latin1"), settings)
            if outcome is None:
                return ProbeResult("")  # the device stopped accepting connections
            if outcome:
                return ProbeResult(version, entry)
    return ProbeResult("")


async def _handshake(host: str, version: str, key: bytes, settings: ProbeSettings) -> bool | None:
    """True when the device proves ``key`` (the proof is its first answer); None: cannot connect."""
    link = await _Link.open(host, settings.port, settings.connect_timeout)
    if link is None:
        return None
    try:
        session = Session(Role.CLIENT, version, key)
        iv = os.urandom(_GCM_IV_LEN) if version == "3.5" else None
        link.write(session.start_handshake(os.urandom(_NONCE_LEN), iv=iv))
        frame = await link.frame(settings.reply_timeout)
        if frame is None:
            return False
        session.receive_data(frame.data)
        try:
            return any(isinstance(event, HandshakeResponded) for event in session.events())
        except RemoteProtocolError:  # wrong key, wrong version, or not a Tuya device
            return False
    finally:
        await link.close()
