"""Request bodies match tinytuya's generate_payload byte for byte; the DPS helpers behave like tinytuya's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import tinytuya
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.protocol import reference
from tests.protocol.helpers import KEY, VERSIONS
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.protocol import (
    CommandTemplate,
    PayloadBuilder,
    command_templates,
    encode_json,
    version_spec,
)
from tinytuya_asyncio.protocol.dps import changed_dps, dps_of, merge_results

T = 1_700_000_123
DEV_ID = "eb0123456789abcdefgh"
GW_ID = "gw0123456789abcdefgh"
CHILD_ID = "ch0123456789abcdefgh"
CID = "a4c1b2c3d4e5f6"
#: Every command any template layer names, plus two no template knows.
TEMPLATE_COMMANDS = sorted({cmd for layer in tuya.PAYLOAD_DICT.values() for cmd in layer})
UNKNOWN_COMMANDS = [0x11, tuya.REQ_DEVINFO]
COMMANDS = TEMPLATE_COMMANDS + UNKNOWN_COMMANDS
TOPOLOGIES = ["default", "device22", "gateway", "child"]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """tinytuya reads time.time() inside generate_payload; ours takes ``t``."""
    monkeypatch.setattr(reference.XENON_MODULE, "time", SimpleNamespace(time=lambda: T + 0.75))


@dataclass
class Target:
    """The same device as tinytuya builds it and as our PayloadBuilder describes it."""

    builder: PayloadBuilder
    #: A factory, since tinytuya's generate_payload mutates its cached templates on each call.
    version: str
    topology: str

    def tinytuya_device(self) -> Any:
        if self.topology in ("gateway", "child"):
            gateway, child = reference.make_gateway(self.version, KEY, GW_ID, CHILD_ID, CID)
            return gateway if self.topology == "gateway" else child
        dev = reference.make_device(self.version, KEY, DEV_ID, dev_type=self.topology)
        if self.topology == "device22":
            dev.add_dps_to_request([1, 2, 101])
        return dev


def target(version: str, topology: str) -> Target:
    spec = version_spec(version)
    # tinytuya's set_version(3.2) makes every 3.2 device a device22.
    dev_type = "device22" if topology == "device22" or version == "3.2" else "default"
    builder = {
        "default": PayloadBuilder(spec, DEV_ID, dev_type),
        "device22": PayloadBuilder(spec, DEV_ID, dev_type),
        "gateway": PayloadBuilder(spec, GW_ID, dev_type, gateway=True),
        "child": PayloadBuilder(spec, CHILD_ID, dev_type, cid=CID, parent_id=GW_ID),
    }[topology]
    return Target(builder, version, topology)


def variants(command: int) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(tinytuya kwargs, our kwargs) pairs worth comparing for ``command``."""
    yield {}, {}
    data: Any = [18, 19, 20] if command == tuya.UPDATEDPS else {"1": True, "2": 50, "3": "white"}
    yield {"data": data}, {"data": data}
    yield {"gwId": "g", "devId": "d", "uid": "u"}, {"gw_id": "g", "dev_id": "d", "uid": "u"}
    raw = {"cids": [CID], "ctype": 0}
    yield (
        {"rawData": raw, "reqType": "subdev_online_stat_query"},
        {"raw_data": raw, "req_type": "subdev_online_stat_query"},
    )
    yield {"rawData": raw, "data": {"1": 1}}, {"raw_data": raw, "data": {"1": 1}}


def build_both(tgt: Target, command: int, theirs: dict[str, Any], ours: dict[str, Any]) -> tuple[Any, Any]:
    dev = tgt.tinytuya_device()
    expected = dev.generate_payload(command, **theirs)
    if tgt.builder.dev_type == "device22":
        ours = {"query_dps": dict(dev.dps_to_request), **ours}
    got = tgt.builder.build(command, t=T, **ours)
    return (expected.cmd, bytes(expected.payload)), got


@pytest.mark.parametrize("command", COMMANDS, ids=[f"cmd{c:#04x}" for c in COMMANDS])
@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("version", VERSIONS)
def test_build_matches_generate_payload(version: str, topology: str, command: int) -> None:
    tgt = target(version, topology)
    for theirs, ours in variants(command):
        expected, got = build_both(tgt, command, theirs, ours)
        assert got == expected, (theirs, got[1], expected[1])


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("version", VERSIONS)
def test_bodies_encoded_once_follow_the_clock(
    version: str, topology: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bodies where only ``t`` varies are encoded once per builder; later clocks still match."""
    tgt = target(version, topology)
    for clock in (T, T + 1, 9, 12_345_678_901):
        monkeypatch.setattr(reference.XENON_MODULE, "time", SimpleNamespace(time=lambda c=clock: c + 0.5))
        dev = tgt.tinytuya_device()
        for command in COMMANDS:
            expected = dev.generate_payload(command)
            query = dict(dev.dps_to_request) if tgt.builder.dev_type == "device22" else None
            got = tgt.builder.build(command, t=clock, query_dps=query)
            assert got == (expected.cmd, bytes(expected.payload)), (command, clock)


def test_an_id_holding_the_clock_mark_is_encoded_as_it_is() -> None:
    dev_id = "\x00clock\x00"
    builder = PayloadBuilder(version_spec("3.3"), dev_id)
    for clock in (1, 22, 333):
        _, body = builder.build(tuya.DP_QUERY, t=clock)
        assert json.loads(body) == {"gwId": dev_id, "devId": dev_id, "uid": dev_id, "t": str(clock)}


@pytest.mark.parametrize("version", VERSIONS)
def test_device22_query_names_the_dps(version: str) -> None:
    tgt = target(version, "device22")
    cmd, payload = tgt.builder.build(tuya.DP_QUERY, t=T, query_dps={"1": None, "2": None, "101": None})
    assert cmd == tuya.CONTROL_NEW
    assert json.loads(payload)["dps"] == {"1": None, "2": None, "101": None}
    assert build_both(tgt, tuya.DP_QUERY, {}, {})[0] == (cmd, payload)


def test_updatedps_carries_the_dp_list() -> None:
    builder = PayloadBuilder(version_spec("3.3"), DEV_ID)
    assert builder.build(tuya.UPDATEDPS, t=T) == (tuya.UPDATEDPS, b'{"dpId":[18,19,20]}')
    assert builder.build(tuya.UPDATEDPS, t=T, data=[4, 5, 6]) == (tuya.UPDATEDPS, b'{"dpId":[4,5,6]}')


@pytest.mark.parametrize("version", ["3.4", "3.5"])
def test_lan_ext_stream_raw_data_and_req_type(version: str) -> None:
    child = target(version, "child")
    expected, got = build_both(
        child,
        tuya.LAN_EXT_STREAM,
        {"rawData": {"cids": [CID]}, "reqType": "x"},
        {"raw_data": {"cids": [CID]}, "req_type": "x"},
    )
    assert got == expected
    assert json.loads(got[1]) == {"reqType": "x", "data": {"cids": [CID]}, "cid": CID}


@pytest.mark.parametrize("version", VERSIONS)
def test_spaces_inside_strings_are_kept_unlike_tinytuya(version: str) -> None:
    """The one deliberate difference: tinytuya deletes every space, even inside string values."""
    tgt = target(version, "default")
    data = {"1": "warm white", "2": {"scene name": "a b c"}}
    (their_cmd, theirs), (our_cmd, ours) = build_both(tgt, tuya.CONTROL, {"data": data}, {"data": data})
    assert our_cmd == their_cmd
    assert b"warm white" in ours
    assert b"scene name" in ours
    assert b"warmwhite" in theirs
    assert ours != theirs
    assert ours.replace(b" ", b"") == theirs
    sent = json.loads(ours)
    assert (sent.get("dps") or sent["data"]["dps"]) == data


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(st.text(), _JSON_VALUES, max_size=6))
def test_encode_json_is_compact_json_dumps(body: dict[str, Any]) -> None:
    assert encode_json(body) == json.dumps(body, separators=(",", ":")).encode()


def test_json_is_compact_and_ascii() -> None:
    assert encode_json({"a": [1, 2], "b": {"c": None}}) == b'{"a":[1,2],"b":{"c":null}}'
    # Non-ASCII is escaped, as tinytuya's json.dumps does (devices expect ASCII JSON).
    assert encode_json({"name": "café ☕"}) == b'{"name":"caf\\u00e9 \\u2615"}'


def test_templates_resolve_tinytuyas_layers() -> None:
    v33 = command_templates("3.3")
    assert v33[tuya.DP_QUERY] == CommandTemplate(tuya.DP_QUERY, {"gwId": "", "devId": "", "uid": "", "t": ""})
    v34 = command_templates("3.4")
    assert v34[tuya.DP_QUERY] == CommandTemplate(tuya.DP_QUERY_NEW, {})
    assert v34[tuya.CONTROL] == CommandTemplate(tuya.CONTROL_NEW, {"protocol": 5, "t": "int", "data": {}})
    d22 = command_templates("3.3", "device22")
    assert d22[tuya.DP_QUERY] == CommandTemplate(tuya.CONTROL_NEW, {"devId": "", "uid": "", "t": ""})
    child = command_templates("3.5", child=True)
    assert child[tuya.CONTROL].body == {"protocol": 5, "t": "int", "data": {"cid": ""}}
    assert command_templates("3.3", gateway=True) == v33  # the gateway layers are placeholders today
    with pytest.raises(LocalProtocolError):
        command_templates("3.3", "no-such-type")


def test_building_never_mutates_the_templates() -> None:
    builder = PayloadBuilder(version_spec("3.4"), CHILD_ID, cid=CID, parent_id=GW_ID)
    first = builder.build(tuya.CONTROL, t=T, data={"1": True})
    second = builder.build(tuya.CONTROL, t=T)
    assert b'"dps"' in first[1]
    assert b'"dps"' not in second[1]  # tinytuya's cached template would still hold the dps here
    assert tinytuya.payload_dict["zigbee_v3.4"][tuya.CONTROL]["command"] == {
        "protocol": 5,
        "t": "int",
        "data": {"cid": ""},
    }


# -- dps.py ----------------------------------------------------------------------------------------

MERGE_CASES: list[tuple[dict[str, Any], object]] = [
    ({}, {"dps": {"1": True}}),
    ({"dps": {"1": True, "2": 5}}, {"dps": {"2": 6, "3": "x"}}),
    ({"dps": {"1": True}, "t": 1}, {"t": 2, "devId": "x"}),
    ({"dps": {"1": True}}, {"data": {"dps": {"1": False}}}),
    ({"data": {"dps": {"1": 1}, "cid": "c"}}, {"data": {"dps": {"2": 2}}}),
    ({"dps": "not a dict"}, {"dps": {"1": True}}),
    ({"dps": {"1": True}}, {"Error": "x", "Err": "904", "Payload": None}),
    ({"dps": {"1": True}}, {"Err": "901"}),
    ({"dps": {"1": True}}, None),
    ({"dps": {"1": True}}, ["not", "a", "dict"]),
    ({"dps": {"1": True}}, {"data": "text"}),
]


@pytest.mark.parametrize(("dest", "src"), MERGE_CASES)
def test_merge_results_is_tinytuyas_merge(dest: dict[str, Any], src: object) -> None:
    theirs = json.loads(json.dumps(dest))
    tinytuya.merge_dps_results(theirs, src)
    ours = json.loads(json.dumps(dest))
    assert merge_results(ours, src) is ours
    assert ours == theirs


def test_merge_results_accumulates_split_status() -> None:
    status: dict[str, Any] = {}
    merge_results(status, {"devId": "x", "dps": {"1": True}})
    merge_results(status, {"dps": {"2": 50}, "t": 7})
    merge_results(status, {"Err": "904", "dps": {"1": False}})  # error dicts are ignored
    assert status == {"devId": "x", "dps": {"1": True, "2": 50}, "t": 7}


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"dps": {"1": True}}, {"1": True}),
        ({"protocol": 4, "data": {"dps": {"2": 5}}}, {"2": 5}),
        ({"dps": {"1": True}, "data": {"dps": {"2": 5}}}, {"1": True}),
        ({"Error": "x", "Err": "904", "dps": {"1": True}}, {}),
        ({"dps": "x"}, {}),
        ({"data": "x"}, {}),
        ({"data": {"dps": None}}, {}),
        ({}, {}),
        (None, {}),
        ([{"dps": {"1": 1}}], {}),
    ],
)
def test_dps_of(result: object, expected: dict[str, Any]) -> None:
    assert dps_of(result) == expected


def test_dps_of_returns_the_replys_own_dict() -> None:
    """Both shapes alike: the caller decides whether to copy."""
    nested = {"data": {"dps": {"1": True}}}
    flat = {"dps": {"1": True}}
    assert dps_of(nested) is nested["data"]["dps"]
    assert dps_of(flat) is flat["dps"]


def test_an_empty_dps_merges_nothing() -> None:
    known = {"dps": {"1": True, "2": 5}, "t": 1}
    merge_results(known, {"dps": {}, "t": 2})
    assert known == {"dps": {"1": True, "2": 5}, "t": 2}


@pytest.mark.parametrize(
    ("before", "update", "expected"),
    [
        ({}, {"1": True}, {"1": True}),
        ({"1": True}, {"1": True}, {}),
        ({"1": True, "2": 5}, {"1": False, "2": 5}, {"1": False}),
        ({"1": None}, {"1": None, "3": None}, {"3": None}),
        ({"1": 1}, {"1": 1.0}, {}),
        ({"1": [1, 2]}, {"1": [1, 2, 3]}, {"1": [1, 2, 3]}),
        ({"1": True}, {}, {}),
    ],
)
def test_changed_dps(before: dict[str, Any], update: dict[str, Any], expected: dict[str, Any]) -> None:
    assert changed_dps(before, update) == expected


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "b"]))
_dps = st.dictionaries(st.sampled_from(["1", "2", "3"]), _scalars, max_size=3)
_replies = st.dictionaries(
    st.sampled_from(["dps", "data", "t", "devId", "cid", "Err"]),
    st.one_of(_scalars, _dps, st.fixed_dictionaries({"dps": _dps}, optional={"cid": st.just("c")})),
    max_size=4,
)


@given(dest=_replies, src=_replies)
def test_merge_results_matches_tinytuya_on_any_reply(dest: dict[str, Any], src: dict[str, Any]) -> None:
    """Same result as tinytuya's merge, except the documented case of an empty ``dps``."""
    assume(src.get("dps") != {})
    theirs = json.loads(json.dumps(dest))
    tinytuya.merge_dps_results(theirs, json.loads(json.dumps(src)))
    ours = json.loads(json.dumps(dest))
    merge_results(ours, json.loads(json.dumps(src)))
    assert ours == theirs
