"""What differs between protocol versions 3.1 to 3.5, as data.

See docs/PROTOCOL.md#payloads-by-version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import LocalProtocolError


class Integrity(Enum):
    """How a frame proves it was not altered."""

    CRC32 = "crc32"  # 3.1 to 3.3: no key involved, so it only catches corruption
    HMAC_SHA256 = "hmac-sha256"  # 3.4: keyed with the session key
    AES_GCM = "aes-gcm"  # 3.5: the GCM tag, keyed with the session key


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """Everything the codec needs to know about one protocol version."""

    number: float
    text: str
    #: ``b"3.3"``: how the version appears at the start of a payload.
    version_bytes: bytes
    #: ``b"3.3"`` + 12 NUL: the header some commands carry before (3.2/3.3) or inside (3.4/3.5)
    #: the ciphertext.
    header: bytes
    prefix: int
    integrity: Integrity
    #: 3.4 and 3.5 negotiate a per-connection session key before anything else.
    needs_session_key: bool

    @property
    def template_key(self) -> str:
        """The version's key in tinytuya's ``payload_dict`` (``"v3.4"``)."""
        return "v" + self.text


def _spec(text: str) -> VersionSpec:
    number = float(text)
    version_bytes = text.encode("ascii")
    return VersionSpec(
        number=number,
        text=text,
        version_bytes=version_bytes,
        header=version_bytes + tuya.PROTOCOL_3X_HEADER,
        prefix=tuya.PREFIX_6699 if number >= 3.5 else tuya.PREFIX_55AA,
        integrity=(
            Integrity.AES_GCM
            if number >= 3.5
            else Integrity.HMAC_SHA256
            if number >= 3.4
            else Integrity.CRC32
        ),
        needs_session_key=number >= 3.4,
    )


V31: Final = _spec("3.1")
V32: Final = _spec("3.2")
V33: Final = _spec("3.3")
V34: Final = _spec("3.4")
V35: Final = _spec("3.5")

SUPPORTED_VERSIONS: Final[tuple[VersionSpec, ...]] = (V31, V32, V33, V34, V35)
_BY_NUMBER: Final = {spec.number: spec for spec in SUPPORTED_VERSIONS}


def version_spec(version: float | str | VersionSpec) -> VersionSpec:
    """The spec for ``version`` given as ``3.3``, ``"3.3"`` or ``"v3.3"``.

    Raises :class:`LocalProtocolError` for anything but 3.1 to 3.5.
    """
    if isinstance(version, VersionSpec):
        return version
    text = str(version).strip().lstrip("v")
    try:
        number = float(text)
    except ValueError:
        raise LocalProtocolError(f"unsupported protocol version {version!r}") from None
    # Compare numbers, not rounded text: "3.10" is 3.1, but "3.45" is no version at all.
    spec = _BY_NUMBER.get(number)
    if spec is None:
        supported = ", ".join(s.text for s in SUPPORTED_VERSIONS)
        raise LocalProtocolError(f"unsupported protocol version {version!r} (supported: {supported})")
    return spec
