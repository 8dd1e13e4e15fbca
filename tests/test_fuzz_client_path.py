"""The fuzz invariant over the whole client decode path: frames, codec, result shaping, device.

Every input (from :mod:`fuzz.inputs`: frames sealed under the key in use around hostile
bodies, mutated and split into reads) is fed to a fresh :class:`TuyaConnection` through its
``BufferedProtocol`` methods, with a real device's push handler behind it and, often, a
request pending. The only allowed outcomes: results reach the device (its cache holds every
data point delivered), or the connection ends through its fatal funnel with a
RemoteProtocolError that its owner hears through ``on_lost``. Never an exception out of
``buffer_updated`` or the device layer, never an ERROR log line.
"""

from __future__ import annotations

import itertools
from functools import cache

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.client import AWAIT_RESPONSE, ESTABLISHED, REQUESTS_BY_NAME, ClientRig, Request
from fuzz.inputs import CHILD_CID, DEPTHS, VARIANTS, Sealer, Variant
from fuzz.outcomes import ErrorLog, Tally
from tests.fuzz_choices import DrawChoices
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import Role
from tinytuya_asyncio.protocol.dps import dps_of

VARIANT_IDS = [v.name for v in VARIANTS]


@cache
def drawer(variant: Variant) -> ClientRig:
    """A rig used only to draw inputs (each example runs on a fresh one)."""
    return ClientRig(variant, gateway=True)


@st.composite
def client_inputs(draw: st.DrawFn, variant: Variant) -> tuple[str, Request | None, list[bytes]]:
    state, request, reads, _frames = drawer(variant).draw(DrawChoices(draw))
    return state, request, reads


def assert_clean(tally: Tally) -> None:
    assert not tally.violations, "\n\n".join(
        f"{v.signature}: {v.detail}\n{v.case.describe()[:4000]}" for v in tally.violations.values()
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
@given(data=st.data(), gateway=st.booleans())
async def test_client_delivers_or_ends_through_the_funnel(
    variant: Variant, data: st.DataObject, gateway: bool
) -> None:
    log = ErrorLog()
    log.watch()
    try:
        state, request, reads = data.draw(client_inputs(variant))
        if request is not None and request.child and not gateway:
            request = None
        tally = Tally()
        case = await ClientRig(variant, gateway=gateway).execute(state, request, reads, tally)
        log.drain(tally, case)
    finally:
        log.unwatch()
    assert_clean(tally)


def device_frame(variant: Variant, cmd: int, body: bytes, *, session: bool = True) -> bytes:
    return Sealer(variant.spec, Role.DEVICE, session=session).sealed(cmd, body, 1, 0, bytes(12))


def status_body(variant: Variant, dps: bytes, cid: bytes | None = None) -> bytes:
    cid_field = b',"cid":"' + cid + b'"' if cid else b""
    if variant.spec.number >= 3.4:
        return b'{"protocol":4,"t":1,"data":{"dps":' + dps + cid_field + b"}}"
    return b'{"devId":"x","dps":' + dps + cid_field + b',"t":1}'


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
async def test_well_formed_frames_reach_the_device(variant: Variant, errors: ErrorLog) -> None:
    """The baseline the invariant rests on: a reply and a child's push both arrive and are cached."""
    rig = ClientRig(variant, gateway=True)
    assert rig.child is not None
    tally = Tally()
    query = rig.device.generate_payload(tuya.DP_QUERY).cmd
    reads = [
        device_frame(variant, tuya.STATUS, status_body(variant, b'{"7":"pushed"}', CHILD_CID.encode())),
        device_frame(variant, query, status_body(variant, b'{"1":true,"2":5}')),
    ]
    errors.drain(tally, await rig.execute(ESTABLISHED, REQUESTS_BY_NAME["status"], reads, tally))
    assert_clean(tally)
    assert tally.outcomes == {"pushes delivered": 1, "reply: result": 1}
    assert dps_of(await rig.child.cached_status(historic=True)) == {"7": "pushed"}
    assert dps_of(await rig.device.cached_status(historic=True)) == {"1": True, "2": 5}


@pytest.mark.parametrize("variant", [v for v in VARIANTS if v.spec.needs_session_key], ids=lambda v: v.name)
async def test_a_forged_handshake_answer_ends_through_the_funnel(variant: Variant, errors: ErrorLog) -> None:
    rig = ClientRig(variant, gateway=False)
    forged = device_frame(variant, tuya.SESS_KEY_NEG_RESP, bytes(48), session=False)
    tally = Tally()
    errors.drain(tally, await rig.execute(AWAIT_RESPONSE, None, [forged], tally))
    assert_clean(tally)
    assert tally.outcomes == {"ended: InvalidKeyError": 1}


@pytest.mark.parametrize("variant", VARIANTS, ids=VARIANT_IDS)
async def test_deeply_nested_json_ends_as_a_result_or_a_protocol_error(
    variant: Variant, errors: ErrorLog
) -> None:
    """JSON nested thousands deep, as a reply and as a push: an error dict, a result or the funnel.

    The JSON decoder raises RecursionError past the interpreter's recursion limit; it must
    not escape ``buffer_updated`` (where asyncio would log "Fatal error: protocol.
    buffer_updated() call failed" and close the transport behind the funnel's back).
    """
    rig = ClientRig(variant, gateway=True)
    query = rig.device.generate_payload(tuya.DP_QUERY).cmd
    for depth in DEPTHS:
        nest = b"[" * depth + b"]" * depth
        bodies = (
            nest,
            status_body(variant, b'{"1":' + nest + b"}"),
            b'{"data":{"dps":' + nest + b"}}",
            status_body(variant, b"{}").replace(b'"dps":{}', b'"dps":{},"cid":' + nest),
        )
        for body, (cmd, request) in itertools.product(
            bodies, ((query, REQUESTS_BY_NAME["status"]), (tuya.STATUS, None))
        ):
            tally = Tally()
            errors.drain(
                tally, await rig.execute(ESTABLISHED, request, [device_frame(variant, cmd, body)], tally)
            )
            assert_clean(tally)
