"""The public face of one simulated device: state, faults and a listener, started and stopped."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Final

from tinytuya_asyncio.simulator import firmware
from tinytuya_asyncio.simulator.faults import Faults
from tinytuya_asyncio.simulator.server import ConnectionPolicy, DeviceServer
from tinytuya_asyncio.simulator.state import DeviceState
from tinytuya_asyncio.simulator.stats import RECEIVED_LOG, DeviceStats

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PRODUCT_KEY: Final = "keysimulated0000"


class SimulatedDevice:
    """A fake Tuya device on a TCP port, speaking protocol 3.1 to 3.5 as firmware does.

    ``await start(host, port)`` listens (port 0 picks a free one; :attr:`port` tells which);
    ``await stop()`` closes the listener and every connection; calling ``start()`` again
    with no arguments restarts on the same address with fresh connections and session keys.
    The live state is :attr:`dps`; clients change it with CONTROL, the test with
    :meth:`push`. ``faults`` may be changed at any time; it takes effect at once.
    ``fixed_nonce`` (16 bytes) is for benchmarks only: every 3.4/3.5 handshake is answered
    with it instead of a random nonce, which makes session keys predictable.
    ``record_writes`` keeps every control carried out in ``state.writes``; ``request_log`` is
    how many recent requests ``stats.received`` keeps (0 for long runs that need none).
    """

    def __init__(
        self,
        dev_id: str,
        local_key: str | bytes,
        *,
        version: float | str = 3.3,
        dps: Mapping[str, Any] | None = None,
        device22: bool = False,
        product_key: str = DEFAULT_PRODUCT_KEY,
        name: str | None = None,
        push_on_control: bool = True,
        policy: ConnectionPolicy = ConnectionPolicy.REPLACE,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        children: Mapping[str, Mapping[str, Any]] | None = None,
        fixed_nonce: bytes | None = None,
        record_writes: bool = False,
        request_log: int = RECEIVED_LOG,
    ) -> None:
        self.state = DeviceState.create(
            dev_id,
            local_key,
            version=version,
            dps=dps,
            device22=device22,
            product_key=product_key,
            name=name if name is not None else f"simulated {dev_id}",
            children=children,
            fixed_nonce=fixed_nonce,
        )
        if record_writes:
            self.state.writes = []
        self.faults = faults if faults is not None else Faults()
        self.stats = DeviceStats(received=deque(maxlen=request_log), received_at=deque(maxlen=request_log))
        self._server = DeviceServer(
            self.state,
            self.stats,
            faults=lambda: self.faults,
            clock=clock,
            policy=policy,
            push_on_control=push_on_control,
        )

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.is_serving else "stopped"
        return (
            f"<{type(self).__name__} {self.dev_id} v{self.version} {where} clients={self.connected_clients}>"
        )

    # -- identity and state ----------------------------------------------------------------

    @property
    def dev_id(self) -> str:
        """The device id."""
        return self.state.dev_id

    @property
    def local_key(self) -> str:
        """The local key as tinytuya takes it (a str). Never log it."""
        return self.state.local_key.decode("latin1")

    @property
    def version(self) -> str:
        """The protocol version as text (``"3.4"``)."""
        return self.state.version

    @property
    def device22(self) -> bool:
        """True when it behaves as device22 firmware (status queries must name their DPs)."""
        return self.state.device22

    @property
    def product_key(self) -> str:
        """The ``productKey`` it announces."""
        return self.state.product_key

    @property
    def name(self) -> str:
        """Its name in a devices file."""
        return self.state.name

    @property
    def dps(self) -> dict[str, Any]:
        """The live data points (the same dict the firmware changes)."""
        return self.state.dps

    @property
    def policy(self) -> ConnectionPolicy:
        """What it does with a second client (see :class:`ConnectionPolicy`); settable."""
        return self._server.policy

    @policy.setter
    def policy(self, value: ConnectionPolicy) -> None:
        self._server.policy = value

    @property
    def push_on_control(self) -> bool:
        """Push a STATUS with the changed DPs after each control, as firmware does; settable."""
        return self._server.push_on_control

    @push_on_control.setter
    def push_on_control(self, value: bool) -> None:
        self._server.push_on_control = value

    # -- network ---------------------------------------------------------------------------

    @property
    def host(self) -> str | None:
        """The address listened on (kept after :meth:`stop`, for a restart)."""
        return self._server.host

    @property
    def port(self) -> int | None:
        """The TCP port listened on (kept after :meth:`stop`, for a restart)."""
        return self._server.port

    @property
    def is_serving(self) -> bool:
        """True while it listens."""
        return self._server.serving

    @property
    def connected_clients(self) -> int:
        """Clients connected and ready for application frames (3.4/3.5: after the handshake)."""
        return self._server.connected_clients

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        """Listen on ``host:port``; with no arguments, where the device last listened
        (``127.0.0.1`` and a free port the first time)."""
        host = host if host is not None else self._server.host or DEFAULT_HOST
        port = port if port is not None else self._server.port or 0
        await self._server.start(host, port)

    async def stop(self) -> None:
        """Stop listening and close every client connection; idempotent."""
        await self._server.stop()

    async def wait_for_clients(self, n: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until exactly ``n`` clients are connected and ready."""
        await self._server.wait_for_clients(n, timeout=timeout)

    def drop_clients(self) -> int:
        """Close every client connection at once and keep listening (another client took
        the device, say); returns how many were connected."""
        return self._server.drop_clients()

    async def wait_for_requests(self, cmd: int, n: int = 1, *, timeout: float = 5.0) -> None:
        """Wait until the device has received ``n`` requests of command ``cmd`` since it was made.

        Lets a test act at a precise point of an exchange (say, once a request is on the
        device but its reply is held back by ``faults.reply_delay``) without sleeping.
        """
        await self._server.wait_for_requests(cmd, n, timeout=timeout)

    async def push(self, dps: Mapping[str, Any], *, cid: str | None = None) -> int:
        """Change data points on the device side and push a STATUS to every client.

        ``cid`` names a gateway child. Returns how many clients the push reached.
        """
        if cid is not None and cid not in self.state.children:
            raise KeyError(f"no child {cid!r} on this gateway")
        changed = self.state.update(dps, cid)
        return self._server.broadcast(firmware.status_push(self.state, changed, cid, self._server.now()))


class SimulatedGateway(SimulatedDevice):
    """A gateway whose children (``cid`` -> data points) are addressed by ``cid``."""

    def __init__(
        self,
        dev_id: str,
        local_key: str | bytes,
        *,
        children: Mapping[str, Mapping[str, Any]],
        version: float | str = 3.4,
        **kwargs: Any,
    ) -> None:
        if not children:
            raise ValueError("a gateway needs at least one child")
        kwargs.setdefault("dps", {})
        super().__init__(dev_id, local_key, version=version, children=children, **kwargs)

    @property
    def children(self) -> dict[str, dict[str, Any]]:
        """cid -> the child's live data points."""
        return self.state.children
