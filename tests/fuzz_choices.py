"""The fuzzers' choices drawn by hypothesis, so that a failing input shrinks to a small one."""

from __future__ import annotations

from hypothesis import strategies as st


class DrawChoices:
    """:class:`fuzz.inputs.Choices` from a hypothesis ``draw`` (inside ``st.composite``)."""

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def below(self, n: int) -> int:
        return self._draw(st.integers(0, n - 1))

    def blob(self, size: int) -> bytes:
        return self._draw(st.binary(min_size=size, max_size=size))
