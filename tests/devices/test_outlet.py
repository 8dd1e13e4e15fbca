"""OutletDeviceAsync.set_dimmer against tinytuya's: same requests; ours returns the device's answer."""

from __future__ import annotations

import pytest
import tinytuya

from tests.devices.conftest import SimFactory
from tests.devices.parity import call, run_twins, sent
from tinytuya_asyncio.devices import OutletDeviceAsync
from tinytuya_asyncio.devices.outlet import dimmer_level
from tinytuya_asyncio.simulator import profile_dps

#: (call, what ours returns: the DPs of the device's answer, or None).
SCENARIO = [
    (call("set_dimmer", 50), {"3": 127}),
    (call("set_dimmer", value=10), {"3": 25}),  # raised to the minimum
    (call("set_dimmer", value=300), {"3": 255}),  # capped
    (call("set_dimmer", 0), {"1": False}),  # off
    (call("set_dimmer", percentage=100, dps_id=3), {"3": 255}),
    (call("set_dimmer", 20, dps_id="3"), {"3": 51}),
    (call("set_dimmer"), None),  # nothing to do: nothing sent
    (call("turn_on"), {"1": True}),
    (call("set_dimmer", 30, nowait=True), None),
]


@pytest.mark.parametrize("version", ["3.3", "3.4", "3.5"])
async def test_set_dimmer_sends_what_tinytuya_sends(version: str, simulate: SimFactory) -> None:
    dps = profile_dps("dimmer")
    twins = (await simulate(version, dps=dps), await simulate(version, dps=dps))
    calls = [step for step, _ in SCENARIO]

    (expected, _), (actual, _) = await run_twins(
        tinytuya.OutletDevice, OutletDeviceAsync, twins, calls, persist=True
    )

    assert sent(twins[1]) == sent(twins[0])
    assert twins[1].dps == twins[0].dps
    for (step, answer), want, got in zip(SCENARIO, expected, actual, strict=True):
        if step.name == "set_dimmer":
            assert want is None, step  # tinytuya's set_dimmer returns nothing
            if answer is None:
                assert got is None, step
            else:
                assert got is not None, step
                assert got["dps"] == answer, step
        else:
            assert got == want, step


async def test_set_dimmer_reports_a_failed_switch(simulate: SimFactory) -> None:
    sim = await simulate("3.3", dps=profile_dps("dimmer"))
    await sim.stop()
    dimmer = OutletDeviceAsync(
        "bf0123456789abcdefgh", "127.0.0.1", sim.local_key, version=3.3, port=sim.port or 0,
        connection_retry_limit=1, connection_retry_delay=0, connection_timeout=1,
    )  # fmt: skip
    try:
        result = await dimmer.set_dimmer(50)
        assert result is not None
        assert result["Err"] == "901"  # refused: the level is not reported as written
    finally:
        await dimmer.close()


@pytest.mark.parametrize(
    ("percentage", "value", "expected"),
    [
        (None, None, None),
        (0, None, 0),
        (None, 0, 0),
        (50, 7, 127),
        (1, None, 25),
        (None, 24, 25),
        (200, None, 255),
    ],
)
def test_dimmer_level(percentage: float | None, value: int | None, expected: int | None) -> None:
    assert dimmer_level(percentage, value) == expected
