"""The model of one simulated device: identity, keys, version and live data points.

Pure data and its mutations; no I/O. The firmware use cases (:mod:`.firmware`) read and
change it, the asyncio service (:mod:`.service`) only carries bytes to and from it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tinytuya_asyncio.protocol import VersionSpec, version_spec

#: Versions on which device22 behaviour exists (3.2 always has it; 3.3/3.4 optionally).
DEVICE22_VERSIONS = frozenset({"3.2", "3.3", "3.4"})
#: Length of a session-key negotiation nonce (3.4/3.5).
NONCE_LEN = 16


def bench_nonce(dev_id: str) -> bytes:
    """The fixed handshake nonce ``--bench-fixed-nonces`` gives device ``dev_id``.

    For benchmarks only: a device that always answers with the same nonce has predictable
    session keys, which lets a client precompute every frame it sends. Real firmware (and
    the simulator by default) draws a fresh random nonce for every connection.
    """
    return hashlib.sha256(b"tinytuya-asyncio bench nonce:" + dev_id.encode("utf-8")).digest()[:NONCE_LEN]


def key_bytes(local_key: str | bytes) -> bytes:
    """The local key as bytes (tinytuya encodes its string keys as latin-1)."""
    return local_key.encode("latin1") if isinstance(local_key, str) else bytes(local_key)


@dataclass(slots=True)
class DeviceState:
    """Identity and live state of one device (or gateway and its children)."""

    dev_id: str
    local_key: bytes = field(repr=False)
    spec: VersionSpec
    dps: dict[str, Any]
    device22: bool = False
    product_key: str = ""
    name: str = ""
    #: Gateway children: cid -> their live data points. Empty for a plain device.
    children: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: For benchmarks only: answer every 3.4/3.5 handshake with this nonce instead of a
    #: random one, which makes session keys predictable (see :func:`bench_nonce`).
    fixed_nonce: bytes | None = field(default=None, repr=False)
    #: When a list: every control the device carried out, as the data points it wrote, in
    #: order (``record_writes=True``), so a test can tell a command done twice from once.
    writes: list[dict[str, Any]] | None = field(default=None, repr=False)
    #: 3.5 devices number every frame they send from one device-wide counter.
    _seqno: int = 0

    @classmethod
    def create(
        cls,
        dev_id: str,
        local_key: str | bytes,
        *,
        version: float | str,
        dps: Mapping[str, Any] | None = None,
        device22: bool = False,
        product_key: str = "",
        name: str = "",
        children: Mapping[str, Mapping[str, Any]] | None = None,
        fixed_nonce: bytes | None = None,
    ) -> DeviceState:
        """Validate and build a state; 3.2 is always device22."""
        spec = version_spec(version)
        key = key_bytes(local_key)
        if spec.number > 3.1 and len(key) != 16:
            raise ValueError(f"protocol {spec.text} needs a 16-byte local key")
        if fixed_nonce is not None and len(fixed_nonce) != NONCE_LEN:
            raise ValueError(f"a handshake nonce is {NONCE_LEN} bytes")
        if device22 and spec.text not in DEVICE22_VERSIONS:
            raise ValueError(f"device22 mode exists on 3.2 to 3.4, not {spec.text}")
        return cls(
            dev_id=dev_id,
            local_key=key,
            spec=spec,
            dps={str(k): v for k, v in (dps or {}).items()},
            device22=device22 or spec.text == "3.2",
            product_key=product_key,
            name=name,
            children={cid: {str(k): v for k, v in c.items()} for cid, c in (children or {}).items()},
            fixed_nonce=fixed_nonce,
        )

    @property
    def version(self) -> str:
        return self.spec.text

    @property
    def is_gateway(self) -> bool:
        return bool(self.children)

    def next_seqno(self) -> int:
        """The next value of the device-wide frame counter (3.5)."""
        self._seqno = (self._seqno + 1) & 0xFFFFFFFF
        return self._seqno

    def dps_for(self, cid: str | None) -> dict[str, Any]:
        """The live data points of the device itself (``cid=None``) or of one child."""
        return self.dps if cid is None else self.children[cid]

    def select(self, ids: Iterable[object], cid: str | None = None) -> dict[str, Any]:
        """The current values of the named data points that exist, in request order."""
        dps = self.dps_for(cid)
        wanted = (str(i) for i in ids)
        return {k: dps[k] for k in wanted if k in dps}

    def apply(self, update: Mapping[str, Any], cid: str | None = None) -> dict[str, Any]:
        """Write a control command; returns the data points written.

        As firmware does, data points the device does not have are ignored, and so are
        null values (a null asks for a value, it never sets one).
        """
        dps = self.dps_for(cid)
        written = {str(k): v for k, v in update.items() if str(k) in dps and v is not None}
        dps.update(written)
        if self.writes is not None:
            self.writes.append(written)
        return written

    def update(self, change: Mapping[str, Any], cid: str | None = None) -> dict[str, Any]:
        """A change made by the device itself (any data point, new ones included)."""
        written = {str(k): v for k, v in change.items()}
        self.dps_for(cid).update(written)
        return written
