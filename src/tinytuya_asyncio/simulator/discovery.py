"""UDP discovery as devices do it: periodic announcements, and answers to 3.5 probes.

Formats (all decodable by ``tinytuya.decrypt_udp``):

* 3.1: a 55AA frame (cmd UDP_NEW) with a zero retcode and the JSON in clear, to the plain
  port (6666).
* 3.2 to 3.4: a 55AA frame (UDP_NEW up to 3.3, BOARDCAST_LPV34 on 3.4) with a zero retcode
  and AES-ECB(udpkey, JSON), to the encrypted port (6667).
* 3.5: a 6699 frame (BOARDCAST_LPV34) with the retcode and JSON under AES-GCM(udpkey), to
  the encrypted port; and, when an app sends a REQ_DEVINFO probe to the probe port (7000),
  the same frame unicast back to the probe's sender.

Everything stays on the host: the destination and the probe listener must be loopback
addresses (127.x.y.z), checked when the service is built.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DatagramError
from tinytuya_asyncio.protocol import decode_datagram, encode_announcement
from tinytuya_asyncio.simulator.device import SimulatedDevice

#: Announcements sent per loop callback, so that a large fleet never stalls the loop.
_BATCH: Final = 100


def require_loopback(address: str) -> str:
    """``address`` if it is an IPv4/IPv6 loopback address, else ValueError."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"not an IP address: {address!r}") from None
    if not ip.is_loopback:
        raise ValueError(f"discovery stays on this host: {address} is not a loopback address")
    return address


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


@dataclass(frozen=True, slots=True)
class DiscoveryConfig:
    """Where announcements go and where probes are heard; loopback only."""

    address: str = "127.0.0.1"
    plain_port: int = tuya.UDPPORT
    encrypted_port: int = tuya.UDPPORTS
    #: Port 3.5 devices listen on for REQ_DEVINFO probes (0 = a free port; None = no listener).
    probe_port: int | None = tuya.UDPPORTAPP
    probe_host: str = "127.0.0.1"
    #: Seconds between two announcement rounds (firmware: about 5).
    interval: float = 5.0
    #: False: send no announcements, only answer probes.
    announce: bool = True

    def __post_init__(self) -> None:
        require_loopback(self.address)
        require_loopback(self.probe_host)
        if self.interval <= 0:
            raise ValueError("interval must be positive")


def _iv(version: str) -> bytes | None:
    """A fresh GCM IV for 3.5 datagrams (the others are not GCM)."""
    return os.urandom(12) if version == "3.5" else None


class _Sender(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _ProbeListener(_Sender):
    def __init__(self, on_probe: Callable[[tuple[str, int]], None]) -> None:
        super().__init__()
        self._on_probe = on_probe

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if decode_probe(data) is not None:
            self._on_probe((str(addr[0]), int(addr[1])))


class Discovery:
    """Announces ``devices()`` every ``interval`` and answers probes; timers, no tasks."""

    def __init__(self, devices: Callable[[], Iterable[SimulatedDevice]], config: DiscoveryConfig) -> None:
        self._devices = devices
        self.config = config
        self._sender: asyncio.DatagramTransport | None = None
        self._sender_protocol: _Sender | None = None
        self._listener: asyncio.DatagramTransport | None = None
        self._listener_protocol: _ProbeListener | None = None
        self._timer: asyncio.Handle | None = None
        self._batch: asyncio.Handle | None = None
        #: Datagrams sent: announcements and probe answers.
        self.sent = 0
        self.probes_answered = 0

    @property
    def probe_port(self) -> int | None:
        """The port the probe listener is bound to, once started."""
        if self._listener is None:
            return None
        return int(self._listener.get_extra_info("sockname")[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # Send from the loopback interface; broadcast is allowed for 127.255.255.255.
        local = "::1" if ipaddress.ip_address(self.config.address).version == 6 else "127.0.0.1"
        sender, sender_protocol = await loop.create_datagram_endpoint(
            _Sender, local_addr=(local, 0), allow_broadcast=True
        )
        self._sender, self._sender_protocol = sender, sender_protocol
        if self.config.probe_port is not None:
            listener, listener_protocol = await loop.create_datagram_endpoint(
                lambda: _ProbeListener(self._answer_probe),
                local_addr=(self.config.probe_host, self.config.probe_port),
            )
            self._listener, self._listener_protocol = listener, listener_protocol
        if self.config.announce:
            self._timer = loop.call_soon(self._announce_round)

    async def stop(self) -> None:
        """Cancel the timer and close both sockets; idempotent."""
        for handle in (self._timer, self._batch):
            if handle is not None:
                handle.cancel()
        self._timer = self._batch = None
        waits: list[asyncio.Future[None]] = []
        for transport, protocol in (
            (self._sender, self._sender_protocol),
            (self._listener, self._listener_protocol),
        ):
            if transport is not None and protocol is not None:
                transport.close()
                waits.append(protocol.closed)
        self._sender = self._listener = None
        if waits:
            await asyncio.gather(*waits)

    def announce(self) -> int:
        """Send one round of announcements now; returns how many datagrams went out."""
        return self._send_announcements([d for d in self._devices() if d.is_serving])

    def _send_announcements(self, devices: list[SimulatedDevice]) -> int:
        sender = self._sender
        if sender is None:
            return 0
        for device in devices:
            port = self.config.plain_port if device.version == "3.1" else self.config.encrypted_port
            datagram = encode_announcement(announcement(device), device.version, iv=_iv(device.version))
            sender.sendto(datagram, (self.config.address, port))
        self.sent += len(devices)
        return len(devices)

    def _announce_round(self) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.config.interval, self._announce_round)
        self._announce_batch([d for d in self._devices() if d.is_serving], 0)

    def _announce_batch(self, devices: list[SimulatedDevice], start: int) -> None:
        self._batch = None
        self._send_announcements(devices[start : start + _BATCH])
        if start + _BATCH < len(devices):
            self._batch = asyncio.get_running_loop().call_soon(self._announce_batch, devices, start + _BATCH)

    def _answer_probe(self, addr: tuple[str, int]) -> None:
        if self._sender is None or not ipaddress.ip_address(addr[0]).is_loopback:
            return
        for device in self._devices():
            if device.version == "3.5" and device.is_serving:
                self._sender.sendto(encode_announcement(announcement(device), "3.5", iv=os.urandom(12)), addr)
                self.sent += 1
                self.probes_answered += 1
