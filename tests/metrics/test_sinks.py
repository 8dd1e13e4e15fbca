"""Sinks that raise or are slow never break a connection; counters and JSON logs add up."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.devices.conftest import DeviceFactory, SimFactory
from tests.devices.test_faults import bounded, err
from tests.metrics.recording import RecordingSink
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.metrics import (
    Counters,
    DefaultSink,
    FanOut,
    JsonFormatter,
    JsonLogSink,
    NullSink,
    Reporter,
    set_default_sink,
    sink,
    sink_health,
)
from tinytuya_asyncio.metrics.redact import redact_id


@pytest.fixture
def default_sink_reset() -> Iterator[None]:
    yield
    set_default_sink(None)


class _Raising:
    def __init__(self) -> None:
        self.calls = 0

    def on_event(self, name: str, /, **data: object) -> None:
        self.calls += 1
        raise RuntimeError("a broken dashboard")


class _Slow:
    def on_event(self, name: str, /, **data: object) -> None:
        if name == "request":
            time.sleep(sink.SLOW_SINK * 2)  # a sink doing blocking I/O on the loop


@pytest.mark.parametrize("version", ["3.3", "3.4"])
async def test_a_raising_sink_never_breaks_a_connection(
    version: str, simulate: SimFactory, connect_to: DeviceFactory, caplog: pytest.LogCaptureFixture
) -> None:
    sim = await simulate(version)
    raising = _Raising()
    dev = connect_to(sim, persist=True, metrics=raising)
    errors = sink_health().errors
    with caplog.at_level(logging.DEBUG, logger="tinytuya_asyncio.metrics"):
        for _ in range(3):
            assert err(await bounded(dev.status())) is None
        await sim.push({"1": True})
        assert err(await bounded(dev.set_value(2, 7))) is None
    assert raising.calls > 10
    assert sink_health().errors - errors == raising.calls
    tracebacks = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert len(tracebacks) == len({r.getMessage() for r in tracebacks})  # once per sink and event


async def test_a_slow_sink_is_reported_and_the_device_still_answers(
    simulate: SimFactory,
    connect_to: DeviceFactory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sink, "_last_slow_warning", -1e9)  # another test may have warned recently
    sim = await simulate("3.3")
    dev = connect_to(sim, metrics=_Slow())
    slow = sink_health().slow_calls
    with caplog.at_level(logging.WARNING, logger="tinytuya_asyncio.metrics"):
        assert err(await bounded(dev.status())) is None
        assert err(await bounded(dev.status())) is None
    assert sink_health().slow_calls - slow == 2
    assert sink_health().slowest >= sink.SLOW_SINK * 2
    warnings = [r.getMessage() for r in caplog.records if "took" in r.getMessage()]
    assert len(warnings) == 1  # at most one a minute
    assert "_Slow" in warnings[0]
    assert "on request" in warnings[0]


def test_fan_out_and_the_default_sink(default_sink_reset: None) -> None:
    first, second = RecordingSink(), RecordingSink()
    fan = FanOut(_Raising(), first, NullSink(), DefaultSink())
    assert len(fan.sinks) == 3  # a NullSink is left out
    set_default_sink(second)
    Reporter("bf0123456789abcdefgh", fan)("heartbeat")
    assert first.events == [("heartbeat", {"device": "bf0123456789abcdefgh"})]
    assert second.events == first.events  # the default at the time of the event
    set_default_sink(None)
    Reporter("bf0123456789abcdefgh", fan)("heartbeat")
    assert len(second.events) == 1


def test_no_sink_means_disabled_and_nothing_delivered(default_sink_reset: None) -> None:
    reporter = Reporter("bf0123456789abcdefgh")
    before = reporter.enabled
    reporter("heartbeat")  # goes nowhere, raises nothing
    recording = RecordingSink()
    set_default_sink(recording)
    assert (before, reporter.enabled) == (False, True)
    reporter("heartbeat")
    assert recording.names() == ["heartbeat"]
    assert Reporter(None, recording).device is None


async def test_counters_add_up_what_the_events_said(
    simulate: SimFactory, connect_to: DeviceFactory, default_sink_reset: None
) -> None:
    counters = Counters()
    recording = RecordingSink()
    set_default_sink(FanOut(counters, recording))
    quiet = await simulate("3.4", dev_id="bf00quiet00000000000")
    sim = await simulate("3.4")
    dev = connect_to(sim, persist=True, backoff=Backoff(floor=0.01, cap=0.02))
    connect_to(quiet)  # built, never used: no record of its own
    stream = dev.updates(maxsize=1)
    for _ in range(3):
        assert err(await bounded(dev.status())) is None
    for n in range(3):
        await sim.push({"2": n})
    await recording.wait_for("push", 3)
    sim.drop_clients()
    await recording.wait_for("handshake", 2)
    sim.faults.silent = True
    dev.set_socketTimeout(0.2)
    dev.set_socketRetryLimit(1)
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    stream.close()

    assert len(counters) == 1
    counts = counters.device(sim.dev_id)
    sends = recording.named("send")
    receives = recording.named("receive")
    assert counts.frames_sent == len(sends)
    assert counts.bytes_sent == sum(s["bytes"] for s in sends)
    assert counts.frames_received == sum(r["frames"] for r in receives)
    assert counts.bytes_received == sum(r["bytes"] for r in receives)
    assert counts.requests == 3
    assert counts.request_seconds == pytest.approx(sum(r["duration"] for r in recording.named("request")))
    assert counts.connects == len(recording.named("connect")) >= 2
    assert counts.handshakes == len(recording.named("handshake")) == 2
    assert counts.reconnects >= 1
    assert counts.pushes == 3
    assert counts.dropped == len(recording.named("update_dropped")) >= 2
    assert counts.timeouts >= 1
    assert counts.errors == {tuya.ERR_TIMEOUT: 1}
    total = counters.total()
    assert total.as_dict() == counts.as_dict()
    snapshot = counters.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot  # plain values
    assert snapshot["devices"][sim.dev_id]["errors"] == {str(tuya.ERR_TIMEOUT): 1}
    counters.forget(sim.dev_id)
    assert len(counters) == 0
    assert counters.total().as_dict() == total.as_dict()  # totals never go down


# -- JSON logs ------------------------------------------------------------------------------


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """Everything the package logs, as JSON lines, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tinytuya_asyncio")
    events = logging.getLogger("tinytuya_asyncio.events")  # another test may have set its level
    levels = logger.level, events.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    events.setLevel(logging.NOTSET)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(levels[0])
        events.setLevel(levels[1])


@pytest.mark.parametrize("version", ["3.1", "3.3", "3.4", "3.5"])
async def test_json_logs_at_debug_carry_fields_and_hex_but_never_a_key(
    version: str, simulate: SimFactory, connect_to: DeviceFactory, json_log: io.StringIO
) -> None:
    # A key and id with nothing in common (the suite's usual id contains its usual key).
    sim = await simulate(version, dev_id="ebf3c1d2a4b5e6f70819", key="Q#vR8!mZ2k@Lp0Xs")
    dev = connect_to(sim, persist=True, metrics=JsonLogSink(), heartbeat_interval=0.05)
    assert err(await bounded(dev.status())) is None
    await sim.push({"1": True})
    assert err(await bounded(dev.set_value(2, 9))) is None
    session = dev._link._conn._session if dev._link._conn is not None else None
    handshake = session._handshake if session is not None else None
    session_key = handshake.session_key if handshake is not None else None
    assert (session_key is not None) is (version >= "3.4")
    sim.faults.silent = True
    dev.set_socketTimeout(0.1)
    dev.set_socketRetryLimit(1)
    assert err(await bounded(dev.status())) == str(tuya.ERR_TIMEOUT)
    await dev.close()

    text = json_log.getvalue()
    lines = _json_lines(json_log)
    events = [line for line in lines if line["logger"] == "tinytuya_asyncio.events"]
    names = {line["event"] for line in events}
    assert {"connect", "send", "receive", "request", "push", "timeout", "error", "state"} <= names
    for line in events:
        assert line["device"] == redact_id(sim.dev_id)
        assert {"time", "level", "event"} <= set(line)
    sent = next(line for line in events if line["event"] == "send")
    assert sent["level"] == "DEBUG"
    assert bytes.fromhex(sent["frame"])  # the frame as a hex dump
    error = next(line for line in events if line["event"] == "error")
    assert (error["level"], error["code"]) == ("WARNING", tuya.ERR_TIMEOUT)
    key = sim.local_key
    secrets = [key, key.encode().hex(), sim.dev_id]
    if session_key is not None:
        secrets += [session_key.hex(), session_key.decode("latin1")]
    for secret in secrets:
        assert secret not in text


async def test_json_logs_at_info_leave_frames_out(
    simulate: SimFactory, connect_to: DeviceFactory, json_log: io.StringIO
) -> None:
    logging.getLogger("tinytuya_asyncio").setLevel(logging.INFO)  # (the fixture restores it)
    sim = await simulate("3.4")
    dev = connect_to(sim, persist=True, metrics=JsonLogSink(redact_ids=False))
    assert err(await bounded(dev.status())) is None
    await dev.close()
    events = [line for line in _json_lines(json_log) if "event" in line]
    assert {line["event"] for line in events} == {"connect", "handshake", "request", "state"}
    assert all(line["device"] == sim.dev_id for line in events)  # kept whole when asked
    assert "frame" not in json_log.getvalue()
