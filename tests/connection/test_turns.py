"""Turns: first come, first served, and cancellation never loses or duplicates the turn."""

from __future__ import annotations

import asyncio

import pytest

from tinytuya_asyncio.connection.turns import Slots, Turns


async def test_turns_are_taken_in_order() -> None:
    turns = Turns()
    order: list[int] = []

    async def job(n: int, gate: asyncio.Event) -> None:
        if not turns.take_now():
            await turns.wait()
        try:
            order.append(n)
            await gate.wait()
        finally:
            turns.done()

    gates = [asyncio.Event() for _ in range(3)]
    tasks = [asyncio.create_task(job(n, gates[n])) for n in range(3)]
    await asyncio.sleep(0)  # let all three queue
    assert order == [0]
    assert turns.locked()
    for gate in gates:
        gate.set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert not turns.locked()
    assert turns.take_now()


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    turns = Turns()
    assert turns.take_now()
    waiting = asyncio.create_task(turns.wait())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    turns.done()
    assert not turns.locked()  # nobody left to hand it to


async def test_a_turn_handed_to_a_cancelled_waiter_passes_on() -> None:
    turns = Turns()
    assert turns.take_now()
    first = asyncio.create_task(turns.wait())
    second = asyncio.create_task(turns.wait())
    await asyncio.sleep(0)
    turns.done()  # hands the turn to `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)  # the turn went on to `second`
    assert turns.locked()
    turns.done()
    assert not turns.locked()


async def test_slots_let_capacity_holders_in_and_queue_the_rest() -> None:
    slots = Slots(2)
    inside: list[int] = []
    gate = asyncio.Event()

    async def job(n: int) -> None:
        if not slots.take_now():
            await slots.wait()
        try:
            inside.append(n)
            await gate.wait()
        finally:
            slots.done()

    tasks = [asyncio.create_task(job(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert inside == [0, 1]  # two at once; the third waits for a slot
    assert slots.locked()
    gate.set()
    await asyncio.gather(*tasks)
    assert inside == [0, 1, 2]
    assert not slots.locked()
    assert slots.take_now()
    assert slots.take_now()
    assert not slots.take_now()


# -- backpressure: a bounded queue ----------------------------------------------------------


async def _queue(turns: Turns, count: int) -> list[asyncio.Task[None]]:
    """``count`` callers queued behind the current holder (each queued before returning)."""
    tasks = [asyncio.create_task(turns.wait(1.0)) for _ in range(count)]
    await asyncio.sleep(0)
    return tasks


async def test_a_caller_beyond_the_limit_gets_an_error_at_its_deadline_without_queueing() -> None:
    turns = Turns(limit=2)
    assert turns.take_now()
    queued = await _queue(turns, 2)
    assert turns.waiting == 2
    assert turns.full()
    with pytest.raises(TimeoutError):
        await turns.wait(0.01)  # no place came free in time
    assert turns.waiting == 2  # and it never queued
    for _ in range(3):
        turns.done()
        await asyncio.sleep(0)
    await asyncio.gather(*queued)
    assert not turns.locked()
    assert turns.take_now()  # nothing promised to anyone any more


async def test_without_a_limit_any_number_queue() -> None:
    turns = Turns()
    assert turns.take_now()
    queued = await _queue(turns, 50)
    assert not turns.full()
    assert turns.waiting == 50
    for _ in range(51):
        turns.done()
        await asyncio.sleep(0)
    await asyncio.gather(*queued)
    assert not turns.locked()


async def test_callers_outside_get_places_first_come_first_served() -> None:
    turns = Turns(limit=1)
    assert turns.take_now()
    order: list[int] = []

    async def caller(n: int) -> None:
        await turns.wait(5.0)
        order.append(n)
        turns.done()

    inside = asyncio.create_task(caller(0))
    await asyncio.sleep(0)
    outside = [asyncio.create_task(caller(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    assert turns.full()
    late = asyncio.create_task(caller(4))  # arrives while others wait outside: behind them
    await asyncio.sleep(0)
    turns.done()
    await asyncio.wait_for(asyncio.gather(inside, *outside, late), 1)
    assert order == [0, 1, 2, 3, 4]
    assert not turns.locked()


async def test_limit_zero_means_nobody_queues_but_the_free_turn_is_handed_on() -> None:
    turns = Turns(limit=0)
    assert turns.take_now()
    assert turns.full()
    outside = asyncio.create_task(turns.wait(1.0))
    await asyncio.sleep(0)
    assert turns.waiting == 0
    assert not turns.take_now()  # a newcomer does not jump the caller waiting outside
    turns.done()
    await asyncio.wait_for(outside, 1)
    assert turns.locked()  # the caller from outside holds it now
    turns.done()
    assert not turns.locked()


async def test_a_place_given_to_a_caller_who_gave_up_passes_on() -> None:
    turns = Turns(limit=1)
    assert turns.take_now()
    queued = await _queue(turns, 1)
    first = asyncio.create_task(turns.wait(5.0))
    second = asyncio.create_task(turns.wait(5.0))
    await asyncio.sleep(0)
    turns.done()  # the queued caller takes the turn; its place goes to `first`...
    first.cancel()  # ...which gives up before it runs
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(queued[0], 1)
    assert turns.waiting == 1  # `second` got the place
    turns.done()
    await asyncio.wait_for(second, 1)
    turns.done()
    assert not turns.locked()
    assert turns.take_now()


async def test_a_cancelled_waiter_frees_its_place_for_a_caller_outside() -> None:
    turns = Turns(limit=1)
    assert turns.take_now()
    queued = await _queue(turns, 1)
    outside = asyncio.create_task(turns.wait(5.0))
    await asyncio.sleep(0)
    queued[0].cancel()
    await asyncio.gather(queued[0], return_exceptions=True)
    await asyncio.sleep(0)
    assert turns.waiting == 1  # the caller from outside queued in its place
    turns.done()
    await asyncio.wait_for(outside, 1)
    turns.done()
    assert not turns.locked()


async def test_a_bounded_counting_semaphore_admits_capacity_plus_limit() -> None:
    slots = Slots(2, limit=1)
    assert slots.take_now()
    assert slots.take_now()
    queued = asyncio.create_task(slots.wait(1.0))
    await asyncio.sleep(0)
    assert slots.full()
    with pytest.raises(TimeoutError):
        await slots.wait(0.01)
    slots.done()
    await asyncio.wait_for(queued, 1)
    slots.done()
    slots.done()
    assert slots.take_now()
    assert slots.take_now()
