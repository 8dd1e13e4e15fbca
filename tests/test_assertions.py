"""A review habit, automated: no assertion in the tests hides a conditional expression.

``assert a == b if c else d`` parses as ``assert (a == b) if c else d``: when ``c`` is false
it asserts ``d``, which is usually just truthy. Any ``assert x if c else y`` is refused; write
an ``if`` statement with an assertion in each branch instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def conditional_assertions(source: str, filename: str) -> list[int]:
    """Line numbers of ``assert`` statements whose test is a conditional expression."""
    tree = ast.parse(source, filename)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Assert) and isinstance(node.test, ast.IfExp)
    ]


def test_the_check_finds_the_trap() -> None:
    assert conditional_assertions("assert a == b if c else d\n", "x.py") == [1]
    assert conditional_assertions("assert a == (b if c else d)\n", "x.py") == []


def test_no_assertion_hides_a_conditional_expression() -> None:
    found = [
        f"{path.relative_to(TESTS.parent)}:{line}"
        for path in sorted(TESTS.rglob("*.py"))
        for line in conditional_assertions(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not found, f"assert x if c else y asserts y when c is false: {found}"
