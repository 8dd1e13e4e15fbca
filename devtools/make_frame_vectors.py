"""Write the frame vectors in ``tests/fixtures/frames/v3.x.json`` with tinytuya's own encoders.

Every frame is produced by tinytuya 1.x, the independent referee for our codec:

- client -> device frames by ``XenonDevice._encode_message`` (JSON from ``generate_payload``,
  seqno set explicitly);
- device -> client frames by ``tinytuya.pack_message`` with a return code. A 55AA body is
  the one tinytuya's client encoder builds for the same command (tinytuya has no device
  encoder; 3.1 devices encrypt STATUS like a CONTROL body), a 6699 body is GCM-encrypted by
  ``pack_message`` itself;
- 3.5 frames with a fixed 12-byte IV per vector (patched into ``AESCipher``);
- 3.4/3.5 with the three handshake frames (fixed nonces) and frames under the session key
  tinytuya derives (``_negotiate_session_key_generate_finalize``).

The output is deterministic (fixed clock, nonces and IVs) and nothing touches the network:
devices are built with an explicit address, and 3.2 is set without the DPS probe
``set_version(3.2)`` would otherwise run. Run with ``.venv/bin/python devtools/make_frame_vectors.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

import tinytuya
from tinytuya import AESCipher, MessagePayload, TuyaMessage, XenonDevice

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "frames"
VERSIONS = ("3.1", "3.2", "3.3", "3.4", "3.5")
#: The Unix time ``generate_payload`` sees (tinytuya reads the clock itself).
FIXED_TIME = 1_700_000_000
CLIENT_NONCE = bytes.fromhex("00112233445566778899aabbccddeeff")
DEVICE_NONCE = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")
XENON_MODULE = sys.modules["tinytuya.core.XenonDevice"]


def local_key(version: str) -> str:
    """A 16-character test key per version (never a real device's)."""
    return f"vectors-key-{version}!"


def device_id(version: str) -> str:
    # 3.2 devices are "device22" devices, named after their 22-character ids.
    return "eb0123456789abcdefghij" if version == "3.2" else "eb0123456789abcdefgh"


def make_device(version: str) -> Any:
    """A tinytuya device for ``version`` built without any I/O."""
    dev = XenonDevice(device_id(version), address="127.0.0.1", local_key=local_key(version), version=3.3)
    if version == "3.2":
        # set_version(3.2) probes the device's DPS over the network unless a list is set.
        dev.dps_to_request = {"1": None}
    dev.set_version(float(version))
    return dev


@contextmanager
def fixed_iv() -> Iterator[list[bytes]]:
    """Make tinytuya's GCM encryptions use the IV at the end of the yielded list."""
    ivs: list[bytes] = [b"\x00" * 12]
    original = AESCipher.get_encryption_iv

    def get_encryption_iv(cls: type, iv: object) -> object:
        return ivs[-1] if iv is True else original(iv)

    with mock.patch.object(AESCipher, "get_encryption_iv", classmethod(get_encryption_iv)):
        yield ivs


def iv_for(version: str, name: str) -> bytes:
    return hashlib.sha256(f"{version}/{name}".encode()).digest()[:12]


class VectorWriter:
    """Builds the vectors of one version."""

    def __init__(self, version: str, ivs: list[bytes]) -> None:
        self.version = version
        self.spec_gcm = version == "3.5"
        self.keyed = version in {"3.4", "3.5"}
        self.local_key = local_key(version).encode("latin1")
        self.ivs = ivs
        self.vectors: list[dict[str, Any]] = []
        #: The sending client; for 3.4/3.5 it negotiates and then holds the session key.
        self.client = make_device(version)

    # -- client frames -------------------------------------------------------------------

    def client_frame(self, name: str, message: Any, seqno: int) -> bytes:
        dev = self.client
        iv = self._next_iv(name)
        dev.seqno = seqno
        frame: bytes = dev._encode_message(message)
        key = dev.local_key
        self._record(name, "client->device", key, message.cmd, seqno, None, iv, message.payload, frame)
        return frame

    def client_request(self, name: str, command: int, seqno: int, **kwargs: Any) -> None:
        with mock.patch.object(XENON_MODULE, "time", SimpleNamespace(time=lambda: FIXED_TIME)):
            message = self.client.generate_payload(command, **kwargs)
        self.client_frame(name, message, seqno)

    # -- device frames -------------------------------------------------------------------

    def device_frame(  # noqa: PLR0917 - one vector's fields
        self, name: str, cmd: int, seqno: int, retcode: int, payload: bytes, key: bytes
    ) -> bytes:
        iv = self._next_iv(name)
        if self.spec_gcm:
            plain = payload
            if payload and cmd not in tinytuya.NO_PROTOCOL_HEADER_CMDS:
                plain = self.client.version_header + payload
            message = TuyaMessage(seqno, cmd, retcode, plain, 0, True, tinytuya.PREFIX_6699_VALUE, iv)
            frame: bytes = tinytuya.pack_message(message, hmac_key=key)
        else:
            body = self._client_body(cmd, payload, key) if payload else b""
            message = TuyaMessage(
                seqno, cmd, None, struct.pack(">I", retcode) + body, 0, True, tinytuya.PREFIX_55AA_VALUE, None
            )
            frame = tinytuya.pack_message(message, hmac_key=key if self.keyed else None)
        self._record(name, "device->client", key, cmd, seqno, retcode, iv, payload, frame)
        return frame

    def _client_body(self, cmd: int, payload: bytes, key: bytes) -> bytes:
        """The 55AA body tinytuya's client encoder builds for ``cmd`` under ``key``."""
        encoder = make_device(self.version)
        encoder.local_key = key
        body_cmd = tinytuya.CONTROL if self.version == "3.1" and cmd == tinytuya.STATUS else cmd
        frame = encoder._encode_message(MessagePayload(body_cmd, payload))
        hmac_key = key if self.keyed else None
        return bytes(tinytuya.unpack_message(frame, hmac_key=hmac_key, no_retcode=True).payload)

    # -- handshake -------------------------------------------------------------------------

    def handshake(self) -> dict[str, str]:
        dev = self.client
        dev._negotiate_session_key_generate_step_1()
        dev.local_nonce = CLIENT_NONCE  # step 1 draws a random nonce; pin it
        self.client_frame("sess_key_neg_start", MessagePayload(tinytuya.SESS_KEY_NEG_START, CLIENT_NONCE), 1)
        proof = hmac.new(self.local_key, CLIENT_NONCE, hashlib.sha256).digest()
        resp = self.device_frame(
            "sess_key_neg_resp", tinytuya.SESS_KEY_NEG_RESP, 1, 0, DEVICE_NONCE + proof, self.local_key
        )
        rkey = tinytuya.unpack_message(resp, hmac_key=self.local_key, no_retcode=False)
        finish = dev._negotiate_session_key_generate_step_3(rkey)
        assert finish, "tinytuya refused the device's session-key response"
        self.client_frame("sess_key_neg_finish", finish, 2)
        dev._negotiate_session_key_generate_finalize()
        return {
            "client_nonce": CLIENT_NONCE.hex(),
            "device_nonce": DEVICE_NONCE.hex(),
            "session_key": bytes(dev.local_key).hex(),
        }

    # -- helpers ---------------------------------------------------------------------------

    def _next_iv(self, name: str) -> bytes | None:
        if not self.spec_gcm:
            return None
        self.ivs.append(iv_for(self.version, name))
        return self.ivs[-1]

    def _record(  # noqa: PLR0917 - one vector's fields
        self,
        name: str,
        direction: str,
        key: bytes,
        cmd: int,
        seqno: int,
        retcode: int | None,
        iv: bytes | None,
        payload: bytes,
        frame: bytes,
    ) -> None:
        self._check(direction, key, cmd, seqno, frame)
        try:
            parsed = json.loads(payload)
        except ValueError:
            parsed = None
        self.vectors.append(
            {
                "name": name,
                "direction": direction,
                # The key in effect for this frame (hex), and which one it is.
                "key": bytes(key).hex(),
                "key_kind": "session" if key != self.local_key else "local",
                "cmd": cmd,
                "seqno": seqno,
                "retcode": retcode,
                "iv": None if iv is None else iv.hex(),
                "payload": payload.hex(),
                "json": parsed,
                "frame": frame.hex(),
            }
        )

    def _check(self, direction: str, key: bytes, cmd: int, seqno: int, frame: bytes) -> None:
        hmac_key = key if self.keyed else None
        unpacked = tinytuya.unpack_message(frame, hmac_key=hmac_key, no_retcode=direction == "client->device")
        assert unpacked.crc_good, f"{self.version} {cmd}: tinytuya does not accept its own frame"
        assert (unpacked.cmd, unpacked.seqno) == (cmd, seqno)


def build(version: str) -> dict[str, Any]:
    with fixed_iv() as ivs:
        writer = VectorWriter(version, ivs)
        session = writer.handshake() if writer.keyed else None
        key = bytes.fromhex(session["session_key"]) if session else writer.local_key
        seq = 3 if session else 1
        status = {"1": True, "2": 50}
        query_cmd, _ = writer.client.generate_payload(tinytuya.DP_QUERY)
        control_cmd, _ = writer.client.generate_payload(tinytuya.CONTROL)
        requests: list[tuple[str, int, dict[str, Any]]] = [
            ("dp_query", tinytuya.DP_QUERY, {}),
            ("control", tinytuya.CONTROL, {"data": {"1": True, "2": 50}}),
            ("control_new", tinytuya.CONTROL_NEW, {"data": {"1": False}}),
            ("dp_query_new", tinytuya.DP_QUERY_NEW, {}),
            ("heart_beat", tinytuya.HEART_BEAT, {}),
            ("updatedps", tinytuya.UPDATEDPS, {"data": [18, 19, 20]}),
            ("status", tinytuya.STATUS, {}),
        ]
        if writer.keyed:
            requests.append(
                (
                    "lan_ext_stream",
                    tinytuya.LAN_EXT_STREAM,
                    {"rawData": {"cids": ["a1b2c3"]}, "reqType": "subdev_online_stat_query"},
                )
            )
        for offset, (name, command, kwargs) in enumerate(requests):
            writer.client_request(name, command, seq + offset, **kwargs)

        body: dict[str, Any] = {"devId": device_id(version), "dps": status}
        if writer.keyed:
            body = {"protocol": 4, "t": FIXED_TIME, "data": {"dps": {"1": False}}}
        replies: list[tuple[str, int, int, int, bytes]] = [
            ("dp_query_reply", query_cmd, seq, 0, json.dumps({"dps": status}).replace(" ", "").encode()),
            ("control_ack", control_cmd, seq + 1, 0, b""),
            ("heart_beat_reply", tinytuya.HEART_BEAT, seq + 4, 0, b""),
            ("status_push", tinytuya.STATUS, 0, 0, json.dumps(body).replace(" ", "").encode()),
            ("error_reply", query_cmd, seq, 1, b"json obj data unvalid"),
        ]
        for name, cmd, seqno, retcode, payload in replies:
            writer.device_frame(name, cmd, seqno, retcode, payload, key)
    return {
        "version": version,
        "generator": "devtools/make_frame_vectors.py",
        "tinytuya": tinytuya.__version__,
        "local_key": local_key(version),
        "session": session,
        "vectors": writer.vectors,
    }


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for version in VERSIONS:
        path = OUT_DIR / f"v{version}.json"
        path.write_text(json.dumps(build(version), indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(OUT_DIR.parent.parent.parent)}")


if __name__ == "__main__":
    main()
