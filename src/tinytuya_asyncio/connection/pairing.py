"""Which frames answer a request: the pairing rules, as pure logic (no socket, no loop).

Tuya replies cannot be matched by sequence number (3.5 devices count on their own), so a
request is answered by what arrives while it is pending, by command and gateway ``cid``:

* A frame of the request's command answers it: with a body, that is the answer; empty, it
  is an acknowledgement (CONTROL and UPDATEDPS are acked, then reported by a STATUS push).
* A STATUS frame answers a CONTROL (or UPDATEDPS) when it reports one of the data points the
  request named: the device telling what the command changed. A STATUS about other data
  points (an energy meter's periodic report, a button pressed meanwhile) is a push, not the
  answer, so it cannot be returned as the result of a ``set_value``. When the request named
  no data points, any STATUS of the same ``cid`` answers, as tinytuya reads it.
* A status query is answered by its own command; a STATUS only after the device acked.

Everything else is a push. A request is ready when it has an answer, or (rule ``ACK``, or
``stop_at_ack``, tinytuya's ``retry=False``) once it is acked.

See docs/PROTOCOL.md#pairing-a-reply-with-its-request.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import Enum
from typing import Any

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol.codec import Message
from tinytuya_asyncio.protocol.results import result_cid


class ReplyRule(Enum):
    """What answers a request (see the module docstring)."""

    #: The same command, empty or not (HEART_BEAT is answered by an empty HEART_BEAT).
    ACK = "ack"
    #: The same command with a body; if the device only acks it, the STATUS that follows the
    #: ack. A STATUS before any answer is a push, not the reply (status queries).
    QUERY = "query"
    #: The same command with a body, or a STATUS reporting one of the request's data points
    #: (with or without an ack first): CONTROL and UPDATEDPS.
    CONTROL = "control"


# Read-only by convention, not frozen: one is built per frame, and a frozen dataclass
# costs three times as much to construct (0.6 against 0.2 us).
@dataclass(slots=True)
class Answer:
    """One frame with a body, and its sync-shaped decoding."""

    message: Message
    result: dict[str, Any]

    @property
    def cid(self) -> str | None:
        return result_cid(self.result)


# Read-only by convention, not frozen: one is built per request.
@dataclass(slots=True)
class Reply:
    """Everything that answered one request."""

    #: The device acknowledged the request (an empty frame of the same command).
    acked: bool
    #: Frames with a body that answered, in arrival order.
    answers: tuple[Answer, ...]


class PendingRequest:
    """One request waiting for its answer: which frames it takes, and what it has taken."""

    __slots__ = ("acked", "answers", "cid", "cmd", "dps", "rule", "stop_at_ack")

    def __init__(
        self,
        cmd: int,
        cid: str | None,
        rule: ReplyRule,
        *,
        dps: Collection[str] | None = None,
        stop_at_ack: bool = False,
    ) -> None:
        self.cmd = cmd
        self.cid = cid
        self.rule = rule
        #: The data points a CONTROL names: a STATUS reporting none of them is not its answer.
        self.dps = dps
        self.stop_at_ack = stop_at_ack
        self.acked = False
        self.answers: list[Answer] = []

    def __repr__(self) -> str:
        return (
            f"<PendingRequest cmd={self.cmd:#04x} {self.rule.value} "
            f"acked={self.acked} answers={len(self.answers)}>"
        )

    def ready(self) -> bool:
        """True when the request has what it waits for."""
        return bool(self.answers) or (self.acked and (self.stop_at_ack or self.rule is ReplyRule.ACK))

    def reply(self) -> Reply:
        return Reply(self.acked, tuple(self.answers))

    def offer(self, message: Message, result: dict[str, Any] | None) -> bool:
        """Take ``message`` (decoded as ``result``, ``None`` when empty) if it answers this request."""
        if self.acked and self.stop_at_ack:
            return False  # answered by the ack: what follows is a push, as for tinytuya
        if result is None:
            if message.cmd == self.cmd:
                self.acked = True
                return True
            return False
        cid = result_cid(result)
        if message.cmd == self.cmd and (self.cid is None or cid is None or cid == self.cid):
            self.answers.append(Answer(message, result))
            return True
        if message.cmd != tuya.STATUS or cid != self.cid:
            return False
        if self.rule is ReplyRule.CONTROL:
            if self.dps and not _reports_any(result, self.dps):
                return False
        elif not (self.rule is ReplyRule.QUERY and self.acked):
            return False
        self.answers.append(Answer(message, result))
        return True


def _reports_any(result: dict[str, Any], names: Collection[str]) -> bool:
    dps = result.get("dps")
    return isinstance(dps, dict) and any(name in dps for name in names)
