"""The examples run as written (against the simulator when no device is given)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(autouse=True)
def _examples_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLES))


async def test_status(capsys: pytest.CaptureFixture[str]) -> None:
    status = importlib.import_module("status")
    assert await status.main(["--version", "3.4"]) == 0
    out = capsys.readouterr().out
    assert "status: {'dps': {'1': False" in out
    assert "after toggling switch 1: {'protocol': 4" in out
    assert "'dps': {'1': True}" in out


async def test_push_updates(capsys: pytest.CaptureFixture[str]) -> None:
    push_updates = importlib.import_module("push_updates")
    assert await push_updates.main(["--version", "3.5", "--seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert out.count("push: changed") == 3
    assert "connection: connected" in out
    assert "connection: closed" in out


async def test_many_devices(capsys: pytest.CaptureFixture[str]) -> None:
    many = importlib.import_module("many_devices")
    assert await many.main(["--count", "12"]) == 0
    assert "12 devices in" in capsys.readouterr().out
    assert "many_devices" in sys.modules
