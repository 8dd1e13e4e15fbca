"""The README stays true: its code compiles, its make targets and files exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_python_snippets_compile() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        compile(block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.MULTILINE))
    for target in re.findall(r"\bmake ([a-z-]+)", README):
        assert target in targets, f"README mentions make {target}, the Makefile has no such target"


def test_referenced_files_exist() -> None:
    for path in re.findall(r"\]\(([^)#:]+)\)", README) + re.findall(r"(examples/\w+\.py)", README):
        assert (ROOT / path).exists(), f"README links to {path}, which does not exist"
