"""``Fleet``: hundreds of devices held as one, from tinytuya's devices.json or from objects.

    fleet = await Fleet.load("devices.json")
    async with fleet:                                   # connects every device
        print(await fleet.status())                     # {id: status or error dict}
        await fleet.turn_on(ids=["bf01...", "bf02..."])
        async for update in fleet.updates():            # every device's pushes, tagged
            print(update.device_id, update.changed)

What it does for you, and what it never does:

* ``async with`` (or :meth:`connect`) connects every device, ``concurrency`` at a time and
  within the process's connect limit; a persistent device that cannot be reached is left
  to its reconnect supervisor, which keeps trying with backoff.
* Operations on many devices run ``concurrency`` at a time across the whole fleet, and one
  request at a time per connection (a gateway's children take turns). Each device's outcome
  is kept by id: its result, or tinytuya's error dict; one device's failure never loses the
  others' results, and nothing raises but cancellation. A device removed, or a fleet closed,
  before a device's turn leaves it out (912, 904): nothing closed is reopened behind you.
* Every device in the fleet follows the fleet's limits: at least ``min_interval`` seconds
  between two commands to it, at most ``max_waiting`` requests queued for it (see
  :mod:`tinytuya_asyncio.connection.link`).
* :meth:`updates` merges every device's updates into one bounded stream, each tagged with
  its ``device_id`` (and ``cid``); a consumer that falls behind loses the oldest ones, and
  is told (``dropped``, and an ``update_dropped`` event with source ``fleet``).
* ``metrics=`` sends the fleet's devices' events to a sink; ``counters=True`` counts them
  (:attr:`counters`, a :class:`~tinytuya_asyncio.metrics.Counters`).
* :meth:`close` closes every device and ends the streams; nothing is left behind (no task,
  socket or timer). Using the fleet again reconnects, as devices do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.state import StateChange
from tinytuya_asyncio.devices import DeviceAsync, DeviceUpdate, UpdateStream, XenonDeviceAsync
from tinytuya_asyncio.devices.errors import error_dict
from tinytuya_asyncio.devices.redact import redact_id
from tinytuya_asyncio.devices.updates import DEFAULT_QUEUE_SIZE, UpdateHub
from tinytuya_asyncio.exceptions import ConnectionClosedError
from tinytuya_asyncio.fleet.build import devices_from
from tinytuya_asyncio.fleet.members import Member, groups_of
from tinytuya_asyncio.fleet.runner import run_groups, running_for
from tinytuya_asyncio.metrics import Counters, DefaultSink, FanOut, MetricsSink, Reporter
from tinytuya_asyncio.scanner import DeviceDirectory, load_devices_file

#: Seconds between two commands to one device. Firmware polled faster than about once a
#: second can crash (PROTOCOL-NOTES, and tinytuya's own pacing of single-DP writes is 1 s),
#: and a fleet is where a loop polling "everything" is written: it cannot go faster than this.
DEFAULT_MIN_INTERVAL: Final = 1.0
#: Requests queued per device: what a device serves within one 5 s deadline at one command
#: a second. Beyond it callers wait for a place, up to their deadline.
DEFAULT_MAX_WAITING: Final = 4
#: Devices worked on at once by one fleet (as the command line's default).
DEFAULT_CONCURRENCY: Final = 64
#: What devices built from a devices file get unless ``device_options`` say otherwise:
#: persistent (pushes and connection state), and two connect attempts a second apart rather
#: than tinytuya's five, five seconds apart: an unreachable device is the supervisor's job.
DEVICE_DEFAULTS: Final[Mapping[str, Any]] = {
    "persist": True,
    "connection_retry_limit": 2,
    "connection_retry_delay": 1.0,
}

_LOGGER = logging.getLogger(__name__)

Operation = Callable[[XenonDeviceAsync], Awaitable[Any]]
StateListener = Callable[[str, StateChange], None]


class Fleet:
    """Many devices, one object; see the module docstring."""

    def __init__(
        self,
        devices: Iterable[XenonDeviceAsync] = (),
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        min_interval: float = DEFAULT_MIN_INTERVAL,
        max_waiting: int | None = DEFAULT_MAX_WAITING,
        metrics: MetricsSink | None = None,
        counters: bool = False,
    ) -> None:
        """Hold ``devices`` (any class, gateway children included); no I/O until connected.

        ``min_interval`` and ``max_waiting`` are applied to every device the fleet holds
        (``0`` and ``None`` turn them off); a child follows its gateway's.
        """
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if min_interval < 0 or (max_waiting is not None and max_waiting < 0):
            raise ValueError("min_interval and max_waiting cannot be negative")
        self._concurrency = concurrency
        self._min_interval = min_interval
        self._max_waiting = max_waiting
        self._metrics = metrics
        #: Counts per device id, when made with ``counters=True``.
        self.counters: Counters | None = Counters() if counters else None
        # The fleet's own events (drops in its stream) go where its devices' go, counted too.
        self._report = Reporter(
            None, FanOut(self.counters, metrics or DefaultSink()) if self.counters is not None else metrics
        )
        self._members: dict[str, Member] = {}
        self._updates = UpdateHub(self._on_dropped)
        self._state_listeners: tuple[StateListener, ...] = ()
        # Made in the loop, at the first operation; again in another loop (a semaphore that
        # ever made a caller wait belongs to the loop it waited in).
        self._slots: asyncio.Semaphore | None = None
        self._slots_loop: asyncio.AbstractEventLoop | None = None
        self._open = False
        self._epoch = 0  # bumped by close(): runs started before it leave the rest out
        for device in devices:
            self._adopt(device)

    @classmethod
    def from_entries(
        cls,
        entries: DeviceDirectory | Iterable[Mapping[str, Any]],
        *,
        device_class: type[XenonDeviceAsync] = DeviceAsync,
        device_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Fleet:
        """A fleet of a devices file's entries (tinytuya's wizard format, ``port`` optional).

        ``device_options`` are constructor keywords for every device (over
        :data:`DEVICE_DEFAULTS`); ``options`` are the fleet's own.
        """
        chosen = {**DEVICE_DEFAULTS, **(device_options or {})}
        return cls(devices_from(entries, device_class=device_class, **chosen), **options)

    @classmethod
    async def load(cls, path: str | Path = tuya.DEVICEFILE, **options: Any) -> Fleet:
        """:meth:`from_entries` of the devices file at ``path``, read off the event loop.

        Raises :class:`~tinytuya_asyncio.scanner.DevicesFileError` when it cannot be used.
        """
        directory = await asyncio.to_thread(load_devices_file, path)
        return cls.from_entries(directory, **options)

    @property
    def concurrency(self) -> int:
        """Devices worked on at once across every operation of the fleet (set at construction)."""
        return self._concurrency

    @property
    def min_interval(self) -> float:
        """The minimum interval the fleet gives each device it adopts (set at construction;
        change one device's with its own ``min_interval``)."""
        return self._min_interval

    @property
    def max_waiting(self) -> int | None:
        """The bound on waiting requests the fleet gives each device it adopts (set at
        construction; change one device's with its own ``max_waiting``)."""
        return self._max_waiting

    def __repr__(self) -> str:
        return f"<Fleet {len(self._members)} devices {'open' if self._open else 'closed'}>"

    # -- members ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._members)

    def __iter__(self) -> Iterator[XenonDeviceAsync]:
        return (member.device for member in list(self._members.values()))

    def __contains__(self, dev_id: object) -> bool:
        return dev_id in self._members

    def __getitem__(self, dev_id: str) -> XenonDeviceAsync:
        return self._members[dev_id].device

    @property
    def ids(self) -> list[str]:
        """The ids of the fleet's devices, in the order they were added."""
        return list(self._members)

    def _adopt(self, device: XenonDeviceAsync) -> None:
        if device.id in self._members:
            raise ValueError(f"{redact_id(device.id)} is already in the fleet")
        member = Member(device)
        if device.parent is None:  # a child follows its gateway's limits
            device.min_interval = self._min_interval
            device.max_waiting = self._max_waiting
        if self.counters is not None or self._metrics is not None:
            forward: MetricsSink = self._metrics or device.metrics or DefaultSink()
            member.previous_sink, member.sink_set = device.metrics, True
            device.metrics = FanOut(self.counters, forward) if self.counters is not None else forward
        member.unsubscribe.append(device.subscribe(self._updates.publish))
        dev_id = device.id
        member.unsubscribe.append(
            device.add_state_listener(lambda change: self._state_changed(dev_id, change))
        )
        self._members[dev_id] = member

    async def add(self, device: XenonDeviceAsync) -> dict[str, Any] | None:
        """Add ``device``; in an open fleet it is connected: ``None``, or why it could not be."""
        self._adopt(device)
        if not self._open:
            return None
        outcome: dict[str, Any] | None = (await self._run(_connect, [device.id]))[device.id]
        return outcome

    async def remove(self, dev_id: str, *, close: bool = True) -> XenonDeviceAsync:
        """Take a device out of the fleet (a gateway takes its children in the fleet along);
        closes it unless ``close=False``. KeyError when it is not in the fleet."""
        member = self._members[dev_id]
        device = member.device
        leaving = [m for m in self._members.values() if m.device is device or m.device.parent is device]
        for gone in leaving:
            del self._members[gone.device.id]
            gone.release()
            if self.counters is not None:
                self.counters.forget(gone.device.id)
        if close:  # no fleet slot: closing is quick, and the caller may be an operation holding one
            await run_groups(groups_of(m.device for m in leaving), _close, slots=None, concurrency=1)
        return device

    # -- connections -----------------------------------------------------------------------

    async def connect(self, ids: Iterable[str] | None = None) -> dict[str, Any]:
        """Connect the devices (all, or ``ids``): ``{id: None}``, or tinytuya's error dict."""
        self._open = True
        return await self._run(_connect, ids)

    async def close(self) -> None:
        """Close every device and end the update streams (idempotent; leaves nothing behind).

        Operations still running leave the devices whose turn had not come out (with
        tinytuya's 904 dict); a device's request in flight ends as its device closes.
        """
        self._open = False
        self._epoch += 1
        await self._run(_close, None)
        self._updates.close()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def states(self) -> dict[str, StateChange]:
        """Each device's connection state, with its reason and error (a child: its gateway's)."""
        return {dev_id: member.device.last_state_change for dev_id, member in self._members.items()}

    def add_state_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener(device_id, change)`` on every device's state change; returns an
        unsubscribe function."""
        self._state_listeners = (*self._state_listeners, listener)

        def remove() -> None:
            self._state_listeners = tuple(item for item in self._state_listeners if item is not listener)

        return remove

    def _state_changed(self, dev_id: str, change: StateChange) -> None:
        for listener in self._state_listeners:
            try:
                listener(dev_id, change)
            except Exception:  # one listener's defect must not keep the change from the others
                _LOGGER.exception("%s: fleet state listener failed", redact_id(dev_id))

    # -- operations ------------------------------------------------------------------------

    async def run(self, operation: Operation, ids: Iterable[str] | None = None) -> dict[str, Any]:
        """``await operation(device)`` for every device (or ``ids``); outcomes by id.

        An id not in the fleet gets tinytuya's 912 error dict; an exception becomes an error
        dict (logged, when it is not a TuyaError); only cancellation propagates.
        """
        return await self._run(operation, ids)

    async def status(self, ids: Iterable[str] | None = None) -> dict[str, Any]:
        """Every device's ``status()``: ``{id: status or error dict}``."""
        return await self._run(_method("status"), ids)

    async def turn_on(self, switch: int | str = 1, ids: Iterable[str] | None = None) -> dict[str, Any]:
        """``turn_on(switch)`` on every device (or ``ids``): ``{id: result or error dict}``."""
        return await self._run(_method("turn_on", switch), ids)

    async def turn_off(self, switch: int | str = 1, ids: Iterable[str] | None = None) -> dict[str, Any]:
        """``turn_off(switch)`` on every device (or ``ids``): ``{id: result or error dict}``."""
        return await self._run(_method("turn_off", switch), ids)

    async def set_value(
        self, index: int | str, value: Any, ids: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """``set_value(index, value)`` on every device (or ``ids``)."""
        return await self._run(_method("set_value", index, value), ids)

    async def control(self, changes: Mapping[str, Mapping[Any, Any]]) -> dict[str, Any]:
        """Different data points for each device: ``{id: {dp: value, ...}}``, at once."""

        async def apply(device: XenonDeviceAsync) -> Any:
            return await _method("set_multiple_values", changes[device.id])(device)

        return await self._run(apply, changes)

    async def _run(self, operation: Operation, ids: Iterable[str] | None) -> dict[str, Any]:
        if ids is None:
            chosen = [member.device for member in self._members.values()]
            unknown: list[str] = []
        else:
            wanted = list(dict.fromkeys(ids))
            chosen = [self._members[i].device for i in wanted if i in self._members]
            unknown = [i for i in wanted if i not in self._members]
        epoch, members = self._epoch, self._members

        def skip(device: XenonDeviceAsync) -> dict[str, Any] | None:
            member = members.get(device.id)
            if member is None or member.device is not device:
                return tuya.error_json(tuya.ERR_PARAMS, f"{redact_id(device.id)}: removed from this fleet")
            if epoch != self._epoch:
                return error_dict(ConnectionClosedError(f"{redact_id(device.id)}: the fleet was closed"))
            return None

        # An operation calling the fleet again (add, remove, close, another run) must not wait
        # for a slot that it holds itself: nested runs are bounded by their workers alone.
        slots = None if running_for.get() is self else self._semaphore()
        results = await run_groups(
            groups_of(chosen), operation, slots=slots, concurrency=self._concurrency, owner=self, skip=skip
        )
        for dev_id in unknown:
            results[dev_id] = tuya.error_json(tuya.ERR_PARAMS, f"{redact_id(dev_id)}: not in this fleet")
        return results

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots_loop is not loop:
            self._slots, self._slots_loop = asyncio.Semaphore(self._concurrency), loop
        return self._slots

    # -- updates ---------------------------------------------------------------------------

    def updates(self, maxsize: int | None = None) -> UpdateStream:
        """One ``async for`` stream of every device's updates, bounded; ends at :meth:`close`.

        ``maxsize`` defaults to what a stream per device would hold together: 100 updates per
        device in the fleet when the stream is made. One loop pass can read a push from
        every device before the consumer runs, so a bound of 100 for 1,000 devices would drop
        most of a burst that per-device streams keep.
        """
        if maxsize is None:
            maxsize = DEFAULT_QUEUE_SIZE * max(1, len(self._members))
        return self._updates.stream(maxsize)

    def subscribe(self, callback: Callable[[DeviceUpdate], object]) -> Callable[[], None]:
        """Call ``callback(update)`` for every device's updates; returns an unsubscribe function."""
        return self._updates.subscribe(callback)

    def _on_dropped(self, dropped: DeviceUpdate) -> None:
        self._report("update_dropped", device=dropped.device_id, cid=dropped.cid, dropped=1, source="fleet")


async def _connect(device: XenonDeviceAsync) -> None:
    await device.connect(keep_trying=True)  # a persistent device down now is the supervisor's


async def _close(device: XenonDeviceAsync) -> None:
    await device.close()


def _method(name: str, *args: Any) -> Operation:
    async def call(device: XenonDeviceAsync) -> Any:
        method = getattr(device, name, None)
        if method is None:
            return tuya.error_json(tuya.ERR_FUNCTION, f"{type(device).__name__} has no {name}()")
        return await method(*args)

    return call
