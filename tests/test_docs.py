"""The README and the docs stay true: their code runs or type-checks, their links resolve.

How a code block is tested depends on an HTML comment on the line just above its fence
(invisible on GitHub and in the built docs). Type-checking is ``make typecheck``'s part:
it runs mypy over the modules :mod:`tests.doc_blocks` writes, one per block, one run after
the suite's own instead of a mypy process competing with the timing-sensitive tests here.

- no comment: a ``python`` block is compiled and type-checked with mypy (strict), as the
  body of an ``async def`` (so ``await`` may stand at the top level), after
  ``import asyncio`` and every name of ``tinytuya_asyncio.__all__``. It is for code that
  needs a real device on a real network, which a test must never reach.
- ``<!-- test: given NAME: TYPE, ... -->``: as above, with the free names a fragment uses
  (``dev: DeviceAsync``) declared as parameters of that function.
- ``<!-- test: run -->``: the block is a whole program and is executed, against the
  simulator it starts itself on loopback (the suite's guard fails any other address); it
  is type-checked as well.
- ``<!-- test: pytest -->``: the block is a test module; it is run by pytest in a process of
  its own, with pytest-asyncio in strict mode (as a user's project would have it), and
  every test in it must pass. It is type-checked as well.
- ``<!-- test: output -->`` above a ``text`` block right after a run block: every line of it
  must appear in what the program printed, in order (``...`` in a line matches anything).
- ``sh`` blocks: every ``tinytuya-asyncio`` command line in them must parse with the
  command line's own parser, every ``make`` target must exist, every file they name too.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.doc_blocks import BLOCKS, DOCS, PAGES, PYTEST, PYTHON, ROOT, RUN, Block, as_module, module_name
from tinytuya_asyncio.cli.app import build_parser
from tinytuya_asyncio.simulator.__main__ import build_parser as build_simulator_parser


def _known_markers(block: Block) -> bool:
    return block.marker in ("", "run", "pytest", "output") or block.marker.startswith("given ")


def test_every_marker_is_known_and_every_page_is_read() -> None:
    assert all(_known_markers(b) for b in BLOCKS), [b.where for b in BLOCKS if not _known_markers(b)]
    assert len(RUN) + len(PYTEST) >= 10  # every guide has a runnable program
    guides = {b.page for b in RUN + PYTEST}
    assert guides >= set((DOCS / "guides").glob("*.md")) - {DOCS / "guides" / "migrating.md"}
    outputs = [b for b in BLOCKS if b.marker == "output"]
    for block in outputs:
        before = [b for b in BLOCKS if b.page == block.page and b.line < block.line]
        assert before, f"{block.where}: an output block follows a run block"
        assert before[-1].runs, f"{block.where}: an output block follows a run block"


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.where)
def test_python_blocks_compile(block: Block) -> None:
    compile(block.body, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    # ...and so does the module make typecheck gives mypy for it.
    compile(as_module(block), module_name(block), "exec")


def test_every_block_has_a_module_of_its_own() -> None:
    assert len({module_name(b) for b in PYTHON}) == len(PYTHON)


def _expected_output(block: Block) -> list[str]:
    following = [b for b in BLOCKS if b.page == block.page and b.line > block.line]
    if following and following[0].marker == "output":
        return [line for line in following[0].body.splitlines() if line.strip()]
    return []


def _matches(pattern: str, line: str) -> bool:
    parts = [re.escape(part) for part in pattern.strip().split("...")]
    return re.fullmatch(".*".join(parts), line.strip()) is not None


@pytest.mark.parametrize("block", RUN, ids=lambda b: b.where)
def test_runnable_blocks_run(block: Block, capsys: pytest.CaptureFixture[str]) -> None:
    code = compile(block.body, block.where, "exec")
    exec(code, {"__name__": "__main__"})  # the docs' own programs, on loopback
    printed = capsys.readouterr().out.splitlines()
    position = 0
    for expected in _expected_output(block):
        while position < len(printed) and not _matches(expected, printed[position]):
            position += 1
        assert position < len(printed), f"{block.where}: no line {expected!r} in order in:\n" + "\n".join(
            printed
        )
        position += 1


_PYTEST_INI = """[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
timeout = 60
filterwarnings = error
"""


@pytest.mark.parametrize("block", PYTEST, ids=lambda b: b.where)
def test_test_modules_pass(block: Block, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(_PYTEST_INI)
    (tmp_path / "test_from_docs.py").write_text(block.body)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "test_from_docs.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    tests = len(re.findall(r"^async def test_|^def test_", block.body, flags=re.MULTILINE))
    assert result.returncode == 0, f"{block.where}:\n{result.stdout}{result.stderr}"
    assert f"{tests} passed" in result.stdout, result.stdout


# -- shell blocks ---------------------------------------------------------------------------

SHELL = [b for b in BLOCKS if b.lang in ("sh", "bash", "console")]


def _command_lines(block: Block) -> list[str]:
    """The block's commands, with continuation lines joined and comments dropped."""
    joined = block.body.replace("\\\n", " ")
    return [line.split(" #", 1)[0].strip() for line in joined.splitlines() if line.strip()]


@pytest.mark.parametrize("block", SHELL, ids=lambda b: b.where)
def test_shell_blocks_name_what_exists(block: Block) -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.MULTILINE))
    for line in _command_lines(block):
        words = line.rstrip("&").split()
        for target in re.findall(r"\bmake ([a-z-]+)", line):
            assert target in targets, f"{block.where}: make {target}: no such target"
        for path in re.findall(r"\b((?:examples|docs|bench|devtools)/[\w/.-]+\.\w+)", line):
            assert (ROOT / path).exists(), f"{block.where}: {path} does not exist"
        arguments: list[str] | None = None
        parser = build_parser()
        if words[:1] and words[0].endswith("tinytuya-asyncio"):
            arguments = words[1:]
            if arguments[:1] == ["simulate"]:
                arguments, parser = arguments[1:], build_simulator_parser()
            elif arguments[:1] == ["demo"]:
                arguments = None
        elif words[:3] and words[0].endswith("python") and words[1:3] == ["-m", "tinytuya_asyncio.simulator"]:
            arguments, parser = words[3:], build_simulator_parser()
        if arguments is not None:
            try:
                parser.parse_args(arguments)
            except SystemExit as exc:
                pytest.fail(f"{block.where}: {line!r} does not parse ({exc})")


# -- links and the reference ------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(), flags=re.MULTILINE | re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        assert (page.parent / path).exists(), (
            f"{page.relative_to(ROOT)} links to {target}, which does not exist"
        )


def test_readme_links_to_the_docs() -> None:
    readme = (ROOT / "README.md").read_text()
    for page in ["docs/PROTOCOL.md", "docs/index.md", "ASYNC.md", "CHANGELOG.md", "docs/BENCHMARKS.md"]:
        assert f"]({page}" in readme, f"the README does not link to {page}"
    for guide in sorted((DOCS / "guides").glob("*.md")):
        assert f"](docs/guides/{guide.name}" in readme, f"the README does not link to {guide.name}"


def _documented_objects() -> list[object]:
    names = []
    for page in sorted((DOCS / "reference").glob("*.md")):
        names += re.findall(r"^\.\. auto\w+:: ([\w.]+)", page.read_text(), flags=re.MULTILINE)
    objects: list[object] = []
    for name in names:
        module_name, _, attribute = name.rpartition(".")
        try:
            objects.append(importlib.import_module(name))
        except ImportError:
            objects.append(getattr(importlib.import_module(module_name), attribute))
    return objects


@pytest.mark.parametrize(
    "package", ["tinytuya_asyncio", "tinytuya_asyncio.scanner", "tinytuya_asyncio.simulator"]
)
def test_every_public_name_is_in_the_reference(package: str) -> None:
    module = importlib.import_module(package)
    documented = _documented_objects()
    missing = [
        name
        for name in module.__all__
        if not name.startswith("__") and not any(getattr(module, name) is obj for obj in documented)
    ]
    assert not missing, f"{package} exports names docs/reference/ does not document: {missing}"


def test_metrics_guide_lists_every_event_the_package_emits() -> None:
    emitted = set()
    for path in (ROOT / "src" / "tinytuya_asyncio").rglob("*.py"):
        emitted |= set(re.findall(r"(?:_?report|_events)\(\s*\"([a-z_]+)\"", path.read_text()))
    guide = (DOCS / "guides" / "metrics-and-logs.md").read_text()
    listed = set(re.findall(r"^\| `([a-z_]+)` \|", guide, flags=re.MULTILINE))
    assert emitted, "no event emission found: has the reporting call changed its name?"
    assert listed == emitted, f"only emitted: {emitted - listed}; only listed: {listed - emitted}"


# -- PROTOCOL.md and the protocol modules point at each other ----------------------------------


def _github_anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_protocol_modules_and_protocol_md_link_each_other() -> None:
    protocol_md = (DOCS / "PROTOCOL.md").read_text()
    anchors = {_github_anchor(h) for h in re.findall(r"^#+ (.+)$", protocol_md, flags=re.MULTILINE)}
    sources = sorted((ROOT / "src" / "tinytuya_asyncio").rglob("*.py"))
    for path in sources:
        for anchor in re.findall(r"docs/PROTOCOL\.md#([\w-]+)", path.read_text()):
            assert anchor in anchors, (
                f"{path.relative_to(ROOT)} links to PROTOCOL.md#{anchor}, no such section"
            )
    for path in sorted((ROOT / "src" / "tinytuya_asyncio" / "protocol").glob("*.py")):
        docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "docs/PROTOCOL.md#" in docstring, f"{path.name}'s docstring does not link to PROTOCOL.md"
        assert f"(../src/tinytuya_asyncio/protocol/{path.name})" in protocol_md, (
            f"PROTOCOL.md does not link to protocol/{path.name}"
        )
