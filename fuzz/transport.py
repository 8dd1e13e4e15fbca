"""A transport that only records: what a protocol wrote, and whether it closed."""

from __future__ import annotations

import asyncio


class RecordingTransport(asyncio.Transport):
    """Stands in for any event loop's stream transport (the protocols assume no class)."""

    def __init__(self) -> None:
        super().__init__()
        #: Bytes written (counted, not kept: a fuzz run writes millions of frames).
        self.written = 0
        self.writes = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)
        self.writes += 1

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None
