"""FrameReader: delimiting 55AA (CRC32 and HMAC) and 6699 frames in a byte stream."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
import tinytuya

from tests.protocol.helpers import VECTORS, VERSIONS, FrameVector
from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.protocol import DEFAULT_MAX_PAYLOAD, Frame, FrameReader

Wrap = Callable[[bytes], bytes | bytearray | memoryview]
WRAPS: list[Wrap] = [bytes, bytearray, memoryview]
WRAP_IDS = ["bytes", "bytearray", "memoryview"]

#: One request and one reply of every frame kind: 55AA CRC32 (3.1-3.3), 55AA HMAC (3.4), 6699 (3.5).
KINDS = {
    "crc32": [v for v in VECTORS if v.version == "3.3"],
    "hmac": [v for v in VECTORS if v.version == "3.4"],
    "gcm": [v for v in VECTORS if v.version == "3.5"],
}
GARBAGE = b"\x13\x37 not a frame \xfe\xed\xfa\xce"
HEADER_55AA = struct.Struct(">4I")
HEADER_6699 = struct.Struct(">IHIII")


def expected_frame(vector: FrameVector) -> Frame:
    header = 22 if vector.prefix == tuya.PREFIX_6699 else 16  # 6699: header 18 + suffix 4
    return Frame(vector.prefix, vector.seqno, vector.cmd, len(vector.frame) - header, vector.frame)


def max_frame(max_payload: int) -> int:
    """The largest frame a reader with this cap may wait for (6699: 18-byte header + suffix)."""
    return 18 + max_payload + 4


@pytest.mark.parametrize("wrap", WRAPS, ids=WRAP_IDS)
@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_whole_frame(vector: FrameVector, wrap: Wrap) -> None:
    reader = FrameReader()
    assert reader.feed(wrap(vector.frame)) == [expected_frame(vector)]
    assert reader.buffered == 0
    assert reader.discarded == 0


@pytest.mark.parametrize("wrap", WRAPS, ids=WRAP_IDS)
@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_one_byte_at_a_time(vector: FrameVector, wrap: Wrap) -> None:
    reader = FrameReader()
    data = vector.frame
    for i in range(len(data) - 1):
        assert reader.feed(wrap(data[i : i + 1])) == []
        assert reader.buffered == i + 1
    assert reader.feed(wrap(data[-1:])) == [expected_frame(vector)]
    assert reader.buffered == 0
    assert reader.discarded == 0


@pytest.mark.parametrize("wrap", WRAPS, ids=WRAP_IDS)
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("chunk", [None, 1, 7, 64])
def test_concatenated_frames(kind: str, chunk: int | None, wrap: Wrap) -> None:
    vectors = KINDS[kind] * 3
    stream = b"".join(v.frame for v in vectors)
    reader = FrameReader()
    step = chunk or len(stream)
    frames: list[Frame] = []
    for i in range(0, len(stream), step):
        frames += reader.feed(wrap(stream[i : i + step]))
    assert frames == [expected_frame(v) for v in vectors]
    assert [f.data for f in frames] == [v.frame for v in vectors]
    assert (reader.buffered, reader.discarded) == (0, 0)


def test_mixed_prefixes_in_one_stream() -> None:
    vectors = [v for v in VECTORS if v.name == "dp_query"]
    reader = FrameReader()
    assert reader.feed(b"".join(v.frame for v in vectors)) == [expected_frame(v) for v in vectors]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_garbage_before_and_between_frames_is_skipped_and_counted(kind: str) -> None:
    first, second = KINDS[kind][:2]
    stream = GARBAGE + first.frame + GARBAGE * 2 + second.frame + GARBAGE[:5]
    reader = FrameReader()
    assert reader.feed(stream) == [expected_frame(first), expected_frame(second)]
    # The trailing garbage keeps its last 3 bytes: they could start a prefix.
    assert reader.discarded == 3 * len(GARBAGE) + 5 - 3
    assert reader.buffered == 3
    assert reader.feed(first.frame) == [expected_frame(first)]
    assert reader.discarded == 3 * len(GARBAGE) + 5
    assert reader.buffered == 0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_garbage_byte_by_byte_is_counted_exactly(kind: str) -> None:
    vector = KINDS[kind][0]
    stream = GARBAGE + vector.frame + GARBAGE + vector.frame
    reader = FrameReader()
    frames: list[Frame] = []
    for i in range(len(stream)):
        frames += reader.feed(stream[i : i + 1])
        assert reader.buffered <= len(vector.frame)
    assert frames == [expected_frame(vector)] * 2
    assert reader.discarded == 2 * len(GARBAGE)


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("split", [1, 2, 3, 4, 5, 17])
def test_partial_prefix_at_a_chunk_boundary_is_kept(kind: str, split: int) -> None:
    vector = KINDS[kind][0]
    reader = FrameReader()
    assert reader.feed(GARBAGE + vector.frame[:split]) == []
    assert reader.feed(vector.frame[split:]) == [expected_frame(vector)]
    assert reader.discarded == len(GARBAGE)


def test_prefix_look_alikes_are_garbage() -> None:
    vector = KINDS["crc32"][0]
    # Zeros and half prefixes: each could start a prefix until the next byte says otherwise.
    junk = b"\x00\x00\x00\x00U\x00\x00f\x00\x00\x00"
    reader = FrameReader()
    assert reader.feed(junk + vector.frame) == [expected_frame(vector)]
    assert reader.discarded == len(junk)


def _header(prefix: int, length: int, seqno: int = 1, cmd: int = 10) -> bytes:
    if prefix == tuya.PREFIX_6699:
        return HEADER_6699.pack(prefix, 0, seqno, cmd, length)
    return HEADER_55AA.pack(prefix, seqno, cmd, length)


@pytest.mark.parametrize("prefix", [tuya.PREFIX_55AA, tuya.PREFIX_6699], ids=["55AA", "6699"])
@pytest.mark.parametrize("length", [0xFFFFFFFF, 1 << 20, 257])
def test_oversize_length_is_refused_without_buffering(prefix: int, length: int) -> None:
    reader = FrameReader(max_payload=256)
    header = _header(prefix, length)
    assert reader.feed(header + b"\x01" * 100) == []
    # Nothing is held for the claimed length: at most a possible partial prefix remains.
    assert reader.buffered <= 3
    assert reader.discarded == len(header) + 100 - reader.buffered
    vector = KINDS["gcm" if prefix == tuya.PREFIX_6699 else "crc32"][0]
    assert reader.feed(vector.frame) == [expected_frame(vector)]


@pytest.mark.parametrize(
    ("prefix", "length"),
    [(tuya.PREFIX_55AA, 0), (tuya.PREFIX_55AA, 7), (tuya.PREFIX_6699, 0), (tuya.PREFIX_6699, 27)],
    ids=["55AA-0", "55AA-7", "6699-0", "6699-27"],
)
def test_too_small_length_is_refused(prefix: int, length: int) -> None:
    reader = FrameReader()
    header = _header(prefix, length)
    assert reader.feed(header + bytes(length) + b"\x00\x00\xaaU\x00\x00\x99f") == []
    assert reader.buffered <= 3
    vector = KINDS["hmac"][0]
    assert reader.feed(vector.frame) == [expected_frame(vector)]


@pytest.mark.parametrize("prefix", [tuya.PREFIX_55AA, tuya.PREFIX_6699], ids=["55AA", "6699"])
def test_length_at_the_cap_is_accepted(prefix: int) -> None:
    reader = FrameReader(max_payload=64)
    header = _header(prefix, 64)
    suffix = tuya.SUFFIX_6699_BIN if prefix == tuya.PREFIX_6699 else tuya.SUFFIX_55AA_BIN
    tail = 4 if prefix == tuya.PREFIX_6699 else 0
    body = b"\x01" * (64 + tail - 4) + suffix
    assert reader.feed(header + body[:-1]) == []
    assert reader.buffered == len(header) + len(body) - 1
    (frame,) = reader.feed(body[-1:])
    assert frame.data == header + body
    assert (frame.prefix, frame.seqno, frame.cmd, frame.length) == (prefix, 1, 10, 64)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_bad_suffix_is_garbage(kind: str) -> None:
    bad, good = KINDS[kind][:2]
    broken = bad.frame[:-1] + b"\x00"
    reader = FrameReader()
    assert reader.feed(broken) == []
    assert reader.feed(good.frame) == [expected_frame(good)]
    assert reader.discarded == len(broken)
    assert reader.buffered == 0


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_frame_hidden_inside_a_false_start_is_found(kind: str) -> None:
    vector = KINDS[kind][0]
    # A 55AA header claiming more than the real frame, then the real frame: the false start is
    # refused once its claimed end shows no suffix, and the scan resumes inside it.
    false_start = _header(tuya.PREFIX_55AA, len(vector.frame) + 8)
    reader = FrameReader()
    assert reader.feed(false_start + vector.frame + GARBAGE) == [expected_frame(vector)]
    assert reader.discarded == len(false_start) + len(GARBAGE) - 3


@pytest.mark.parametrize("prefix", [tuya.PREFIX_55AA, tuya.PREFIX_6699], ids=["55AA", "6699"])
def test_buffer_stays_bounded_on_hostile_streams(prefix: int) -> None:
    max_payload = 128
    reader = FrameReader(max_payload=max_payload)
    # Headers that claim the largest allowed frame and never deliver its suffix, in odd chunks.
    unit = _header(prefix, max_payload) + b"\xaa" * (max_payload + 8)
    stream = unit * 20 + GARBAGE * 50
    for i in range(0, len(stream), 13):
        assert reader.feed(stream[i : i + 13]) == []
        assert reader.buffered <= max_frame(max_payload) + 3
    assert reader.feed(b"\xaa" * (2 * max_frame(max_payload))) == []
    assert reader.buffered <= 3
    assert reader.discarded + reader.buffered == len(stream) + 2 * max_frame(max_payload)


def test_one_huge_feed_is_bounded_after_the_call() -> None:
    reader = FrameReader(max_payload=64)
    assert reader.feed(b"\x00" * 100_000) == []
    assert reader.buffered == 3
    assert reader.discarded == 100_000 - 3


def test_default_cap_is_above_tinytuyas() -> None:
    assert DEFAULT_MAX_PAYLOAD >= tuya.MAX_PAYLOAD_LENGTH
    # Frames between the two caps are delimited (tinytuya's own reader would refuse them).
    reader = FrameReader()
    length = tuya.MAX_PAYLOAD_LENGTH + 100
    data = _header(tuya.PREFIX_55AA, length) + bytes(length - 4) + tuya.SUFFIX_55AA_BIN
    assert [f.data for f in reader.feed(data)] == [data]


@pytest.mark.parametrize("version", VERSIONS)
def test_frame_header_matches_tinytuyas_parse_header(version: str) -> None:
    for vector in (v for v in VECTORS if v.version == version):
        (frame,) = FrameReader().feed(vector.frame)
        assert tuple(frame.header()) == tuple(tinytuya.parse_header(vector.frame))
