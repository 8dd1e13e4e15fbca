"""``make fuzz`` keeps working: a short seeded run of every target and version holds the invariant."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fuzz.inputs import VARIANTS, Sealer, variant
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import Role

ROOT = Path(__file__).resolve().parent.parent


def run_fuzz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fuzz.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_short_run_of_every_target_and_version_is_clean() -> None:
    # fuzz.run exits 1 when any input broke the invariant or memory grew past its bound.
    done = run_fuzz("--frames", "1500", "--seed", "7", "--rig-inputs", "100")
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| client |", "| device |"))]
    assert len(rows) == 2 * len(VARIANTS), done.stdout
    assert all(" | 0 | " in row for row in rows), rows  # no violations


def test_a_saved_input_replays(tmp_path: Path) -> None:
    """The format ``--save`` writes: a well-formed push replays as delivered."""
    frame = Sealer(variant("3.3").spec, Role.DEVICE, session=True).sealed(
        tuya.STATUS, b'{"dps":{"1":true}}', 0, 0, bytes(12)
    )
    case = {"target": "client", "variant": "3.3", "gateway": False, "state": "established", "request": None}
    saved = tmp_path / "case.json"
    saved.write_text(json.dumps({**case, "reads": [frame.hex()]}), encoding="utf-8")
    done = run_fuzz("--replay", str(saved))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "'pushes delivered': 1" in done.stdout
