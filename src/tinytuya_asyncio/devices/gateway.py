"""A gateway's sub-devices, and which of them a decoded frame is about.

Children (tinytuya's ``cid``/``node_id`` with ``parent=``) use their parent's connection; the
parent hands every reply and push to the child whose ``cid`` the frame names, tagged with
``result["device"] = child`` as tinytuya does, and keeps the frames that name none.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, TypeVar

from tinytuya_asyncio.devices.redact import redact_id
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

    def add(self, child: C) -> None:
        """Register ``child``; a new object with the id of an old one replaces it."""
        if child.id in self and self[child.id] is not child:
            _LOGGER.debug("replacing child %s", redact_id(child.id))
        self[child.id] = child

    def for_result(self, result: dict[str, Any]) -> C | None:
        """The child ``result`` is about, if any; tags the result with it as tinytuya does."""
        if not self:
            return None
        cid = result_cid(result)
        if cid is None:
            return None
        for child in self.values():
            if child.cid == cid:
                result["device"] = child
                return child
        return None
