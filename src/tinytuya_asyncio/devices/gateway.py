"""A gateway's sub-devices: which of them a frame is about, and who hears of it.

Children (tinytuya's ``cid``/``node_id`` with ``parent=``) use their parent's connection, in
whatever order they are created, connected or closed: a child never opens one of its own.
The parent hands every reply and push to the child whose ``cid`` the frame names, tagged
with ``result["device"] = child`` as tinytuya does. Who sees what:

* a child's ``subscribe()``, ``updates()``, ``receive()`` and caches: its own frames only;
* the gateway's ``subscribe()`` and ``updates()``: the gateway's own frames only, so a
  subscriber written for the hub never mistakes a sub-device's DP 1 for the hub's; with
  ``children=True``, every frame of the gateway and of its sub-devices, each update tagged
  with its ``cid`` (``None`` for the gateway's own);
* the gateway's ``receive()``: every push, its children's included, as tinytuya's does;
* a frame naming a ``cid`` no child object stands for: never merged into the gateway's own
  data points; it reaches the gateway's ``receive()`` and its ``children=True`` subscribers.

The connection belongs to the parent. A child's requests never reopen it once the parent
is closed (they answer tinytuya's 901 until the parent is used again), and a child's
connection setters leave it alone (see :mod:`.settings`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from tinytuya_asyncio.connection.state import ConnectionState
from tinytuya_asyncio.devices.redact import redact_id
from tinytuya_asyncio.devices.updates import DeviceUpdate, UpdateHub
from tinytuya_asyncio.exceptions import ConnectError
from tinytuya_asyncio.protocol.results import result_cid

_LOGGER = logging.getLogger(__name__)


class Child(Protocol):
    """What routing needs to know about a sub-device."""

    @property
    def id(self) -> str: ...

    @property
    def cid(self) -> str | None: ...


C = TypeVar("C", bound=Child)


class Children(dict[str, C]):
    """tinytuya's ``children`` dict (device id -> child), with routing by ``cid``."""

    __slots__ = ("closing", "updates")  # every device has one: no __dict__ of its own

    def __init__(self) -> None:
        super().__init__()
        #: The gateway's ``children=True`` subscribers; made on first use.
        self.updates: UpdateHub | None = None
        #: True while the gateway's ``close()`` runs: children may not start requests.
        self.closing = False

    def add(self, child: C) -> None:
        """Register ``child``; a new object with the id of an old one replaces it."""
        if child.id in self and self[child.id] is not child:
            _LOGGER.debug("replacing child %s", redact_id(child.id))
        self[child.id] = child

    def cid_of(self, result: dict[str, Any]) -> str | None:
        """The sub-device ``result`` is about; ``None`` for the gateway's own frames.

        Without children every frame is the gateway's, as in tinytuya.
        """
        return result_cid(result) if self else None

    def for_cid(self, cid: str | None, result: dict[str, Any]) -> C | None:
        """The child standing for ``cid``, if any; tags ``result`` with it as tinytuya does."""
        if cid is None:
            return None
        for child in self.values():
            if child.cid == cid:
                result["device"] = child
                return child
        return None

    def for_result(self, result: dict[str, Any]) -> C | None:
        """The child ``result`` is about, if any (tagged as :meth:`for_cid` does)."""
        return self.for_cid(self.cid_of(result), result)

    def hub(self, on_dropped: Callable[[DeviceUpdate], None]) -> UpdateHub:
        """The ``children=True`` subscribers, made on first use."""
        if self.updates is None:
            self.updates = UpdateHub(on_dropped)
        return self.updates

    def check_open(self, state: ConnectionState, child_id: str) -> None:
        """Raise :class:`ConnectError` (901) when the gateway is closed or closing.

        A child never reopens a connection its parent closed: the application closed the
        gateway, and a connection opened behind its back would have no owner to close it.
        """
        if self.closing or state is ConnectionState.CLOSED:
            raise ConnectError(
                f"{redact_id(child_id)}: the gateway is closed; use the gateway to reopen its connection"
            )
