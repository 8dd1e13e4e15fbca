"""Finding one device's address by its id, for ``address=None`` or ``"Auto"``.

Every look-up of one event loop goes through one :class:`AddressResolver` per configuration,
so a hundred devices resolving at once share one set of discovery sockets (opened while
anyone is waiting, closed when nobody is) instead of a hundred fighting over the ports.
While they are open, every announcement heard goes into a cache, so the next look-up of any
device heard is immediate; ``refresh=True`` skips the cache (after the cached address
failed to connect, say). A device not heard within the deadline raises
:class:`DeviceNotFoundError`, which maps to tinytuya's 905 (what tinytuya returns when its
own look-up finds nothing at connect time).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import DeviceNotFoundError
from tinytuya_asyncio.scanner.interfaces import ProbeTarget, local_probe_targets
from tinytuya_asyncio.scanner.records import DiscoveredDevice, Source, from_announcement
from tinytuya_asyncio.scanner.udp import DiscoveryListener, Heard, ListenConfig, ProbeSender

#: How long a look-up listens by default: tinytuya's scan time.
DEFAULT_RESOLVE_TIMEOUT: Final[float] = tuya.SCANTIME
#: The 3.5 probe is repeated this often while anyone waits (tinytuya: 6 s).
_PROBE_INTERVAL: Final = 6.0


@dataclass(frozen=True, slots=True)
class ResolverConfig:
    """Where look-ups listen and probe (tinytuya's ports; probes to every interface)."""

    #: Where to listen for announcements.
    listen: ListenConfig = field(default_factory=ListenConfig)
    #: None: each interface's broadcast address; ``()``: no probes.
    probe_targets: tuple[ProbeTarget, ...] | None = None
    #: Port the REQ_DEVINFO probes are sent to.
    probe_port: int = tuya.UDPPORTAPP
    #: Seconds between probes while a look-up waits.
    probe_interval: float = _PROBE_INTERVAL


_default_config: list[ResolverConfig] = []


def set_default_resolver_config(config: ResolverConfig | None) -> None:
    """Where look-ups without a ``config`` (every "Auto" device) listen and probe; None: tinytuya's."""
    _default_config[:] = [config] if config is not None else []


_resolvers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ResolverConfig, AddressResolver]] = (
    weakref.WeakKeyDictionary()
)


class AddressResolver:
    """The running loop's look-ups for one configuration; get it with :meth:`for_loop`."""

    def __init__(self, config: ResolverConfig) -> None:
        self.config = config
        self.cache: dict[str, DiscoveredDevice] = {}
        self._waiters: dict[str, list[asyncio.Future[DiscoveredDevice]]] = {}
        self._active = 0
        self._lock = asyncio.Lock()
        self._listener: DiscoveryListener | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._sender: ProbeSender | None = None
        self._timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return f"<AddressResolver cached={len(self.cache)} waiting={self._active}>"

    @classmethod
    def for_loop(cls, config: ResolverConfig | None = None) -> AddressResolver:
        """The running loop's resolver for ``config`` (default: the process default config)."""
        config = config or (_default_config[0] if _default_config else ResolverConfig())
        per_loop = _resolvers.setdefault(asyncio.get_running_loop(), {})
        resolver = per_loop.get(config)
        if resolver is None:
            resolver = per_loop[config] = cls(config)
        return resolver

    @property
    def listening(self) -> bool:
        """True while the resolver's listener is open (only while a look-up waits)."""
        return self._listener is not None

    def forget(self, dev_id: str) -> None:
        """Drop what is cached for ``dev_id`` (its address stopped working)."""
        self.cache.pop(dev_id, None)

    async def resolve(
        self, dev_id: str, *, timeout: float = DEFAULT_RESOLVE_TIMEOUT, refresh: bool = False
    ) -> DiscoveredDevice:
        """Where ``dev_id`` is: the cached record, or the next one heard within ``timeout``."""
        if refresh:
            self.forget(dev_id)
        elif (hit := self.cache.get(dev_id)) is not None:
            return hit
        future: asyncio.Future[DiscoveredDevice] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(dev_id, []).append(future)
        self._active += 1
        try:
            async with asyncio.timeout(timeout):
                await self._start()
                hit = self.cache.get(dev_id)
                return hit if hit is not None else await future
        except TimeoutError:
            raise DeviceNotFoundError(
                f"device {dev_id[:4]}… not heard on the network within {timeout:g} s: pass its IP address"
            ) from None
        finally:
            waiting = self._waiters.get(dev_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._waiters.pop(dev_id, None)
            self._active -= 1
            if self._active == 0:
                await self._stop()

    async def _start(self) -> None:
        async with self._lock:
            if self._listener is not None:
                return
            listener = await DiscoveryListener.acquire(self.config.listen)
            self._listener = listener
            self._unsubscribe = listener.subscribe(self._heard)
            targets = self.config.probe_targets
            if targets is None:
                targets = tuple(await asyncio.to_thread(local_probe_targets))
            if targets:
                self._sender = ProbeSender(targets, self.config.probe_port)
                await self._sender.open()
                self._probe()

    async def _stop(self) -> None:
        async with self._lock:
            if self._active or self._listener is None:
                return
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            listener, self._listener = self._listener, None
            sender, self._sender = self._sender, None
            await listener.release()
            if sender is not None:
                await sender.close()

    def _probe(self) -> None:
        if self._sender is None:
            return
        self._sender.send()
        self._timer = asyncio.get_running_loop().call_later(self.config.probe_interval, self._probe)

    def _heard(self, heard: Heard) -> None:
        source = Source.PROBE if heard.port == self.config.listen.app_port else Source.BROADCAST
        record = from_announcement(heard.datagram.body, heard.sender, source)
        if record is None:
            return
        self.cache[record.id] = record
        for future in self._waiters.get(record.id, ()):
            if not future.done():
                future.set_result(record)


async def resolve_address(
    dev_id: str,
    *,
    timeout: float = DEFAULT_RESOLVE_TIMEOUT,
    refresh: bool = False,
    config: ResolverConfig | None = None,
) -> DiscoveredDevice:
    """Where device ``dev_id`` is (its ``ip`` and ``version``), through the loop's shared resolver.

    Raises :class:`~tinytuya_asyncio.exceptions.DeviceNotFoundError` (tinytuya's 905) when
    the device is not heard within ``timeout`` seconds.
    """
    return await AddressResolver.for_loop(config).resolve(dev_id, timeout=timeout, refresh=refresh)
