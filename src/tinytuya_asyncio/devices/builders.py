"""The payload builder a device keeps between requests.

A :class:`~tinytuya_asyncio.protocol.payloads.PayloadBuilder` holds the templates resolved
for one kind of device and the bodies it encoded once; a device reuses it until one of the
settings it was built from (version, type, cid, parent, children) changes.
"""

from __future__ import annotations

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol.payloads import PayloadBuilder
from tinytuya_asyncio.protocol.versions import VersionSpec


class BuilderCache:
    """One device's builder, rebuilt when its settings change."""

    __slots__ = ("_builder",)

    def __init__(self) -> None:
        self._builder: PayloadBuilder | None = None

    def get(  # noqa: PLR0917 - called per request: positional keeps it cheap
        self,
        version: VersionSpec,
        dev_id: str,
        dev_type: str,
        cid: str | None,
        parent_id: str | None,
        gateway: bool,
    ) -> PayloadBuilder:
        """The builder for these settings (the kept one if they have not changed)."""
        builder = self._builder
        if (
            builder is None
            or builder.version is not version
            or builder.dev_type != dev_type
            or builder.cid != cid
            or builder.parent_id != parent_id
            or builder.gateway != gateway
            or builder.dev_id != dev_id
        ):
            builder = self._builder = PayloadBuilder(
                version=version,
                dev_id=dev_id,
                dev_type=dev_type,
                cid=cid,
                parent_id=parent_id,
                gateway=gateway,
            )
        return builder


class NamedPayload(tuya.MessagePayload):  # type: ignore[misc]  # tinytuya ships no types
    """tinytuya's ``MessagePayload(cmd, payload)``, remembering which data points it names.

    Reply pairing uses them: a STATUS about other data points (a meter's periodic report, a
    button pressed meanwhile) is not the answer to a ``set_value``. Anything that accepts a
    ``MessagePayload`` accepts this one.
    """

    dps: frozenset[str] | None

    def __new__(cls, cmd: int, payload: bytes, dps: frozenset[str] | None) -> NamedPayload:
        self = super().__new__(cls, cmd, payload)
        self.dps = dps
        return self  # type: ignore[no-any-return]


def named_dps(data: object) -> frozenset[str] | None:
    """The data points a CONTROL's ``data`` (a mapping) or UPDATEDPS's (a list) names."""
    if isinstance(data, dict):
        return frozenset(str(key) for key in data)
    if isinstance(data, list | tuple):
        return frozenset(str(key) for key in data)
    return None
