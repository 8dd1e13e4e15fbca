"""tinytuya's ``set_*`` configuration methods: plain methods, no I/O.

A mixin of :class:`~tinytuya_asyncio.devices.xenon.XenonDeviceAsync`: each setter stores the
attribute tinytuya's does (code reads them back) and passes what matters on to the
connection, which applies it from the next connect or request.

A gateway child has no connection of its own: it uses its parent's, which serves every
sibling. Its connection setters (version, persistence, retries, timeout) therefore store
the value and leave the shared connection alone, as tinytuya's do on a child; set them on
the gateway, which applies them to all its children's requests. The one part of a child
that is its own, the wait of its ``receive()``, follows its ``set_socketTimeout``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tinytuya_asyncio.connection.link import DeviceLink
from tinytuya_asyncio.devices.status_cache import StatusCache
from tinytuya_asyncio.protocol.versions import VersionSpec, version_spec


class TinytuyaSettings:
    """The setters; the attributes below are set by the device's constructor."""

    id: str
    parent: Any
    children: Mapping[str, TinytuyaSettings]
    dev_type: str
    connection_timeout: float
    retry: bool
    socketPersistent: bool
    socketNODELAY: bool
    socketRetryLimit: int
    socketRetryDelay: float
    sendWait: float | None
    dps_to_request: dict[str, Any]
    _spec: VersionSpec
    _link: DeviceLink
    _cache: StatusCache

    def _set_version_fields(self, spec: VersionSpec) -> None:
        self._spec = spec
        if spec.number == 3.2:  # 3.2 behaves like 3.3 device22
            self.dev_type = "device22"

    def set_version(self, version: float | str) -> None:
        """Switch protocol version (the next request reconnects with it).

        3.2 implies ``dev_type="device22"``; its DPs are probed on the next ``status()``
        instead of immediately as tinytuya does. A gateway passes the version on to its
        children; on a child it only changes the bodies the child builds, and the shared
        connection keeps the gateway's version.
        """
        spec = version_spec(version)
        self._set_version_fields(spec)
        if self.parent is None:
            self._link.version = spec
            self._link.drop()
        for child in self.children.values():
            child._set_version_fields(spec)

    def set_socketPersistent(self, persist: bool) -> None:
        """Keep the connection open between requests (or close it now, with ``False``).

        On a child: stored only; children follow their gateway's persistence (its caches and
        pushes included).
        """
        self.socketPersistent = bool(persist)
        if self.parent is None:
            self._link.set_persist(self.socketPersistent)
            if not persist:
                self._cache.clear()

    def set_socketNODELAY(self, nodelay: bool) -> None:
        """Kept for compatibility: asyncio already disables Nagle on TCP sockets."""
        self.socketNODELAY = bool(nodelay)

    def set_socketRetryLimit(self, limit: int) -> None:
        """Connect attempts, and retries of a request on a fresh connection.

        On a child: stored only; the gateway's limit governs the shared connection.
        """
        self.socketRetryLimit = limit
        if self.parent is None:
            self._link.retry_limit = limit

    def set_socketRetryDelay(self, delay: float) -> None:
        """Seconds between connect attempts. On a child: stored only, as the retry limit."""
        self.socketRetryDelay = delay
        if self.parent is None:
            self._link.retry_delay = delay

    def set_socketTimeout(self, s: float) -> None:
        """Seconds to wait for a connect or a reply, and ``receive()``'s wait for a push.

        On a child: only its ``receive()`` wait. Its requests keep the gateway's timeout:
        a request that times out drops the connection, which every sibling shares.
        """
        self.connection_timeout = s
        if self.parent is None:
            self._link.timeout = s

    def set_dpsUsed(self, dps_to_request: dict[str, Any]) -> None:
        """Replace the DP list a device22 status query names (tinytuya's name and argument)."""
        self.dps_to_request = dps_to_request

    def add_dps_to_request(self, dp_indicies: int | Iterable[int | str]) -> None:
        """Add DP indexes to the list a device22 status query names."""
        if isinstance(dp_indicies, int):
            self.dps_to_request[str(dp_indicies)] = None
        else:
            self.dps_to_request.update({str(index): None for index in dp_indicies})

    def set_retry(self, retry: bool) -> None:
        """``False``: a control returns at the device's empty ack instead of waiting for the
        STATUS that reports it (tinytuya's ``retry``)."""
        self.retry = retry

    def set_sendWait(self, s: float | None) -> None:
        """Kept for compatibility: replies are awaited as they arrive, so no wait is needed."""
        self.sendWait = s
