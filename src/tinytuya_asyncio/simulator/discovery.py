"""UDP discovery as devices do it: periodic announcements, and answers to 3.5 probes.

The datagrams themselves come from :mod:`tinytuya_asyncio.protocol.discovery` (all of them
decode with ``tinytuya.decrypt_udp``). Around them, the simulator behaves as firmware does,
because scanners (tinytuya's included) depend on it:

* Each device sends from its own address: scanners key devices by the sender's address and
  take the device's IP from it. With ``address_mode="ips"`` every device has its own
  127.x.y.z address and is seen as a separate host. In the one-address mode (``"ports"``)
  every device sends from the same address: a scanner that keys by sender (tinytuya's)
  sees one device there; one that keys by ``gwId`` (ours) sees them all, at that one IP, and
  only the ``port`` field (which real devices do not send) tells them apart.
* Announcements go to ``address`` (by default the loopback broadcast address
  127.255.255.255, so that every listener bound to it hears them, as on a LAN), 3.1 to the
  plain port, the others to the encrypted port, every ``interval`` seconds.
* 3.5 devices listen for the app's REQ_DEVINFO probe on the probe port, both at the
  broadcast address (how scanners send it) and at their own address (a unicast probe), and
  answer by unicast to the probe's ``"ip"`` on the app port, not to the probe's source port.
* ``silent_until_probed``: newer 3.5 firmware announces nothing and only answers probes, so
  a scanner has to probe to find it.

Everything stays on the host: every address used must be a loopback address (127.x.y.z or
::1), checked when the configuration is built and again for each probe's ``"ip"``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, cast

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DatagramError
from tinytuya_asyncio.protocol import decode_datagram, encode_announcement
from tinytuya_asyncio.simulator.device import SimulatedDevice

#: Datagrams sent per loop callback, so that a large fleet never stalls the loop.
_BATCH: Final = 100
#: The IPv4 loopback network's broadcast address: delivered to every socket bound to it.
LOOPBACK_BROADCAST: Final = "127.255.255.255"
_GCM_IV_LEN: Final = 12


def require_loopback(address: str) -> str:
    """``address`` if it is an IPv4/IPv6 loopback address, else ValueError."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"not an IP address: {address!r}") from None
    if not ip.is_loopback:
        raise ValueError(f"discovery stays on this host: {address} is not a loopback address")
    return address


def _is_loopback(address: object) -> bool:
    try:
        return isinstance(address, str) and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def announcement(device: SimulatedDevice) -> dict[str, Any]:
    """The JSON a device broadcasts about itself."""
    info: dict[str, Any] = {
        "ip": device.host,
        "gwId": device.dev_id,
        "active": 2,
        "ability": 0,
        "mode": 0,
        "encrypt": device.version != "3.1",
        "productKey": device.product_key,
        "version": device.version,
    }
    if device.port is not None:
        info["port"] = device.port
    return info


def decode_probe(data: bytes) -> dict[str, Any] | None:
    """The JSON of a REQ_DEVINFO probe (6699 under udpkey), or None for anything else."""
    try:
        datagram = decode_datagram(data)
    except DatagramError:
        return None
    if datagram.cmd != tuya.REQ_DEVINFO or not datagram.is_probe:
        return None
    return datagram.body


def _iv(version: str) -> bytes | None:
    """A fresh GCM IV for 3.5 datagrams (the others are not GCM)."""
    return os.urandom(_GCM_IV_LEN) if version == "3.5" else None


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """Where announcements go, where probes are heard and answered; loopback only."""

    #: Where announcements go: the loopback broadcast address, or one loopback address.
    address: str = LOOPBACK_BROADCAST
    #: Port 3.1 devices announce to.
    plain_port: int = tuya.UDPPORT
    #: Port 3.2 to 3.5 devices announce to.
    encrypted_port: int = tuya.UDPPORTS
    #: Port 3.5 devices listen on for REQ_DEVINFO probes (0 = a free port; None = no listener).
    probe_port: int | None = tuya.UDPPORTAPP
    #: Port of the app that 3.5 devices answer a probe on (at the probe's ``"ip"``).
    app_port: int = tuya.UDPPORTAPP
    #: Also hear probes broadcast to this address (None: unicast probes only).
    probe_broadcast: str | None = LOOPBACK_BROADCAST
    #: Seconds between two announcement rounds (firmware: about 5).
    interval: float = 5.0
    #: False: send no announcements, only answer probes.
    announce: bool = True
    #: True: 3.5 devices announce nothing until probed, as newer firmware does.
    silent_until_probed: bool = False

    def __post_init__(self) -> None:
        require_loopback(self.address)
        if self.probe_broadcast is not None:
            require_loopback(self.probe_broadcast)
        if self.interval <= 0:
            raise ValueError("interval must be positive")
        for port in (self.plain_port, self.encrypted_port, self.app_port, self.probe_port or 0):
            if not 0 <= port < 65536:
                raise ValueError(f"not a port: {port}")


class _Endpoint(asyncio.DatagramProtocol):
    """One UDP socket; hands probes to ``on_probe`` with the address it is bound to."""

    def __init__(self, bound: str, on_probe: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.bound = bound
        self._on_probe = on_probe
        self.transport: asyncio.DatagramTransport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A datagram endpoint's transport, whatever class the event loop uses for it.
        self.transport = cast("asyncio.DatagramTransport", transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self._on_probe is not None and (probe := decode_probe(data)) is not None:
            self._on_probe(self.bound, probe)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Discovery:
    """Announces ``devices()`` every ``interval`` and answers probes; timers, no tasks."""

    def __init__(self, devices: Callable[[], Iterable[SimulatedDevice]], config: DiscoveryConfig) -> None:
        self._devices = devices
        self.config = config
        #: One sending socket per device address, bound to it: datagrams leave from there.
        self._senders: dict[str, _Endpoint] = {}
        #: Probe listeners: the broadcast address and each 3.5 device's address.
        self._listeners: dict[str, _Endpoint] = {}
        self._probe_port: int | None = None
        self._timer: asyncio.Handle | None = None
        self._drain: asyncio.Handle | None = None
        self._outbox: deque[tuple[SimulatedDevice, tuple[str, int]]] = deque()
        self._running = False
        #: Datagrams sent: announcements and probe answers.
        self.sent = 0
        self.probes_answered = 0
        #: Probes heard whose ``"ip"`` is missing or not a loopback address (never answered).
        self.probes_refused = 0

    @property
    def probe_port(self) -> int | None:
        """The port the probe listeners are bound to, once started."""
        return self._probe_port

    async def start(self) -> None:
        """Open the probe listeners and start announcing (unless ``config.announce`` is off)."""
        self._running = True
        config = self.config
        if config.probe_port is not None and config.probe_broadcast is not None:
            await self._listen(config.probe_broadcast)
        await self.refresh()
        if config.announce:
            self._timer = asyncio.get_running_loop().call_soon(self._announce_round)

    async def refresh(self) -> None:
        """Open the sockets of devices added (or moved to a new address) since the start."""
        if not self._running:
            return
        for device in list(self._devices()):
            host = device.host
            if host is None:
                continue
            require_loopback(host)
            if host not in self._senders:
                await self._open_sender(host)
            if device.version == "3.5" and self.config.probe_port is not None and host not in self._listeners:
                await self._listen(host)

    async def _open_sender(self, host: str) -> None:
        loop = asyncio.get_running_loop()
        _, sender = await loop.create_datagram_endpoint(
            lambda: _Endpoint(host), local_addr=(host, 0), allow_broadcast=True
        )
        self._senders[host] = sender

    async def _listen(self, address: str) -> None:
        loop = asyncio.get_running_loop()
        port = self._probe_port if self._probe_port is not None else self.config.probe_port
        assert port is not None
        # reuse_port: the broadcast listener and the unicast ones share one port number, and
        # a scanner on this host may hold the same port at other addresses.
        transport, listener = await loop.create_datagram_endpoint(
            lambda: _Endpoint(address, self._answer_probe),
            local_addr=(address, port),
            reuse_port=True,
        )
        self._listeners[address] = listener
        self._probe_port = int(transport.get_extra_info("sockname")[1])

    async def stop(self) -> None:
        """Cancel the timers and close every socket; idempotent."""
        self._running = False
        for handle in (self._timer, self._drain):
            if handle is not None:
                handle.cancel()
        self._timer = self._drain = None
        self._outbox.clear()
        endpoints = [*self._senders.values(), *self._listeners.values()]
        self._senders.clear()
        self._listeners.clear()
        for endpoint in endpoints:
            if endpoint.transport is not None:
                endpoint.transport.close()
        if endpoints:
            await asyncio.gather(*(endpoint.closed for endpoint in endpoints))

    # -- sending ---------------------------------------------------------------------------

    def _announcing(self) -> list[SimulatedDevice]:
        silent = self.config.silent_until_probed
        return [d for d in self._devices() if d.is_serving and not (silent and d.version == "3.5")]

    def _destination(self, device: SimulatedDevice) -> tuple[str, int]:
        port = self.config.plain_port if device.version == "3.1" else self.config.encrypted_port
        return self.config.address, port

    def announce(self) -> int:
        """Send one round of announcements now; returns how many datagrams went out."""
        return sum(self._send(device, self._destination(device)) for device in self._announcing())

    def _send(self, device: SimulatedDevice, destination: tuple[str, int]) -> bool:
        sender = self._senders.get(device.host or "")
        if sender is None or sender.transport is None:
            return False  # added after the start and not refreshed yet: silent, as if booting
        datagram = encode_announcement(announcement(device), device.version, iv=_iv(device.version))
        sender.transport.sendto(datagram, destination)
        self.sent += 1
        return True

    def _announce_round(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.config.interval, self._announce_round)
        self._enqueue((device, self._destination(device)) for device in self._announcing())

    def _enqueue(self, sends: Iterable[tuple[SimulatedDevice, tuple[str, int]]]) -> None:
        self._outbox.extend(sends)
        if self._outbox and self._drain is None:
            self._drain = asyncio.get_running_loop().call_soon(self._drain_outbox)

    def _drain_outbox(self) -> None:
        self._drain = None
        for _ in range(min(_BATCH, len(self._outbox))):
            device, destination = self._outbox.popleft()
            self._send(device, destination)
        if self._outbox:
            self._drain = asyncio.get_running_loop().call_soon(self._drain_outbox)

    def _answer_probe(self, bound: str, probe: dict[str, Any]) -> None:
        reply_to = probe.get("ip")
        if not _is_loopback(reply_to):
            self.probes_refused += 1  # never send anywhere but this host
            return
        assert isinstance(reply_to, str)
        broadcast = bound == self.config.probe_broadcast
        answering = [
            d
            for d in self._devices()
            if d.version == "3.5" and d.is_serving and (broadcast or d.host == bound)
        ]
        self.probes_answered += len(answering)
        self._enqueue((device, (reply_to, self.config.app_port)) for device in answering)
