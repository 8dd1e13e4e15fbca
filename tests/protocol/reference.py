"""tinytuya as the referee: its own encoders and decoders, driven without any I/O.

tinytuya's ``XenonDevice`` can touch the network from its constructor (auto-IP scan, and
``set_version(3.2)`` probes the device's DPS). Every device here is built with an explicit
address, 3.2 is reached with a DPS list already set, and both network paths are patched to
fail loudly while a device is constructed.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast
from unittest import mock

import tinytuya

XENON_MODULE = sys.modules["tinytuya.core.XenonDevice"]


@contextmanager
def no_network() -> Iterator[None]:
    """Fail any tinytuya call that would scan or open a socket."""
    refuse = AssertionError("tinytuya tried to use the network in a protocol test")
    with (
        mock.patch.object(tinytuya.XenonDevice, "_send_receive", side_effect=refuse),
        mock.patch.object(tinytuya.XenonDevice, "_get_socket", side_effect=refuse),
        mock.patch.object(XENON_MODULE, "find_device", side_effect=refuse),
    ):
        yield


def set_version(dev: Any, version: str) -> None:
    """``dev.set_version`` without the network probe 3.2 would run (device22 needs a DPS list)."""
    if version == "3.2" and not dev.dps_to_request:
        dev.dps_to_request = {"1": None}
    with no_network():
        dev.set_version(float(version))


def make_device(
    version: str,
    key: bytes,
    dev_id: str = "eb0123456789abcdefgh",
    *,
    dev_type: str = "default",
) -> Any:
    """A standalone tinytuya ``XenonDevice`` speaking ``version``."""
    with no_network():
        dev = tinytuya.XenonDevice(
            dev_id, address="127.0.0.1", local_key=key.decode("latin1"), dev_type=dev_type, version=3.3
        )
    set_version(dev, version)
    return dev


def make_gateway(version: str, key: bytes, gw_id: str, child_id: str, cid: str) -> tuple[Any, Any]:
    """A gateway and one registered child (the child shares the parent's connection)."""
    with no_network():
        gateway = tinytuya.XenonDevice(
            gw_id, address="127.0.0.1", local_key=key.decode("latin1"), version=3.3
        )
        child = tinytuya.XenonDevice(child_id, cid=cid, parent=gateway)
    for dev in (gateway, child):
        set_version(dev, version)
    return gateway, child


def encode_client(dev: Any, cmd: int, payload: bytes, seqno: int) -> bytes:
    """A client frame from ``XenonDevice._encode_message`` (random IV on 3.5)."""
    dev.seqno = seqno
    return cast("bytes", dev._encode_message(tinytuya.MessagePayload(cmd, payload)))


def encode_device(
    version: str, key: bytes, cmd: int, payload: bytes, seqno: int, retcode: int, iv: bytes
) -> bytes:
    """A device frame from ``tinytuya.pack_message`` with ``retcode``.

    tinytuya has no device-side encoder, so a 55AA body is the one its client encoder builds
    for the same command (3.1 devices encrypt STATUS like a CONTROL); ``pack_message`` then
    frames it behind the clear retcode. 6699 bodies are GCM-encrypted by ``pack_message``.
    """
    if version == "3.5":
        plain = payload
        if payload and cmd not in tinytuya.NO_PROTOCOL_HEADER_CMDS:
            plain = b"3.5" + tinytuya.PROTOCOL_3x_HEADER + payload
        message = tinytuya.TuyaMessage(seqno, cmd, retcode, plain, 0, True, tinytuya.PREFIX_6699_VALUE, iv)
        return cast("bytes", tinytuya.pack_message(message, hmac_key=key))
    hmac_key = key if version == "3.4" else None
    body = b""
    if payload:
        encoder = make_device(version, key)
        body_cmd = tinytuya.CONTROL if version == "3.1" and cmd == tinytuya.STATUS else cmd
        frame = encode_client(encoder, body_cmd, payload, 1)
        body = tinytuya.unpack_message(frame, hmac_key=hmac_key, no_retcode=True).payload
    message = tinytuya.TuyaMessage(
        seqno, cmd, None, struct.pack(">I", retcode) + body, 0, True, tinytuya.PREFIX_55AA_VALUE, None
    )
    return cast("bytes", tinytuya.pack_message(message, hmac_key=hmac_key))


def unpack(dev: Any, frame: bytes, *, from_device: bool) -> Any:
    """``tinytuya.unpack_message`` the way ``XenonDevice._receive`` keys it."""
    hmac_key = dev.local_key if dev.version >= 3.4 else None
    return tinytuya.unpack_message(frame, hmac_key=hmac_key, no_retcode=not from_device)


def decode(dev: Any, frame: bytes, *, from_device: bool) -> tuple[Any, Any]:
    """The ``TuyaMessage`` and the result ``XenonDevice._decode_payload`` makes of its body."""
    message = unpack(dev, frame, from_device=from_device)
    assert message.crc_good, "tinytuya rejected the frame's CRC/HMAC/tag"
    return message, dev._decode_payload(message.payload) if message.payload else None


def as_tinytuya_result(body: object) -> object:
    """What ``_decode_payload`` returns for this JSON body (it copies 3.4's ``data.dps`` up)."""
    if isinstance(body, dict) and "dps" not in body and isinstance(body.get("data"), dict):
        data = body["data"]
        if "dps" in data:
            return {**body, "dps": data["dps"]}
    return body
