"""CoverDeviceAsync against tinytuya's CoverDevice, for all eight cover types, and its pure parts.

tinytuya's actions return ``None``; ours return the device's answer to the write (the
README's migration table says so). Everything else is compared as in ``parity.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import tinytuya

from tests.devices.conftest import DEV_ID, SimFactory, port_of
from tests.devices.parity import Raised, call, run_twins, sent
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import CoverDeviceAsync
from tinytuya_asyncio.devices.cover import ACTIONS, cover_command, detect_cover_type
from tinytuya_asyncio.simulator import profile_dps

SCENARIO = [
    call("open_cover"),
    call("stop_cover"),
    call("continue_cover"),
    call("close_cover"),
    call("open_cover", switch=1),
    call("close_cover", switch="1"),
    call("stop_cover", "1"),
    call("set_cover_type", 9),
    call("set_cover_type", 0),
    call("status"),
    call("open_cover", nowait=True),  # last: tinytuya leaves its replies unread
]


def _cover_facts(dev: Any) -> tuple[Any, Any]:
    return dev._cover_type, dev._cover_type_detected


@pytest.mark.parametrize("version", ["3.3", "3.4", "3.5"])
@pytest.mark.parametrize("cover_type", range(1, 9))
async def test_same_requests_as_tinytuya(cover_type: int, version: str, simulate: SimFactory) -> None:
    dps = profile_dps(f"cover_{cover_type}")
    twins = (await simulate(version, dps=dps), await simulate(version, dps=dps))

    (expected, sync_facts), (actual, async_facts) = await run_twins(
        tinytuya.CoverDevice, CoverDeviceAsync, twins, SCENARIO, persist=True, inspect=_cover_facts
    )

    assert async_facts == sync_facts == (cover_type, True)
    assert sent(twins[1]) == sent(twins[0])
    assert twins[1].dps == twins[0].dps
    commands = tuya.COVER_TYPES[cover_type]
    for step, want, got in zip(SCENARIO, expected, actual, strict=True):
        if step.name == "set_cover_type":
            assert got == want == Raised(ValueError), step
        elif step.name == "status" or step.kwargs.get("nowait"):
            assert got == want, step
        else:
            assert want is None, step  # tinytuya returns nothing
            command = commands[step.name.removesuffix("_cover")]
            # Ours: the device's report of the write, or None when the type lacks the action.
            if command is None:
                assert got is None, step
            else:
                assert got is not None, step
                assert got["dps"] == {"1": command}, step


@pytest.mark.parametrize("chosen", [2, 6])
async def test_set_cover_type_skips_detection(chosen: int, simulate: SimFactory) -> None:
    dps = profile_dps("cover_1")
    twins = (await simulate("3.4", dps=dps), await simulate("3.4", dps=dps))
    calls = [call("set_cover_type", chosen), call("close_cover"), call("stop_cover"), call("open_cover")]
    (_, sync_facts), (_, async_facts) = await run_twins(
        tinytuya.CoverDevice, CoverDeviceAsync, twins, calls, persist=False, inspect=_cover_facts
    )
    assert async_facts == sync_facts == (chosen, True)
    assert sent(twins[1]) == sent(twins[0])
    assert tuya.DP_QUERY_NEW not in {cmd for cmd, _ in sent(twins[1])}  # no status: no detection
    assert twins[1].dps["1"] == tuya.COVER_TYPES[chosen]["open"]


async def test_detection_on_another_dp(simulate: SimFactory) -> None:
    """The switch of the first action is the DP detection reads."""
    sim = await simulate("3.3", dps={"1": "stop", "4": "ZZ"})
    async with CoverDeviceAsync(DEV_ID, "127.0.0.1", sim.local_key, version=3.3, port=port_of(sim)) as cover:
        result = await cover.close_cover(switch=4)
        assert result is not None
        assert result["dps"] == {"4": "FZ"}  # type 8


async def test_detection_waits_for_a_device_that_answers(simulate: SimFactory) -> None:
    """tinytuya settles on type 1 when its status fails; we ask again on the next action."""
    sim = await simulate("3.3", dps=profile_dps("cover_8"))
    cover = CoverDeviceAsync(
        DEV_ID, "127.0.0.1", sim.local_key, version=3.3, port=port_of(sim), connection_retry_limit=1,
        connection_retry_delay=0, connection_timeout=1,
    )  # fmt: skip
    await sim.stop()
    try:
        failed = await cover.open_cover()
        assert failed is not None
        assert failed["Err"] == str(tuya.ERR_CONNECT)  # refused
        await sim.start()
        opened = await cover.open_cover()
        assert opened is not None
        assert opened["dps"] == {"1": "ZZ"}
        assert sim.dps["1"] == "ZZ"
    finally:
        await cover.close()


@pytest.mark.parametrize("cover_type", range(1, 9))
def test_each_profile_is_detected_as_its_type(cover_type: int) -> None:
    assert detect_cover_type({"dps": profile_dps(f"cover_{cover_type}")}) == cover_type


@pytest.mark.parametrize(
    ("status", "switch", "expected"),
    [
        ({"dps": {"1": "stop"}}, None, 1),  # types 1, 6 and 7 all have "stop": 1 comes first
        ({"dps": {"1": "open"}}, 1, 1),
        ({"dps": {"1": 1}}, None, 2),  # 1 == True, as in tinytuya
        ({"dps": {"1": "nonsense"}}, None, 1),
        ({"dps": {"2": "ZZ"}}, None, 1),  # DP 1 missing: the default
        ({"dps": {"2": "ZZ"}}, "2", 8),
        ({"dps": {}}, None, 1),
        (tuya.error_json(tuya.ERR_OFFLINE), None, None),  # no answer: not detected
        (None, None, None),
    ],
)
def test_detect_cover_type(status: dict[str, Any] | None, switch: Any, expected: int | None) -> None:
    assert detect_cover_type(status, switch) == expected


def test_cover_commands_are_tinytuyas_table() -> None:
    for cover_type, commands in tuya.COVER_TYPES.items():
        for action in ACTIONS:
            assert cover_command(cover_type, action) == commands[action]
    assert cover_command(9, "open") is None
    assert cover_command(None, "open") is None
    assert cover_command(2, "stop") is None
