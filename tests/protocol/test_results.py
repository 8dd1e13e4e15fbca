"""decode_result shapes a decrypted body as tinytuya's ``_decode_payload`` does."""

from __future__ import annotations

import pytest

from tests.protocol import reference
from tests.protocol.helpers import KEY
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import version_spec
from tinytuya_asyncio.protocol.codec import Message
from tinytuya_asyncio.protocol.results import decode_result

BODIES = [
    b'{"devId":"d","dps":{"1":true,"2":50}}',
    b'{"protocol":5,"t":1,"data":{"dps":{"1":false}}}',
    b'  {"dps":{"1":true}}',  # whitespace around the JSON
    b'{"dps":{"1":true}}\r\n',
    b'{"dps":{"1":true}}{"dps":{"2":1}}',  # extra data after the object
    b'{"dps":{"1":tru',  # cut short
    b'{"dps":{"1":"caf\xe9"}}',  # not UTF-8 inside a string
]


@pytest.mark.parametrize("body", BODIES)
def test_results_match_tinytuya(body: bytes) -> None:
    # 3.5 bodies reach _decode_payload already decrypted, so both sides see the same bytes.
    device = reference.make_device("3.5", KEY, "eb0123456789abcdefgh")
    expected = device._decode_payload(body)
    got = decode_result(Message(tuya.DP_QUERY, 1, 0, body), version_spec("3.5"))
    assert got == expected


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
def test_json_nested_too_deep_is_bad_json_not_a_crash(depth: int) -> None:
    body = b'{"dps":{"1":' + b"[" * depth + b"]" * depth + b"}}"
    got = decode_result(Message(tuya.STATUS, 0, 0, body), version_spec("3.3"))
    assert got["Err"] == str(tuya.ERR_JSON)


def test_json_nesting_within_the_limit_and_brackets_in_strings_are_fine() -> None:
    depth = 60  # with the two levels around it: 62 of the 64 allowed
    nested = b'{"dps":{"1":' + b"[" * depth + b"]" * depth + b',"2":"[[[[{{{{' + b"[" * 100 + b'\\""}}'
    got = decode_result(Message(tuya.STATUS, 0, 0, nested), version_spec("3.3"))
    assert "Err" not in got
    assert got["dps"]["2"].endswith('["')
