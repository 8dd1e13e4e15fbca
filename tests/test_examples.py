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


@pytest.mark.parametrize("bulb_type", ["A", "B", "C"])
async def test_bulb_effects(bulb_type: str, capsys: pytest.CaptureFixture[str]) -> None:
    effects = importlib.import_module("bulb_effects")
    argv = ["--version", "3.4", "--steps", "4", "--delay", "0", "--simulated-type", bulb_type]
    assert await effects.main(argv) == 0
    out = capsys.readouterr().out
    assert f"bulb type {bulb_type}" in out
    if bulb_type == "C":  # white only: no colours, no scenes
        assert "hue" not in out
        assert "scene" not in out
    else:
        assert "hue 0.00: rgb (255, 0, 0)" in out
        assert "hue 0.50: rgb (0, 255, 255)" in out
        assert out.count("scene ") == 4
        assert ("mode scene_4" if bulb_type == "A" else "mode scene") in out
    assert "white: brightness 80 %, colour temperature 30 %" in out


@pytest.mark.parametrize(("cover_type", "closed"), [(1, "close"), (2, False), (8, "FZ")])
async def test_cover(cover_type: int, closed: object, capsys: pytest.CaptureFixture[str]) -> None:
    cover = importlib.import_module("cover")
    assert await cover.main(["--delay", "0", "--simulated-type", str(cover_type)]) == 0
    out = capsys.readouterr().out
    assert f"close_cover: {{'1': {closed!r}}}" in out
    assert f"cover type {cover_type}" in out
    assert ("stop_cover: not supported" in out) is (cover_type == 2)
