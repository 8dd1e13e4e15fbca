"""``make soak`` keeps working: a short run with quick client settings must come out clean."""

from __future__ import annotations

from bench.soak import ClientSettings, Soak
from tinytuya_asyncio import Backoff


async def test_a_short_soak_with_faults_is_clean() -> None:
    settings = ClientSettings(
        timeout=0.5, retry_delay=0.1, backoff=Backoff(floor=0.05, cap=0.3), heartbeat=1.0
    )
    soak = Soak(devices=40, seconds=6.0, fault_share=0.1, seed=3, settings=settings)
    report = await soak.run()
    assert sum(report.faults.values()) >= 4  # faults were injected
    assert report.controls > 0
    assert report.polls > 0
    assert report.problems() == []
