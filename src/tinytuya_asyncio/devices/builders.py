"""The payload builder a device keeps between requests.

A :class:`~tinytuya_asyncio.protocol.payloads.PayloadBuilder` holds the templates resolved
for one kind of device and the bodies it encoded once; a device reuses it until one of the
settings it was built from (version, type, cid, parent, children) changes.
"""

from __future__ import annotations

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
