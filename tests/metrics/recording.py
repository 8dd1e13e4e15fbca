"""A sink for tests: keeps every event after checking its name and fields against the catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tinytuya_asyncio.metrics import CATALOGUE


class RecordingSink:
    """Records events; a name not in the catalogue, or fields other than its own, is a problem."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.problems: list[str] = []
        self._waiters: list[tuple[str, int, asyncio.Future[None]]] = []

    def on_event(self, name: str, /, **data: object) -> None:
        spec = CATALOGUE.get(name)
        if spec is None:
            self.problems.append(f"{name}: not in the catalogue")
        else:
            expected = set(spec.fields) | ({"device"} if spec.device else set())
            if set(data) != expected:
                self.problems.append(f"{name}: fields {sorted(data)}, the catalogue says {sorted(expected)}")
        # A receive's data is only valid during the call (the read buffer is reused): copy it.
        kept = {key: bytes(value) if isinstance(value, memoryview) else value for key, value in data.items()}
        self.events.append((name, kept))
        for wanted, count, future in self._waiters:
            if wanted == name and len(self.named(name)) >= count and not future.done():
                future.set_result(None)

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for event, data in self.events if event == name]

    def first(self, name: str) -> dict[str, Any]:
        found = self.named(name)
        assert found, f"no {name} event among {sorted(set(self.names()))}"
        return found[0]

    async def wait_for(self, name: str, count: int = 1, timeout: float = 5.0) -> None:
        """Until ``count`` events ``name`` have been recorded."""
        if len(self.named(name)) >= count:
            return
        entry = (name, count, asyncio.get_running_loop().create_future())
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await entry[2]
        finally:
            self._waiters.remove(entry)


@pytest.fixture
async def events() -> AsyncIterator[RecordingSink]:
    """A recording sink; the test fails if any event it heard broke the catalogue."""
    sink = RecordingSink()
    yield sink
    assert not sink.problems, sink.problems
