"""What the fuzzers feed: hostile JSON bodies in frames sealed under the right key, mutated, split.

Random bytes almost never pass a CRC, an HMAC or a GCM tag, so most inputs here are frames
the peer could really send, under the key in use, around bodies built to hurt the layers
above the codec: nesting thousands deep, numbers past every limit, invalid UTF-8, JSON that
is not an object, ``dps``, ``cid`` and ``data`` of every wrong type. Then the stream is
mutated (bit flips, truncations, splices, resealed edits, lying lengths) and split into
reads at random points.

Every decision is drawn from a :class:`Choices`: seeded ``random`` in the driver, hypothesis
in the tests (which then shrinks a failure to a small input: the first entry of every table
below is the simplest, since hypothesis shrinks a choice towards 0).
"""

from __future__ import annotations

import binascii
import itertools
import random
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final, Protocol, TypeVar

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import (
    Codec,
    HandshakeRequested,
    HandshakeResponded,
    Role,
    Session,
    VersionSpec,
    derive_session_key,
    version_spec,
)
from tinytuya_asyncio.protocol.crypto import KeyedCipher

#: Test keys and nonces (never a real device's). Fixed nonces make the session key fixed, so
#: frames under it can be built before a connection exists.
KEY: Final = b"0123456789abcdef"
CLIENT_NONCE: Final = bytes(range(16))
DEVICE_NONCE: Final = bytes(range(100, 116))
DEV_ID: Final = "bf0fuzz0device00id00"
CHILD_ID: Final = "bf0fuzz0child000id00"
CHILD_CID: Final = "a4c1fuzzchild"

#: The largest body put in one frame: under the reader's 16 KiB cap once encrypted, padded,
#: given a version header (and, on 3.1, base64-encoded and signed).
MAX_BODY: Final = 11_000

T = TypeVar("T")


class Choices(Protocol):
    """Where every decision comes from."""

    def below(self, n: int) -> int:
        """An integer in ``range(n)`` (``n`` > 0)."""
        ...

    def blob(self, size: int) -> bytes:
        """``size`` arbitrary bytes."""
        ...


class RandomChoices:
    """Choices from a seeded ``random.Random``: the same seed, the same inputs."""

    __slots__ = ("_randbytes", "_random")

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        self._random = rng.random
        self._randbytes = rng.randbytes

    def below(self, n: int) -> int:
        return int(self._random() * n)  # 3x cheaper than randrange, uniform enough here

    def blob(self, size: int) -> bytes:
        return self._randbytes(size)


def pick(c: Choices, options: Sequence[T]) -> T:
    return options[c.below(len(options))]


def one_in(c: Choices, n: int) -> bool:
    """True once in ``n`` (shrinks to False)."""
    return c.below(n) == n - 1


# -- hostile JSON ------------------------------------------------------------------------------

#: Nesting depths: shallow, around the interpreter's recursion limit (1000), and far past it.
DEPTHS: Final = (1, 2, 20, 200, 900, 950, 970, 980, 990, 1000, 1100, 2000, 5000)
#: One level of nesting, as (opener, innermost value, closer).
_NESTERS: Final = (
    (b"[", b"", b"]"),
    (b'{"a":', b"1", b"}"),
    (b'{"dps":', b"{}", b"}"),
    (b'{"data":', b'{"dps":{"1":true}}', b"}"),
    (b'[{"cid":', b'"x"', b"}]"),
)
_NUMBERS: Final = (
    b"0",
    b"-0",
    b"1",
    b"-1",
    b"1.5",
    b"1e308",
    b"1e999",
    b"-1e999",
    b"NaN",
    b"Infinity",
    b"-Infinity",
    b"18446744073709551616",
    b"9" * 4300,  # the most digits int() converts (sys.get_int_max_str_digits)
    b"9" * 4301,
    b"-" + b"9" * 6000,
    b"1" + b"0" * 5000 + b".5",
    b"0." + b"0" * 5000 + b"1",
    b"1e" + b"9" * 400,
)
_STRINGS: Final = (
    b'"x"',
    b'""',
    b'"1"',
    b'"\\ud800"',  # a lone surrogate: valid JSON, not encodable as UTF-8
    b'"\\udfff\\ud800"',
    b'"\\u0000"',
    b'"a\\"b"',
    b'"data unvalid"',
    b'"json obj data unvalid"',
    b'"' + CHILD_CID.encode() + b'"',
    b'"\xff"',  # invalid UTF-8, from here on
    b'"\xc0\x80"',
    b'"\xed\xa0\x80"',
    b'"\xe2\x82"',
    b'"\x00"',
    b'"unterminated',
    b"'single'",
)
_LITERALS: Final = (b"true", b"false", b"null", b"tru", b"nul", b"01", b"+1", b"0x10", b"undefined", b"")
_FIELDS: Final = (
    b"dps",
    b"data",
    b"cid",
    b"t",
    b"devId",
    b"gwId",
    b"protocol",
    b"dpId",
    b"reqType",
    b"online",
    b"Err",
    b"Error",
    b"Payload",
    b"device",
    b"invalid_json",
    b"uid",
    b"",
)
_DP_KEYS: Final = (
    b'"1"',
    b'"2"',
    b'"101"',
    b'"0"',
    b'"-1"',
    b'""',
    b'"\\ud800"',
    b'"dps"',
    b'"' + b"9" * 50 + b'"',
)
_CIDS: Final = (
    b'"' + CHILD_CID.encode() + b'"',
    b'"other"',
    b'""',
    b"1",
    b"[]",
    b"{}",
    b"null",
    b"true",
    b'"' + CHILD_CID.encode() + b'\\u0000"',
    b'"' + b"c" * 300 + b'"',
    b'["' + CHILD_CID.encode() + b'"]',
    b'{"cid":"' + CHILD_CID.encode() + b'"}',
)
#: Bodies a well-behaved device or client sends, so that many inputs also get through.
VALID_BODIES: Final = (
    b'{"dps":{"1":true}}',
    b'{"devId":"' + DEV_ID.encode() + b'","dps":{"1":false,"2":10},"t":1700000000}',
    b'{"protocol":4,"t":1700000000,"data":{"dps":{"1":true}}}',
    b'{"protocol":4,"t":1,"data":{"dps":{"1":true},"cid":"' + CHILD_CID.encode() + b'"}}',
    b'{"dps":{"1":true},"cid":"' + CHILD_CID.encode() + b'"}',
    b'{"reqType":"subdev_online_stat_query","data":{"online":["' + CHILD_CID.encode() + b'"],"offline":[]}}',
    b'{"dpId":[1,2]}',
    b'{"dps":{"1":null,"2":null}}',  # a device22 query
    b"data unvalid",
)
_INVALID_UTF8: Final = (b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x82", b"\xef\xbb\xbf", b"\x00")


def nested(c: Choices, budget: int) -> bytes:
    """A value nested ``depth`` levels deep (sometimes left unclosed)."""
    opener, inner, closer = pick(c, _NESTERS)
    depth = pick(c, DEPTHS) if c.below(4) else 900 + c.below(200)
    depth = max(1, min(depth, (budget - len(inner)) // (len(opener) + len(closer))))
    closing = closer * (depth if c.below(8) else c.below(depth + 1))
    return opener * depth + inner + closing


def scalar(c: Choices) -> bytes:
    kind = c.below(3)
    if kind == 0:
        return pick(c, _NUMBERS)
    if kind == 1:
        return pick(c, _STRINGS)
    return pick(c, _LITERALS)


def value(c: Choices, budget: int, depth: int = 0) -> bytes:
    """Any JSON value (or something close to one), at most about ``budget`` bytes."""
    kind = c.below(6) if depth < 2 else 0
    if kind <= 1:
        return scalar(c)
    if kind == 2:
        return nested(c, budget)
    if kind == 3:
        return b"[" + b",".join(value(c, budget // 4, depth + 1) for _ in range(c.below(4))) + b"]"
    if kind == 4:
        return dps_value(c, budget // 2, depth + 1)
    return obj(c, budget // 2, depth + 1)


def dps_value(c: Choices, budget: int, depth: int = 0) -> bytes:
    """A ``dps``: an object of data points with hostile values, or a value of the wrong type."""
    if one_in(c, 3):
        return value(c, budget, depth + 1)
    if one_in(c, 8):  # hundreds of data points (scalars: the count is what this tests)
        many = (b'"%d":%s' % (c.below(1000), scalar(c)) for _ in range(50 + c.below(400)))
        return b"{" + b",".join(many) + b"}"
    items = []
    for _ in range(c.below(4)):
        key = pick(c, _DP_KEYS) if c.below(4) else b'"%d"' % c.below(1000)
        items.append(key + b":" + (value(c, budget // 4, depth + 1) if c.below(3) else scalar(c)))
    return b"{" + b",".join(items) + b"}"


def obj(c: Choices, budget: int, depth: int = 0) -> bytes:
    """An object of tinytuya's field names (duplicates allowed) with hostile values."""
    items = []
    for _ in range(1 + c.below(4)):
        name = pick(c, _FIELDS)
        if name == b"dps":
            item = dps_value(c, budget, depth)
        elif name == b"cid":
            item = pick(c, _CIDS) if c.below(4) else value(c, budget, depth + 1)
        elif name == b"data" and depth < 3:
            item = obj(c, budget // 2, depth + 1) if c.below(3) else value(c, budget, depth + 1)
        else:
            item = value(c, budget, depth + 1)
        items.append(b'"' + name + b'":' + item)
    return b"{" + b",".join(items) + b"}"


def hostile_body(c: Choices, budget: int = MAX_BODY) -> bytes:
    """One frame body: mostly objects of hostile fields, some well-formed, some not JSON at all."""
    kind = c.below(10)
    if kind == 0:
        body = pick(c, VALID_BODIES)
    elif kind == 1:
        body = value(c, budget)  # JSON that is not an object, or no JSON at all
    elif kind == 2:
        body = nested(c, budget)
    elif kind == 3:
        body = c.blob(c.below(64))
    else:
        body = obj(c, budget)
    if one_in(c, 4):
        body = mutate_bytes(c, body)
    return body[:budget]


class BodyPool:
    """Hostile bodies drawn once and reused, each time with a chance of a fresh edit.

    Building a body costs more than decoding it through the whole client path; the driver
    draws from a pool (one entry replaced every few inputs, so it keeps changing) to spend
    its time on the code under test. The tests draw every body afresh, which hypothesis shrinks.
    """

    __slots__ = ("_bodies", "_uses")

    def __init__(self, c: Choices, size: int = 2048) -> None:
        self._bodies = [hostile_body(c) for _ in range(size)]
        self._uses = 0

    def __call__(self, c: Choices) -> bytes:
        self._uses += 1
        if self._uses % 4 == 0:
            self._bodies[c.below(len(self._bodies))] = hostile_body(c)
        body = pick(c, self._bodies)
        return mutate_bytes(c, body) if one_in(c, 4) else body


def mutate_bytes(c: Choices, data: bytes) -> bytes:
    """One byte-level edit of a body: invalid UTF-8 in, a byte flipped, cut short or doubled."""
    out = bytearray(data)
    at = c.below(len(out) + 1)
    kind = c.below(4)
    if kind == 0:
        out[at:at] = pick(c, _INVALID_UTF8)
    elif kind == 1 and out:
        out[min(at, len(out) - 1)] ^= 1 << c.below(8)
    elif kind == 2:
        del out[at:]
    else:
        out[at:at] = out[:at]
    return bytes(out)


# -- frames ------------------------------------------------------------------------------------

_55AA: Final = struct.Struct(tuya.HEADER_FMT_55AA)
_6699: Final = struct.Struct(tuya.HEADER_FMT_6699)
_RETCODE: Final = struct.Struct(">I")
_CRC_TAIL: Final = struct.Struct(">II")
_SUFFIX_55AA: Final = struct.unpack(">I", tuya.SUFFIX_55AA_BIN)[0]
#: Length fields that sit on the reader's and codec's boundaries.
_LYING_LENGTHS: Final = (0, 1, 7, 8, 27, 28, 35, 36, 16 * 1024, 16 * 1024 + 1, 2**31, 2**32 - 1)
HANDSHAKE_CMDS: Final = (tuya.SESS_KEY_NEG_START, tuya.SESS_KEY_NEG_RESP, tuya.SESS_KEY_NEG_FINISH)
#: Commands either end may meet on the wire.
WIRE_CMDS: Final = (
    tuya.STATUS,
    tuya.CONTROL,
    tuya.CONTROL_NEW,
    tuya.DP_QUERY,
    tuya.DP_QUERY_NEW,
    tuya.HEART_BEAT,
    tuya.UPDATEDPS,
    tuya.LAN_EXT_STREAM,
    tuya.AP_CONFIG,
    *HANDSHAKE_CMDS,
)


@dataclass(frozen=True, slots=True)
class Variant:
    """A protocol version as a fuzz target knows it: 3.3 also comes as device22 firmware."""

    version: str
    device22: bool = False

    @property
    def name(self) -> str:
        return f"{self.version}-device22" if self.device22 else self.version

    @property
    def spec(self) -> VersionSpec:
        return version_spec(self.version)


VARIANTS: Final = (
    Variant("3.1"),
    Variant("3.2"),
    Variant("3.3"),
    Variant("3.3", device22=True),
    Variant("3.4"),
    Variant("3.5"),
)


def variant(name: str) -> Variant:
    for known in VARIANTS:
        if known.name == name:
            return known
    raise ValueError(f"unknown variant {name!r}; have {[v.name for v in VARIANTS]}")


def session_key(spec: VersionSpec) -> bytes | None:
    """The session key a handshake with the fixed nonces negotiates (``None`` before 3.4)."""
    return derive_session_key(spec, KEY, CLIENT_NONCE, DEVICE_NONCE) if spec.needs_session_key else None


@dataclass(frozen=True, slots=True)
class Handshake:
    """The three handshake frames with the fixed nonces (3.4/3.5)."""

    start: bytes
    resp: bytes
    finish: bytes


def handshake_frames(spec: VersionSpec) -> Handshake:
    client = Session(Role.CLIENT, spec, KEY)
    device = Session(Role.DEVICE, spec, KEY)
    ivs = iter(range(1, 4))
    gcm = spec.number >= 3.5

    def iv() -> bytes | None:
        return next(ivs).to_bytes(12, "big") if gcm else None

    start = client.start_handshake(CLIENT_NONCE, iv=iv())
    device.receive_data(start)
    (request,) = device.events()
    assert isinstance(request, HandshakeRequested)
    resp = device.answer_handshake(DEVICE_NONCE, seqno=request.seqno, iv=iv())
    client.receive_data(resp)
    assert list(client.events()) == [HandshakeResponded()]
    return Handshake(start, resp, client.finish_handshake(iv=iv()))


class Sealer:
    """Frames one end sends, under the key a connection in a given state uses."""

    __slots__ = ("_cipher", "_codec", "_device", "sender", "spec")

    def __init__(self, spec: VersionSpec, sender: Role, *, session: bool) -> None:
        self.spec = spec
        self.sender = sender
        self._device = sender is Role.DEVICE
        self._codec = Codec(spec, KEY, sender)
        key = session_key(spec) if session else None
        if key is not None:
            self._codec.use_session_key(key)
        self._cipher = KeyedCipher(key or KEY)

    def sealed(self, cmd: int, body: bytes, seqno: int, retcode: int, iv: bytes) -> bytes:
        """A frame the sender's firmware or client would write (encrypted, checked)."""
        code = retcode if self._device else None
        return self._codec.encode(cmd, body, seqno, retcode=code, iv=iv if self.spec.number >= 3.5 else None)

    def raw(
        self,
        cmd: int,
        body: bytes,
        seqno: int,
        retcode: int | None,
        iv: bytes,
        *,
        length: int | None = None,
    ) -> bytes:
        """A frame whose CRC, HMAC or tag is right around a body that was never encrypted;
        with ``length``, one whose length field lies (and whose check covers the lie); with
        ``retcode=None``, a device frame without its return code."""
        if self._device and retcode is not None:
            body = _RETCODE.pack(retcode) + body
        spec = self.spec
        if spec.number >= 3.5:
            size = len(iv) + len(body) + 16 if length is None else length
            header = _6699.pack(tuya.PREFIX_6699, 0, seqno, cmd, size)
            return header + iv + self._cipher.gcm_encrypt(iv, body, header[4:]) + tuya.SUFFIX_6699_BIN
        if spec.number >= 3.4:
            size = len(body) + 36 if length is None else length
            head = _55AA.pack(tuya.PREFIX_55AA, seqno, cmd, size) + body
            return head + self._cipher.hmac_sha256(head) + tuya.SUFFIX_55AA_BIN
        size = len(body) + 8 if length is None else length
        head = _55AA.pack(tuya.PREFIX_55AA, seqno, cmd, size) + body
        return head + _CRC_TAIL.pack(binascii.crc32(head), _SUFFIX_55AA)

    def reseal(self, frame: bytes) -> bytes:
        """``frame`` (55AA) with its CRC or HMAC recomputed over whatever it now holds."""
        if self.spec.number >= 3.5 or len(frame) < 24:
            return frame
        if self.spec.number >= 3.4:
            head = frame[:-36]
            return head + self._cipher.hmac_sha256(head) + tuya.SUFFIX_55AA_BIN
        head = frame[:-8]
        return head + _CRC_TAIL.pack(binascii.crc32(head), _SUFFIX_55AA)


@cache
def _foreign(spec: VersionSpec, sender: Role) -> Sealer:
    """Frames of the other prefix (6699 on a 55AA connection, and 55AA on a 6699 one)."""
    return Sealer(version_spec("3.3" if spec.number >= 3.5 else "3.5"), sender, session=False)


@dataclass(slots=True)
class Stream:
    """One input: the reads a connection gets, and how many frames went into them."""

    reads: list[bytes]
    frames: int


Bodies = Callable[[Choices], bytes]


def hostile_stream(
    c: Choices,
    sealer: Sealer,
    commands: Sequence[int],
    extra: Sequence[bytes] = (),
    bodies: Bodies = hostile_body,
) -> Stream:
    """A few frames (``commands`` first: what the receiver is waiting for), mutated, split.

    ``extra`` are whole frames that may be spliced in as they are (handshake frames).
    """
    pieces = [_frame(c, sealer, commands, extra, bodies) for _ in range(1 + c.below(4))]
    data = b"".join(pieces)
    for _ in range(c.below(4) if one_in(c, 2) else 0):
        data = _mutate_stream(c, sealer, data, pieces)
    return Stream(split(c, data), len(pieces))


def _frame(
    c: Choices, sealer: Sealer, commands: Sequence[int], extra: Sequence[bytes], bodies: Bodies
) -> bytes:
    kind = c.below(16)
    if kind == 15:
        return c.blob(c.below(64))  # noise between frames
    if kind == 14 and extra:
        return pick(c, extra)
    cmd = pick(c, commands) if c.below(8) else (pick(c, WIRE_CMDS) if c.below(4) else c.below(2**32))
    seqno = pick(c, (1, 0, 2**32 - 1)) if c.below(4) else c.below(2**32)
    retcode = 0 if c.below(4) else pick(c, (1, 2**32 - 1, c.below(2**32)))
    iv = c.blob(12)
    if kind == 13:
        return sealer.sealed(cmd, b"", seqno, retcode, iv)  # an ack
    if kind == 10:  # a frame of the other prefix family, or too short for its return code
        other = _foreign(sealer.spec, sealer.sender)
        return other.raw(cmd, c.blob(c.below(6)), seqno, None if c.below(2) else retcode, iv)
    body = bodies(c)
    if kind == 12:
        return sealer.raw(cmd, body, seqno, retcode if c.below(8) else None, iv)
    if kind == 11:
        return sealer.raw(cmd, body, seqno, retcode, iv, length=pick(c, _LYING_LENGTHS))
    return sealer.sealed(cmd, body, seqno, retcode, iv)


def _mutate_stream(c: Choices, sealer: Sealer, data: bytes, pieces: Sequence[bytes]) -> bytes:
    out = bytearray(data)
    size = len(out)
    i, j = sorted((c.below(size + 1), c.below(size + 1)))
    kind = c.below(7)
    if kind == 0 and size:
        out[min(i, size - 1)] ^= 1 << c.below(8)
    elif kind == 1:
        del out[i:]
    elif kind == 2:
        del out[i:j]
    elif kind == 3:
        out[j:j] = out[i:j]
    elif kind == 4:
        out[i:i] = c.blob(1 + c.below(16))
    elif kind == 5:
        other = pick(c, pieces)
        out[i:] = other[c.below(len(other) + 1) :]
    elif len(pieces) == 1 and size:
        # An edit the checksum covers: the CRC or HMAC is recomputed after the flip.
        out[min(i, size - 1)] ^= 1 << c.below(8)
        return sealer.reseal(bytes(out))
    return bytes(out)


def split(c: Choices, data: bytes) -> list[bytes]:
    """``data`` as the reads a socket could deliver it in."""
    kind = c.below(4)
    if kind == 0 or not data:
        return [data] if data else []
    if kind == 1 and len(data) <= 256:
        return [data[i : i + 1] for i in range(len(data))]
    cuts = sorted(c.below(len(data) + 1) for _ in range(1 + c.below(6)))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]
