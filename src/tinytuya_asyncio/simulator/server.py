"""The listener of one simulated device and the policy for its client connections."""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import Final

from tinytuya_asyncio.simulator import firmware
from tinytuya_asyncio.simulator.faults import Faults
from tinytuya_asyncio.simulator.service import DeviceConnection
from tinytuya_asyncio.simulator.state import DeviceState
from tinytuya_asyncio.simulator.stats import DeviceStats

#: Listen backlog: fleets are hit by bursts of concurrent connects in benchmarks.
_BACKLOG: Final = 128


class ConnectionPolicy(enum.Enum):
    """What a device does when a client connects while another is connected."""

    #: The new client replaces the old one, whose socket is closed (most firmware).
    REPLACE = "replace"
    #: The new client is closed at once; the first keeps the device.
    REFUSE = "refuse"
    #: Every client is served and every push goes to all of them.
    MULTIPLE = "multiple"


class DeviceServer:
    """Owns a device's listening socket and its connections; implements ``ConnectionHost``."""

    def __init__(
        self,
        state: DeviceState,
        stats: DeviceStats,
        *,
        faults: Callable[[], Faults],
        clock: Callable[[], float],
        policy: ConnectionPolicy,
        push_on_control: bool,
    ) -> None:
        self._state = state
        self._stats = stats
        self._faults = faults
        self._clock = clock
        self.policy = policy
        self._push_on_control = push_on_control
        self._server: asyncio.Server | None = None
        self._connections: set[DeviceConnection] = set()
        self._ready: set[DeviceConnection] = set()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._request_waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        #: The address listened on, once started.
        self.host: str | None = None
        #: The TCP port listened on, once started.
        self.port: int | None = None

    # -- ConnectionHost --------------------------------------------------------------------

    @property
    def state(self) -> DeviceState:
        return self._state

    @property
    def faults(self) -> Faults:
        return self._faults()

    @property
    def stats(self) -> DeviceStats:
        return self._stats

    @property
    def push_on_control(self) -> bool:
        return self._push_on_control

    @push_on_control.setter
    def push_on_control(self, value: bool) -> None:
        self._push_on_control = value

    def now(self) -> int:
        return int(self._clock())

    def accept(self, conn: DeviceConnection) -> bool:
        self._stats.connections += 1
        live = [c for c in self._connections if not c.closing]
        if self.faults.refuse_connections or (live and self.policy is ConnectionPolicy.REFUSE):
            self._stats.refused += 1
            return False
        if self.policy is ConnectionPolicy.REPLACE:
            for old in live:
                self._stats.replaced += 1
                old.close()
        self._connections.add(conn)
        return True

    def ready(self, conn: DeviceConnection) -> None:
        if conn in self._connections and conn.ready:
            self._ready.add(conn)
            self._notify()

    def lost(self, conn: DeviceConnection) -> None:
        if conn.closed.done():
            self._connections.discard(conn)
        if conn in self._ready:
            self._ready.discard(conn)
            self._notify()

    def request_received(self, cmd: int) -> None:
        count = self._stats.requests[cmd]
        for wanted_cmd, wanted, fut in self._request_waiters:
            if wanted_cmd == cmd and count >= wanted and not fut.done():
                fut.set_result(None)

    def broadcast(self, out: firmware.Outgoing) -> int:
        reached = 0
        for conn in list(self._ready):
            if conn.push(out):
                reached += 1
        self._stats.pushes += reached
        return reached

    # -- clients ---------------------------------------------------------------------------

    @property
    def connected_clients(self) -> int:
        """Connections whose session is ready for application frames."""
        return len(self._ready)

    def _notify(self) -> None:
        count = len(self._ready)
        for n, fut in self._waiters:
            if n == count and not fut.done():
                fut.set_result(None)

    async def wait_for_clients(self, n: int, *, timeout: float = 5.0) -> None:
        """Wait until exactly ``n`` clients are connected and ready (TimeoutError after ``timeout``)."""
        if len(self._ready) == n:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (n, fut)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await fut
        finally:
            self._waiters.remove(entry)

    async def wait_for_requests(self, cmd: int, n: int, *, timeout: float = 5.0) -> None:
        """Wait until ``n`` requests ``cmd`` have been received in all (TimeoutError after ``timeout``)."""
        if self._stats.requests[cmd] >= n:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (cmd, n, fut)
        self._request_waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await fut
        finally:
            self._request_waiters.remove(entry)

    def drop_clients(self) -> int:
        """Close every client connection now, still listening; returns how many were open."""
        live = [conn for conn in self._connections if not conn.closing]
        for conn in live:
            conn.abort()
        return len(live)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def serving(self) -> bool:
        return self._server is not None

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (0 picks a free port); :attr:`port` tells which."""
        if self._server is not None:
            raise RuntimeError("device is already listening")
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: DeviceConnection(self), host, port, backlog=_BACKLOG, reuse_address=True
        )
        self._server = server
        self.host = host
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and close every connection at once; idempotent."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        connections = list(self._connections)
        for conn in connections:
            conn.abort()
        if connections:
            await asyncio.gather(*(conn.closed for conn in connections))
        self._connections.clear()
        self._ready.clear()
        self._notify()
        if server is not None:
            await server.wait_closed()
