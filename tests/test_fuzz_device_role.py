"""The fuzz invariant for the simulator's device role: a hostile client's bytes are answered,
or close the connection (counted once in ``stats.protocol_errors``); nothing else happens.

Inputs are built by :mod:`fuzz.inputs` (frames sealed under the key in use around hostile
bodies, then mutated and split) from hypothesis draws, and fed to a fresh
:class:`DeviceConnection` of a simulated device or gateway, through ``data_received``.
"""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.device import AWAIT_FINISH, ESTABLISHED, IDLE, DeviceRig
from fuzz.inputs import DEPTHS, VARIANTS, Sealer, Variant
from fuzz.outcomes import ErrorLog, Tally
from tests.fuzz_choices import DrawChoices
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import Role

VARIANT_IDS = [v.name for v in VARIANTS]


@cache
def drawer(variant: Variant) -> DeviceRig:
    """A rig used only to draw inputs (each example runs on a fresh one)."""
    return DeviceRig(variant, gateway=True)


@st.composite
def device_inputs(draw: st.DrawFn, variant: Variant) -> tuple[str, list[bytes]]:
    state, reads, _frames = drawer(variant).draw(DrawChoices(draw))
    return state, reads


def assert_clean(tally: Tally) -> None:
    assert not tally.violations, "\n\n".join(
        f"{v.signature}: {v.detail}\n{v.case.describe()}" for v in tally.violations.values()
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@given(data=st.data(), gateway=st.booleans())
async def test_device_answers_or_closes(variant: Variant, data: st.DataObject, gateway: bool) -> None:
    log = ErrorLog()
    log.watch()
    try:
        state, reads = data.draw(device_inputs(variant))
        tally = Tally()
        case = DeviceRig(variant, gateway=gateway).execute(state, reads, tally)
        log.drain(tally, case)
    finally:
        log.unwatch()
    assert_clean(tally)
    assert sum(tally.outcomes.values()) == 1


def control_frame(variant: Variant, body: bytes, cmd: int = tuya.CONTROL) -> bytes:
    return Sealer(variant.spec, Role.CLIENT, session=True).sealed(cmd, body, 7, 0, bytes(12))


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
async def test_nesting_around_the_recursion_limit_is_answered(variant: Variant, errors: ErrorLog) -> None:
    """A data point written with a deeply nested value, then read back: both answered.

    The firmware stores what a CONTROL writes and encodes it again in the STATUS push and
    in every later status reply, from other call depths than where it was parsed.
    """
    rig = DeviceRig(variant, gateway=False)
    query = tuya.CONTROL_NEW if variant.device22 else tuya.DP_QUERY
    query_body = b'{"dps":{"1":null}}' if variant.device22 else b"{}"
    for depth in (*DEPTHS, *range(960, 1000)):
        for nest in (b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth):
            write = control_frame(variant, b'{"dps":{"1":' + nest[:10_000] + b"}}")
            tally = Tally()
            case = rig.execute(ESTABLISHED, [write, control_frame(variant, query_body, query)], tally)
            errors.drain(tally, case)
            assert_clean(tally)
            assert tally.outcomes["answered"] == 1, (depth, tally.outcomes)


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
async def test_every_single_bit_flip_of_a_request_closes_or_is_ignored(
    variant: Variant, errors: ErrorLog
) -> None:
    """Exhaustive: no flipped bit of a real CONTROL gets an answer (CRC, HMAC and tag catch it)."""
    rig = DeviceRig(variant, gateway=False)
    frame = control_frame(variant, b'{"dps":{"1":false}}')
    tally = Tally()
    rig.execute(ESTABLISHED, [frame], tally)
    assert tally.outcomes == {"answered": 1}
    tally = Tally()
    for bit in range(len(frame) * 8):
        mutated = bytearray(frame)
        mutated[bit // 8] ^= 1 << (bit % 8)
        errors.drain(tally, rig.execute(ESTABLISHED, [bytes(mutated)], tally))
    assert_clean(tally)
    assert "answered" not in tally.outcomes
    assert tally.outcomes["closed after a bad frame"] > len(frame) * 4


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.spec.needs_session_key], ids=lambda v: v.name)
async def test_handshake_states_refuse_what_they_do_not_expect(variant: Variant, errors: ErrorLog) -> None:
    """An application frame before the session key closes the connection, in either state."""
    rig = DeviceRig(variant, gateway=False)
    frame = Sealer(variant.spec, Role.CLIENT, session=False).sealed(tuya.CONTROL, b"{}", 1, 0, bytes(12))
    for state in (IDLE, AWAIT_FINISH):
        tally = Tally()
        errors.drain(tally, rig.execute(state, [frame], tally))
        assert_clean(tally)
        assert tally.outcomes == {"closed after a bad frame": 1}, state
