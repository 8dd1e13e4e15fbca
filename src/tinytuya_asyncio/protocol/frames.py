"""Delimit 55AA and 6699 frames in a TCP byte stream (no crypto, no I/O).

The reader is fed whatever the socket produced (any split, ``bytes``, ``bytearray`` or
``memoryview``) and returns each frame once it is whole. Bytes that cannot start a frame
are discarded and counted: a stream that lost sync finds the next prefix again. A length
field above the cap, or too small to hold the frame's tail, is refused before anything is
allocated for it, and a frame whose suffix is wrong is treated as garbage too. The buffer
therefore never holds more than one frame under the cap plus three bytes of a prefix.

See docs/PROTOCOL.md#frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import LocalProtocolError

_HEADER_55AA: Final = struct.Struct(tuya.HEADER_FMT_55AA)  # prefix, seqno, cmd, length
_HEADER_6699: Final = struct.Struct(tuya.HEADER_FMT_6699)  # prefix, reserved, seqno, cmd, length
_PREFIX_LEN: Final = 4
_SUFFIX_LEN: Final = 4
#: 55AA: the length field counts everything after it, so it must at least hold CRC32 + suffix.
_MIN_LENGTH_55AA: Final = 4 + _SUFFIX_LEN
#: 6699: the length field counts IV (12) + ciphertext + GCM tag (16); the suffix comes after.
_MIN_LENGTH_6699: Final = 12 + 16

#: Default cap on a frame's length field. tinytuya's sync reader refuses anything above
#: 1440 bytes; devices with many data points can exceed that, so we allow more while still
#: bounding what a corrupt or hostile stream can make us buffer.
DEFAULT_MAX_PAYLOAD: Final = 16 * 1024


# Read-only by convention, not frozen: one is built per frame, and a frozen dataclass
# costs three times as much to construct (0.6 against 0.2 us).
@dataclass(slots=True)
class Frame:
    """One whole frame as it was on the wire, with its clear header fields."""

    prefix: int
    seqno: int
    cmd: int
    #: The header's length field (see the module notes for what it counts per prefix).
    length: int
    data: bytes

    def header(self) -> tuya.FrameHeaderTuple:
        """The header as tinytuya's ``TuyaHeader`` fields."""
        return tuya.FrameHeaderTuple(self.prefix, self.seqno, self.cmd, self.length, len(self.data))


class FrameReader:
    """Incremental frame delimiter; see the module docstring."""

    __slots__ = ("_buffer", "_max_payload", "discarded")

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self._buffer = bytearray()
        self._max_payload = max_payload
        #: Bytes thrown away while looking for a frame since this reader was created.
        self.discarded = 0

    @property
    def buffered(self) -> int:
        """Bytes held for a frame that is not whole yet."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        """Add ``data`` and return every frame it completes, in order."""
        buf = self._buffer
        buf += data
        frames: list[Frame] = []
        pos = 0
        end = len(buf)
        while end - pos >= _PREFIX_LEN:
            head = buf[pos : pos + _PREFIX_LEN]
            if head == tuya.PREFIX_55AA_BIN:
                header, min_length, tail = _HEADER_55AA, _MIN_LENGTH_55AA, 0
                suffix = tuya.SUFFIX_55AA_BIN
            elif head == tuya.PREFIX_6699_BIN:
                header, min_length, tail = _HEADER_6699, _MIN_LENGTH_6699, _SUFFIX_LEN
                suffix = tuya.SUFFIX_6699_BIN
            else:
                pos = self._skip_to_prefix(buf, pos, end)
                continue
            if end - pos < header.size:
                break
            fields = header.unpack_from(buf, pos)
            seqno, cmd, length = fields[-3], fields[-2], fields[-1]
            if not min_length <= length <= self._max_payload:
                self._discard(1)  # not a real frame start: resync after this prefix byte
                pos += 1
                continue
            total = header.size + length + tail
            if end - pos < total:
                break
            if buf[pos + total - _SUFFIX_LEN : pos + total] != suffix:
                self._discard(1)
                pos += 1
                continue
            frames.append(Frame(fields[0], seqno, cmd, length, bytes(buf[pos : pos + total])))
            pos += total
        if pos:
            del buf[:pos]
        return frames

    def _skip_to_prefix(self, buf: bytearray, pos: int, end: int) -> int:
        """Discard up to the next possible prefix; keep a partial prefix at the end."""
        found = [
            i for i in (buf.find(tuya.PREFIX_55AA_BIN, pos), buf.find(tuya.PREFIX_6699_BIN, pos)) if i >= 0
        ]
        new_pos = min(found) if found else end - (_PREFIX_LEN - 1)
        self._discard(new_pos - pos)
        return new_pos

    def _discard(self, count: int) -> None:
        self.discarded += count


def command_of_frame(frame: bytes) -> int:
    """The command of one whole encoded frame (what a raw request waits an answer to).

    Raises :class:`LocalProtocolError` unless ``frame`` is exactly one frame.
    """
    reader = FrameReader(max(DEFAULT_MAX_PAYLOAD, len(frame)))
    frames = reader.feed(frame)
    if len(frames) != 1 or reader.discarded or reader.buffered:
        raise LocalProtocolError("a raw request must be exactly one encoded 55AA or 6699 frame")
    return frames[0].cmd
