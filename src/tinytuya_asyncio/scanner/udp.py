"""The UDP side of discovery: listening sockets shared per event loop, and the 3.5 probe.

Devices announce to the plain (6666) and encrypted (6667) ports; 3.5 devices answer a probe
on the app port (7000). Only one socket hears a unicast datagram even when several share a
port (``SO_REUSEPORT`` spreads them), so every scanner and address look-up of one event
loop shares one :class:`DiscoveryListener` per configuration: a hundred concurrent look-ups
open three sockets, not three hundred, and do not steal each other's answers. Other
processes can still listen beside us (tinytuya's scanner sets ``SO_REUSEPORT`` too).

Every datagram is hostile: it is decoded by the protocol core, and one that does not decode
is counted by reason and dropped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import weakref
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import ConnectError, DatagramError
from tinytuya_asyncio.protocol import Datagram, decode_datagram, encode_probe
from tinytuya_asyncio.scanner.interfaces import ProbeTarget

_LOGGER = logging.getLogger(__name__)
_GCM_IV_LEN = 12


@dataclass(frozen=True, slots=True)
class ListenConfig:
    """Where to listen: each port at each bind address (``""``: every interface)."""

    #: Addresses to bind each port at.
    bind: tuple[str, ...] = ("",)
    #: 3.1 announcements (clear JSON).
    plain_port: int = tuya.UDPPORT
    #: 3.2 to 3.5 announcements (encrypted).
    encrypted_port: int = tuya.UDPPORTS
    #: Answers to the REQ_DEVINFO probe.
    app_port: int = tuya.UDPPORTAPP

    def __post_init__(self) -> None:
        if not self.bind:
            raise ValueError("listen on at least one address")
        for port in (self.plain_port, self.encrypted_port, self.app_port):
            if not 0 < port < 65536:
                raise ValueError(f"not a port: {port}")

    @property
    def ports(self) -> tuple[int, ...]:
        """The distinct ports to listen on."""
        return tuple(dict.fromkeys((self.plain_port, self.encrypted_port, self.app_port)))


class _Subscriber(NamedTuple):
    on_heard: Callable[[Heard], None]
    on_dropped: Callable[[str], None] | None


class Heard(NamedTuple):
    """A device's datagram, who sent it, and the local port it arrived on."""

    datagram: Datagram
    sender: str
    port: int


@dataclass(slots=True)
class ListenerStats:
    """What the listening sockets received since they opened."""

    datagrams: int = 0
    #: Apps' probes (ours echoed back by the broadcast, or another app's): not devices.
    probes: int = 0
    #: Refused datagrams by reason: oversize, truncated, integrity, undecodable.
    dropped: Counter[str] | None = None

    def __post_init__(self) -> None:
        if self.dropped is None:
            self.dropped = Counter()


def _udp_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            # Lets this process and others (another scanner, tinytuya) listen at once.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setblocking(False)
        sock.bind((address, port))
    except BaseException:
        sock.close()
        raise
    return sock


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, owner: DiscoveryListener, port: int) -> None:
        self._owner = owner
        self.port = port
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's transport, whatever class the event loop uses for it.
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self._owner._received(data, str(addr[0]), self.port)

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("discovery socket on port %d: %s", self.port, exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


_listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ListenConfig, DiscoveryListener]] = (
    weakref.WeakKeyDictionary()
)


class DiscoveryListener:
    """The discovery sockets of one event loop for one :class:`ListenConfig`; reference-counted.

    Get it with :meth:`acquire` and give it back with :meth:`release`; the sockets close
    when the last user releases it.
    """

    def __init__(self, config: ListenConfig) -> None:
        self.config = config
        self.stats = ListenerStats()
        self._sockets: list[_Socket] = []
        self._subscribers: tuple[_Subscriber, ...] = ()
        self._users = 0
        self._opening: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"<DiscoveryListener {self.config.bind} ports {self.config.ports} users={self._users}>"

    @classmethod
    async def acquire(cls, config: ListenConfig) -> DiscoveryListener:
        """The running loop's listener for ``config``, opened if it is not yet."""
        loop = asyncio.get_running_loop()
        per_loop = _listeners.setdefault(loop, {})
        listener = per_loop.get(config)
        if listener is None:
            listener = per_loop[config] = cls(config)
        listener._users += 1
        try:
            await listener._open()
        except BaseException:
            await listener.release()
            raise
        return listener

    async def _open(self) -> None:
        if self._sockets:
            return
        if self._opening is not None:
            await asyncio.shield(self._opening)  # another user is opening the sockets
            if not self._sockets:
                raise ConnectError("the discovery sockets could not be opened")
            return
        self._opening = asyncio.get_running_loop().create_future()
        try:
            await self._bind_all()
        finally:
            self._opening.set_result(None)
            self._opening = None

    async def _bind_all(self) -> None:
        loop = asyncio.get_running_loop()
        opened: list[_Socket] = []
        try:
            for address in self.config.bind:
                for port in self.config.ports:
                    try:
                        sock = _udp_socket(address, port)
                    except OSError as exc:
                        where = f"{address or '*'}:{port}"
                        raise ConnectError(f"cannot listen for discovery on {where}: {exc}") from exc
                    _, protocol = await loop.create_datagram_endpoint(
                        lambda port=port: _Socket(self, port),  # type: ignore[misc]
                        sock=sock,
                    )
                    opened.append(protocol)
        except BaseException:
            await _close_all(opened)
            raise
        self._sockets = opened

    async def release(self) -> None:
        """Give the listener back; the last user's release closes its sockets."""
        self._users -= 1
        if self._users > 0:
            return
        loop = asyncio.get_running_loop()
        per_loop = _listeners.get(loop, {})
        if per_loop.get(self.config) is self:
            del per_loop[self.config]
        sockets, self._sockets = self._sockets, []
        await _close_all(sockets)

    @property
    def is_open(self) -> bool:
        """True while at least one socket is open."""
        return bool(self._sockets)

    def subscribe(
        self, on_heard: Callable[[Heard], None], on_dropped: Callable[[str], None] | None = None
    ) -> Callable[[], None]:
        """Call ``on_heard`` with every device datagram and ``on_dropped`` with the reason for
        every refused one; returns the unsubscribe function."""
        subscriber = _Subscriber(on_heard, on_dropped)
        self._subscribers = (*self._subscribers, subscriber)

        def unsubscribe() -> None:
            self._subscribers = tuple(s for s in self._subscribers if s is not subscriber)

        return unsubscribe

    def _received(self, data: bytes, sender: str, port: int) -> None:
        stats = self.stats
        stats.datagrams += 1
        try:
            datagram = decode_datagram(data)
        except DatagramError as exc:
            assert stats.dropped is not None
            stats.dropped[exc.reason] += 1
            for subscriber in self._subscribers:
                if subscriber.on_dropped is not None:
                    subscriber.on_dropped(exc.reason)
            return
        if datagram.is_probe:
            stats.probes += 1
            return
        heard = Heard(datagram, sender, port)
        for subscriber in self._subscribers:
            subscriber.on_heard(heard)


async def _close_all(sockets: Sequence[_Socket]) -> None:
    for sock in sockets:
        if sock.transport is not None:
            sock.transport.close()
    if sockets:
        await asyncio.gather(*(s.closed for s in sockets))


class ProbeSender:
    """Sends the REQ_DEVINFO probe to each target, from a socket bound to the target's ``ip``."""

    def __init__(self, targets: Sequence[ProbeTarget], port: int) -> None:
        self.targets = tuple(targets)
        self.port = port
        self.sent = 0
        self._sockets: list[tuple[ProbeTarget, _ProbeSocket]] = []

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for target in self.targets:
            try:
                # From the interface the answers are asked for, as the app does.
                _, sock = await loop.create_datagram_endpoint(
                    _ProbeSocket, local_addr=(target.ip, 0), allow_broadcast=True
                )
            except OSError as exc:
                _LOGGER.debug("cannot send probes from %s: %s", target.ip, exc)
                continue
            self._sockets.append((target, sock))

    def send(self) -> int:
        """One probe to every target now; returns how many went out."""
        for target, sock in self._sockets:
            if sock.transport is not None:
                probe = encode_probe(target.ip, iv=os.urandom(_GCM_IV_LEN))
                sock.transport.sendto(probe, (target.broadcast, self.port))
                self.sent += 1
        return len(self._sockets)

    async def close(self) -> None:
        sockets = [sock for _, sock in self._sockets]
        self._sockets = []
        for sock in sockets:
            if sock.transport is not None:
                sock.transport.close()
        if sockets:
            await asyncio.gather(*(s.closed for s in sockets))


class _ProbeSocket(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.DatagramTransport", transport)

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("probe socket: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
