"""The scanner: UDP discovery and TCP probing together, as one stream of devices.

    async with Scanner(devices=load_devices_file("devices.json")) as scanner:
        scanner.sweep("192.168.1.0/24")     # optional: probe a range over TCP too
        async for device in scanner:        # as they are found, until you stop
            print(device.id, device.ip, device.version)

or, for a list after a fixed time, ``await scan_network("192.168.1.0/24", timeout=10)``.

Everything found is folded by device id: a device is reported once, and again only when its
address (or version) changes. Announcements and probe answers come through the event
loop's shared :class:`~.udp.DiscoveryListener`; the 3.5 probe is broadcast at the start and
every ``probe_interval``. A sweep runs at most ``concurrency`` TCP probes at a time, so a
254-address range takes about one connect timeout, and never connects to an address this
process already holds a connection to (:mod:`.held`). Leaving ``async with`` (or
:meth:`Scanner.close`) cancels every probe and closes every socket before it returns.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Final, Self

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import LocalProtocolError
from tinytuya_asyncio.metrics import MetricsSink, Reporter
from tinytuya_asyncio.scanner import held as held_addresses
from tinytuya_asyncio.scanner.devicesfile import DeviceDirectory
from tinytuya_asyncio.scanner.interfaces import ProbeTarget, local_networks, local_probe_targets
from tinytuya_asyncio.scanner.probe import ProbeResult, ProbeSettings, probe_address
from tinytuya_asyncio.scanner.records import DiscoveredDevice, Source, from_announcement
from tinytuya_asyncio.scanner.udp import DiscoveryListener, Heard, ListenConfig, ProbeSender

_LOGGER = logging.getLogger(__name__)

#: tinytuya's scan time (seconds): devices announce every few seconds, some less often.
DEFAULT_SCAN_TIME: Final[float] = tuya.SCANTIME
#: tinytuya re-broadcasts the 3.5 probe every 6 seconds.
DEFAULT_PROBE_INTERVAL: Final = 6.0
#: TCP probes in flight at once: a whole /24 in one round, as tinytuya's force scan does.
DEFAULT_CONCURRENCY: Final = 256
#: More addresses than this in one sweep is a mistake (a /16), not a scan.
MAX_SWEEP: Final = 65536
_QUEUE_SIZE: Final = 1024
_END: Final = object()


@dataclass(slots=True)
class ScanStats:
    """What one scanner saw."""

    #: Datagrams received, whether they decoded or not.
    datagrams: int = 0
    #: Announcements of a device already reported at the same address.
    duplicates: int = 0
    #: Datagrams refused, by reason (oversize, truncated, integrity, undecodable).
    dropped: Counter[str] = field(default_factory=Counter)
    #: Datagrams that decoded but named no device.
    invalid: int = 0
    #: REQ_DEVINFO probes sent (one per target per round).
    probes_sent: int = 0
    #: Addresses the TCP sweeps connected to (not those skipped: held or already announced).
    addresses_probed: int = 0
    #: Records not delivered because nobody read them (the queue was full).
    overflow: int = 0


@dataclass(slots=True)
class Sweep:
    """One TCP sweep of a list of addresses, run by the scanner's workers."""

    #: Addresses in the sweep.
    total: int
    #: Resolves when every address has been tried (cancelled with the scanner).
    done: asyncio.Future[None]
    #: Addresses tried so far.
    completed: int = 0
    #: Devices the sweep reported (identified, unidentified or held).
    found: int = 0
    #: When it started (the event loop's clock).
    started: float = 0.0


def expand_targets(targets: str | ipaddress.IPv4Network | Iterable[str | ipaddress.IPv4Network]) -> list[str]:
    """Addresses of ``"192.168.1.0/24"``, ``"192.168.1.7"`` or a list of either (no network or
    broadcast addresses); :class:`LocalProtocolError` for anything else or more than
    :data:`MAX_SWEEP`."""
    items = [targets] if isinstance(targets, str | ipaddress.IPv4Network) else list(targets)
    addresses: dict[str, None] = {}
    for item in items:
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise LocalProtocolError(f"not an address or network: {item!r}") from None
        if network.num_addresses > MAX_SWEEP:
            raise LocalProtocolError(f"{network} has {network.num_addresses} addresses; at most {MAX_SWEEP}")
        hosts: Iterator[Any] = (
            network.hosts() if network.num_addresses > 1 else iter([network.network_address])
        )
        for host in hosts:
            addresses[str(host)] = None
            if len(addresses) > MAX_SWEEP:
                raise LocalProtocolError(f"more than {MAX_SWEEP} addresses in one sweep")
    return list(addresses)


class Scanner:
    """Finds devices by their announcements, by the 3.5 probe and by TCP; see the module notes.

    ``listen``: where to hear announcements and probe answers (tinytuya's ports on every
    interface by default; ``None``: no UDP at all). ``probe_targets``: where the probe goes
    and which address it asks answers at (by default each interface's broadcast address;
    ``[]``: no probe), on ``probe_port`` (7000, where 3.5 devices listen). ``devices``: a
    devices file's entries, to name what is found and to identify devices over TCP.
    ``metrics``: a sink for the ``scan_*`` events (default: the process default sink).
    """

    def __init__(
        self,
        *,
        devices: DeviceDirectory | Iterable[Mapping[str, Any]] | None = None,
        listen: ListenConfig | None = ListenConfig(),  # noqa: B008 - frozen, shared on purpose
        probe_targets: Sequence[ProbeTarget] | None = None,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        probe_port: int = tuya.UDPPORTAPP,
        tcp_port: int = tuya.TCPPORT,
        connect_timeout: float = 3.0,
        reply_timeout: float = 1.5,
        concurrency: int = DEFAULT_CONCURRENCY,
        metrics: MetricsSink | None = None,
    ) -> None:
        if concurrency < 1:
            raise LocalProtocolError("concurrency must be at least 1")
        if probe_interval <= 0:
            raise LocalProtocolError("probe_interval must be positive")
        if devices is None:
            devices = DeviceDirectory()
        self.devices = (
            devices if isinstance(devices, DeviceDirectory) else DeviceDirectory.from_entries(devices)
        )
        self.listen = listen
        self._probe_targets = probe_targets
        self.probe_interval = probe_interval
        self.probe_port = probe_port
        self.concurrency = concurrency
        self._settings = ProbeSettings(tcp_port, connect_timeout, reply_timeout, set())
        self.found: dict[str, DiscoveredDevice] = {}
        self.stats = ScanStats()
        self._queue: asyncio.Queue[DiscoveredDevice | object] | None = None
        self._listener: DiscoveryListener | None = None
        self._unsubscribe: Any = None
        self._sender: ProbeSender | None = None
        self._probe_timer: asyncio.TimerHandle | None = None
        self._workers: set[asyncio.Task[None]] = set()
        self._sweeps: list[Sweep] = []
        self._started = False
        self._closed = False
        self._events = Reporter(None, metrics)
        self._opened_at = 0.0

    def __repr__(self) -> str:
        return f"<Scanner found={len(self.found)} sweeps={len(self._sweeps)} closed={self._closed}>"

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the sockets and send the first probe (``async with`` does this)."""
        if self._started:
            return
        self._started = True
        self._opened_at = asyncio.get_running_loop().time()
        self._queue = asyncio.Queue(_QUEUE_SIZE)
        try:
            if self.listen is not None:
                self._listener = await DiscoveryListener.acquire(self.listen)
                self._unsubscribe = self._listener.subscribe(self._heard, self._dropped)
                targets = self._probe_targets
                if targets is None:
                    targets = await asyncio.to_thread(local_probe_targets)  # reads interfaces
                if targets:
                    self._sender = ProbeSender(targets, self.probe_port)
                    await self._sender.open()
                    self._probe()
        except BaseException:
            await self.close()
            raise
        self._events(
            "scan_started",
            listen=self.listen is not None,
            probe_targets=len(self._sender.targets) if self._sender is not None else 0,
        )

    async def close(self) -> None:
        """Cancel every probe, close every socket, end iteration; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._probe_timer is not None:
            self._probe_timer.cancel()
            self._probe_timer = None
        workers = list(self._workers)
        for task in workers:
            task.cancel()
        if workers:
            await asyncio.gather(*workers, return_exceptions=True)
        for sweep in self._sweeps:
            if not sweep.done.done():
                sweep.done.cancel()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        listener, self._listener = self._listener, None
        if listener is not None:
            await listener.release()
        sender, self._sender = self._sender, None
        if sender is not None:
            await sender.close()
        self._end()
        if self._started:
            duration = asyncio.get_running_loop().time() - self._opened_at
            self._events(
                "scan_closed", found=len(self.found), datagrams=self.stats.datagrams, duration=duration
            )

    def _end(self) -> None:
        if self._queue is not None:
            while True:  # make room for the end marker: nobody reads what was left anyway
                try:
                    self._queue.put_nowait(_END)
                    break
                except asyncio.QueueFull:
                    self._queue.get_nowait()

    # -- UDP -------------------------------------------------------------------------------

    def _probe(self) -> None:
        if self._sender is None or self._closed:
            return
        self.stats.probes_sent += self._sender.send()
        loop = asyncio.get_running_loop()
        self._probe_timer = loop.call_later(self.probe_interval, self._probe)

    def _dropped(self, reason: str) -> None:
        self.stats.datagrams += 1
        self.stats.dropped[reason] += 1
        self._events("scan_dropped", reason=reason)

    def _heard(self, heard: Heard) -> None:
        self.stats.datagrams += 1
        assert self.listen is not None
        source = Source.PROBE if heard.port == self.listen.app_port else Source.BROADCAST
        record = from_announcement(heard.datagram.body, heard.sender, source)
        if record is None:
            self.stats.invalid += 1
            return
        if self._report(record.matched(self.devices.by_id(record.id))) is None:
            self.stats.duplicates += 1

    # -- reporting -------------------------------------------------------------------------

    def _report(self, record: DiscoveredDevice) -> DiscoveredDevice | None:
        """Fold ``record`` in; returns it when it is news (new device, new address or version)."""
        key = record.id or f"@{record.ip}"
        previous = self.found.get(key)
        if previous is not None:
            if (previous.ip, previous.version) == (record.ip, record.version) or (
                previous.ip == record.ip and not record.version
            ):
                return None
            if not record.version:
                record = replace(record, version=previous.version)
        if record.id:
            self.found.pop(f"@{record.ip}", None)  # an address now identified
            assert self._settings.claimed is not None
            self._settings.claimed.add(record.id)
        self.found[key] = record
        self._events(
            "scan_found", device=record.id, ip=record.ip, version=record.version, source=record.source.value
        )
        if self._queue is not None and not self._closed:
            try:
                self._queue.put_nowait(record)
            except asyncio.QueueFull:
                self.stats.overflow += 1
        return record

    def _known_at(self, ip: str) -> bool:
        return any(r.ip == ip and r.identified for r in self.found.values())

    # -- TCP -------------------------------------------------------------------------------

    def sweep(
        self, targets: str | ipaddress.IPv4Network | Iterable[str | ipaddress.IPv4Network] | None = None
    ) -> Sweep:
        """Start probing ``targets`` over TCP (default: this machine's networks); returns at once.

        Await ``sweep.done`` to wait for the end; the scanner's workers run the probes.
        """
        if not self._started or self._closed:
            raise LocalProtocolError("start the scanner (async with) before sweeping")
        addresses = expand_targets(targets if targets is not None else local_networks())
        loop = asyncio.get_running_loop()
        run = Sweep(len(addresses), loop.create_future(), started=loop.time())
        self._sweeps.append(run)
        self._events("scan_sweep", addresses=len(addresses))
        run.done.add_done_callback(lambda done: self._sweep_done(run))
        if not addresses:
            run.done.set_result(None)
            return run
        pending = iter(addresses)
        workers = min(self.concurrency, len(addresses))
        active = [workers]
        for _ in range(workers):
            task = loop.create_task(self._work(pending, run, active))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        return run

    async def _work(self, pending: Iterator[str], run: Sweep, active: list[int]) -> None:
        try:
            for ip in pending:
                await self._probe_one(ip, run)
                run.completed += 1
        except asyncio.CancelledError:
            if not run.done.done():
                run.done.cancel()
            raise
        active[0] -= 1
        if active[0] == 0 and not run.done.done():
            run.done.set_result(None)
            self._maybe_end()

    async def _probe_one(self, ip: str, run: Sweep) -> None:
        port = self._settings.port
        holder = held_addresses.held(ip, port)
        if holder is not None:
            record = DiscoveredDevice(holder.dev_id, ip, holder.version, Source.HELD, port=port)
            run.found += 1
            self._report(record.matched(self.devices.by_id(holder.dev_id)))
            return
        if self._known_at(ip):
            return  # it announced itself while we were busy elsewhere
        self.stats.addresses_probed += 1
        result: ProbeResult | None = await probe_address(ip, self.devices, self._settings)
        if result is None:
            return
        run.found += 1
        dev_id = result.known.id if result.known is not None else result.dev_id
        record = DiscoveredDevice(dev_id, ip, result.version, Source.TCP, port=port)
        self._report(record.matched(result.known or self.devices.by_id(dev_id)))

    def _sweep_done(self, run: Sweep) -> None:
        if not run.done.cancelled():
            duration = asyncio.get_running_loop().time() - run.started
            self._events("scan_sweep_done", addresses=run.total, found=run.found, duration=duration)

    def _maybe_end(self) -> None:
        """Without UDP, the scan is over when its last sweep is."""
        if self.listen is None and all(s.done.done() for s in self._sweeps):
            self._end()

    # -- iteration -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[DiscoveredDevice]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[DiscoveredDevice]:
        if self._queue is None:
            raise LocalProtocolError("start the scanner (async with) before iterating")
        while True:
            item = await self._queue.get()
            if item is _END:
                self._queue.put_nowait(_END)  # for any other reader
                return
            assert isinstance(item, DiscoveredDevice)
            yield item


async def scan_network(
    subnet: str | ipaddress.IPv4Network | Iterable[str | ipaddress.IPv4Network] | None = None,
    timeout: float = DEFAULT_SCAN_TIME,
    *,
    devices: DeviceDirectory | Iterable[Mapping[str, Any]] | None = None,
    tcp: bool = True,
    listen: ListenConfig | None = ListenConfig(),  # noqa: B008 - frozen, shared on purpose
    **options: Any,
) -> list[DiscoveredDevice]:
    """Every device found within ``timeout`` seconds, by announcement, probe and TCP sweep.

    ``subnet``: what to sweep over TCP (default: this machine's networks); ``tcp=False``
    only listens. With ``listen=None`` the scan ends as soon as the sweep does. Other
    keyword arguments go to :class:`Scanner`.
    """
    async with Scanner(devices=devices, listen=listen, **options) as scanner:
        if tcp:
            scanner.sweep(subnet)
        try:
            async with asyncio.timeout(timeout):
                async for _ in scanner:
                    pass
        except TimeoutError:
            pass
        return sorted(scanner.found.values(), key=lambda r: (ipaddress.ip_address(r.ip), r.id))
