"""``make demo`` works: every simulated device answers, toggles and pushes."""

from __future__ import annotations

import re

import pytest

from tinytuya_asyncio import demo


async def test_demo_drives_every_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert await demo.run(count=15, seed=2) == 0
    out = capsys.readouterr().out
    summary = re.search(r"summary: (\d+) devices, (\d+) requests .* (\d+) pushes received, (\d+) errors", out)
    assert summary is not None, out
    devices, requests, pushes, errors = map(int, summary.groups())
    assert (devices, errors) == (15, 0)
    assert requests >= 2 * devices  # at least a status and a toggle each
    assert pushes == 15 // 4  # every simulated button press arrived
    for version in ("3.1", "3.2", "3.3", "3.4", "3.5"):
        assert f" {version} " in out
    assert "off -> on" in out


def test_main_parses_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--devices", "5", "--seed", "4"]) == 0
    assert "summary: 5 devices" in capsys.readouterr().out
