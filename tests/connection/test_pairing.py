"""Reply pairing as pure logic: which frames answer a pending request, and when it is ready."""

from __future__ import annotations

from typing import Any

import pytest

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.pairing import PendingRequest, ReplyRule
from tinytuya_asyncio.protocol.codec import Message


def message(cmd: int, payload: bytes = b"x") -> Message:
    return Message(cmd=cmd, payload=payload, seqno=1, retcode=0)


def status(dps: dict[str, Any], cid: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"dps": dps}
    if cid is not None:
        result["cid"] = cid
    return result


def test_an_ack_then_the_status_answers_a_control() -> None:
    pending = PendingRequest(tuya.CONTROL, None, ReplyRule.CONTROL, dps={"1"})
    assert pending.offer(message(tuya.CONTROL, b""), None)
    assert pending.acked
    assert not pending.ready()
    assert pending.offer(message(tuya.STATUS), status({"1": True}))
    assert pending.ready()
    reply = pending.reply()
    assert reply.acked
    assert [answer.result for answer in reply.answers] == [status({"1": True})]


def test_a_status_about_other_dps_is_not_the_answer_to_a_control() -> None:
    pending = PendingRequest(tuya.CONTROL, None, ReplyRule.CONTROL, dps={"1"})
    pending.offer(message(tuya.CONTROL, b""), None)
    assert not pending.offer(message(tuya.STATUS), status({"19": 2310}))  # a meter's report
    assert not pending.ready()
    assert pending.offer(message(tuya.STATUS), status({"1": True, "19": 2310}))
    assert pending.ready()


def test_without_named_dps_any_status_answers_a_control() -> None:
    pending = PendingRequest(tuya.CONTROL, None, ReplyRule.CONTROL)
    assert pending.offer(message(tuya.STATUS), status({"19": 2310}))
    assert pending.ready()


def test_a_status_before_the_ack_is_a_push_for_a_query() -> None:
    pending = PendingRequest(tuya.DP_QUERY, None, ReplyRule.QUERY)
    assert not pending.offer(message(tuya.STATUS), status({"1": True}))
    assert pending.offer(message(tuya.DP_QUERY, b""), None)
    assert not pending.ready()  # a query waits for data after its ack
    assert pending.offer(message(tuya.STATUS), status({"1": True}))
    assert pending.ready()


@pytest.mark.parametrize("rule", [ReplyRule.QUERY, ReplyRule.CONTROL])
def test_stop_at_ack_is_ready_at_the_ack(rule: ReplyRule) -> None:
    """tinytuya's retry=False: do not wait for data after an empty acknowledgement."""
    pending = PendingRequest(tuya.CONTROL, None, rule, stop_at_ack=True)
    assert not pending.ready()
    pending.offer(message(tuya.CONTROL, b""), None)
    assert pending.ready()
    assert pending.reply().answers == ()


def test_an_ack_answers_a_heartbeat() -> None:
    pending = PendingRequest(tuya.HEART_BEAT, None, ReplyRule.ACK)
    assert not pending.offer(message(tuya.STATUS, b""), None)  # another command's ack
    assert pending.offer(message(tuya.HEART_BEAT, b""), None)
    assert pending.ready()


def test_frames_for_another_child_are_not_the_answer() -> None:
    pending = PendingRequest(tuya.CONTROL, "child-a", ReplyRule.CONTROL, dps={"1"})
    assert not pending.offer(message(tuya.STATUS), status({"1": True}, cid="child-b"))
    assert not pending.offer(message(tuya.STATUS), status({"1": True}))  # the gateway's own
    assert pending.offer(message(tuya.STATUS), status({"1": True}, cid="child-a"))
    # A reply of the request's own command answers unless it names another child.
    query = PendingRequest(tuya.DP_QUERY, "child-a", ReplyRule.QUERY)
    assert not query.offer(message(tuya.DP_QUERY), status({"1": True}, cid="child-b"))
    assert query.offer(message(tuya.DP_QUERY), status({"1": True}))


def test_other_commands_are_pushes() -> None:
    pending = PendingRequest(tuya.DP_QUERY, None, ReplyRule.QUERY)
    assert not pending.offer(message(tuya.UPDATEDPS), status({"1": True}))
    assert not pending.offer(message(tuya.CONTROL, b""), None)
    assert not pending.acked
