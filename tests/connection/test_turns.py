"""Turns: first come, first served, and cancellation never loses or duplicates the turn."""

from __future__ import annotations

import asyncio

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
