"""Backoff delays and the process-wide connect limit."""

from __future__ import annotations

import asyncio

import pytest

from tinytuya_asyncio.connection.backoff import (
    DEFAULT_CONNECT_LIMIT,
    Backoff,
    connect_slots,
    set_connect_limit,
)


def test_delays_grow_exponentially_up_to_the_cap() -> None:
    backoff = Backoff(floor=1.0, cap=30.0, factor=2.0, jitter=0.0)
    assert [backoff.delay(n) for n in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30  # no overflow for long outages
    assert backoff.maximum() == 30


@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
def test_jitter_stays_within_its_fraction(rand: float) -> None:
    backoff = Backoff(floor=4.0, cap=100.0, jitter=0.25)
    delay = backoff.delay(0, rand=lambda: rand)
    assert 3.0 <= delay <= 5.0
    assert delay == pytest.approx(4.0 * (1 + 0.25 * (2 * rand - 1)))
    assert 75.0 <= backoff.maximum(rand=lambda: rand) <= 100.0


def test_jitter_spreads_devices_that_failed_together() -> None:
    backoff = Backoff(floor=1.0, cap=60.0)
    delays = {round(backoff.delay(3), 6) for _ in range(50)}
    assert len(delays) > 40


@pytest.mark.parametrize(
    ("floor", "cap", "factor", "jitter"), [(2, 1, 2, 0), (-1, 1, 2, 0), (1, 2, 0.5, 0), (1, 2, 2, 2)]
)
def test_bad_settings_are_refused(floor: float, cap: float, factor: float, jitter: float) -> None:
    with pytest.raises(ValueError):
        Backoff(floor=floor, cap=cap, factor=factor, jitter=jitter)


async def test_connect_limit_is_per_loop_and_settable() -> None:
    slots = connect_slots()
    assert connect_slots() is slots
    try:
        set_connect_limit(2)
        limited = connect_slots()
        assert limited is not slots
        assert limited.take_now()
        assert limited.take_now()
        assert limited.locked()
        assert not limited.take_now()
        waiter = asyncio.ensure_future(limited.wait())
        await asyncio.sleep(0)
        assert not waiter.done()  # a third concurrent connect waits for a slot
        limited.done()
        await waiter
        limited.done()
        limited.done()
        assert not limited.locked()
        with pytest.raises(ValueError):
            set_connect_limit(0)
    finally:
        set_connect_limit(DEFAULT_CONNECT_LIMIT)
