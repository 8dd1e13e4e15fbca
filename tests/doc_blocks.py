"""The code blocks of the README and the docs, as tests/test_docs.py and ``make typecheck`` read them.

``python -m tests.doc_blocks DIR`` writes every ``python`` block as a module of its own into
DIR, named after its page and line (``README_md_56.py``), for mypy to check: fragments (code
for real hardware) as the body of an ``async def``, after ``import asyncio`` and every name of
``tinytuya_asyncio.__all__``, with the free names of a ``given`` marker as its parameters;
whole programs (``run`` and ``pytest`` blocks) as they are. tests/test_docs.py explains the
markers.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import tinytuya_asyncio

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "ASYNC.md", ROOT / "CHANGELOG.md", *sorted(DOCS.rglob("*.md"))]

_FENCE = re.compile(
    r"(?:^<!-- test: (?P<marker>[^>]*?) -->\n)?^```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    marker: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.marker == "run"

    @property
    def whole_module(self) -> bool:
        return self.marker in ("run", "pytest")

    def given(self) -> str:
        """The parameters a ``given`` marker declares (``dev: DeviceAsync, n: int``)."""
        return self.marker.removeprefix("given ").strip() if self.marker.startswith("given ") else ""


def blocks_of(page: Path) -> list[Block]:
    text = page.read_text()
    blocks = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        blocks.append(Block(page, line, match["lang"], (match["marker"] or "").strip(), match["body"]))
    return blocks


BLOCKS = [block for page in PAGES for block in blocks_of(page)]
PYTHON = [b for b in BLOCKS if b.lang == "python"]
RUN = [b for b in PYTHON if b.runs]
PYTEST = [b for b in PYTHON if b.marker == "pytest"]


def as_module(block: Block) -> str:
    """The block as a module mypy can check: a coroutine's body, after the package's names."""
    exported = ", ".join(n for n in tinytuya_asyncio.__all__ if not n.startswith("__"))
    if block.whole_module:
        body = block.body
    else:
        body = (
            f"async def _block({block.given()}) -> None:\n"
            + textwrap.indent(block.body, "    ")
            + "\n    return None\n"
        )
    header = (
        # Whole programs run in the suite; checking them strictly would ask for a None check
        # after every request (results are ``dict | None``), noise in an example.
        ("# mypy: strict-optional=False\n" if block.whole_module else "")
        + "from __future__ import annotations\n"
        "import asyncio\n"
        "from typing import Any\n"
        f"from tinytuya_asyncio import {exported}\n"
    )
    return f"# {block.where}\n" + header + body


def module_name(block: Block) -> str:
    """A file name for the block's module: its page and line."""
    return re.sub(r"\W", "_", str(block.page.relative_to(ROOT))) + f"_{block.line}.py"


def main(argv: list[str]) -> int:
    """Write every python block as a module into ``argv[0]`` (emptied first)."""
    out = Path(argv[0])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for block in PYTHON:
        (out / module_name(block)).write_text(as_module(block))
    print(f"{len(PYTHON)} code blocks written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
