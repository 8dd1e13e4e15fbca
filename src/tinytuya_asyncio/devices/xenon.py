"""``XenonDeviceAsync``: tinytuya's ``XenonDevice`` with awaitable methods.

Same constructor arguments, same attribute names, same return values (result dicts,
``None``, or tinytuya's error dicts with the same codes), but no I/O in the constructor,
no blocking, one connection per device shared by every task, and push updates.

    async with XenonDeviceAsync(dev_id, "192.168.1.20", key, version=3.4, persist=True) as dev:
        print(await dev.status())

Where this class deliberately differs from the sync one, the README's migration table
says so and why. The class is a façade: tinytuya's setters (:mod:`.settings`), gateway
children and routing (:mod:`.gateway`), the status caches (:mod:`.status_cache`), the
``receive()`` backlog (:mod:`.receiver`), device22 detection (:mod:`.device22`) and the
payload builder (:mod:`.builders`) each live in a module of their own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final, Self

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.link import DeviceLink
from tinytuya_asyncio.connection.pairing import Answer, Reply, ReplyRule
from tinytuya_asyncio.connection.state import ConnectionState, StateChange
from tinytuya_asyncio.devices import device22
from tinytuya_asyncio.devices.builders import BuilderCache, NamedPayload, named_dps
from tinytuya_asyncio.devices.errors import error_dict
from tinytuya_asyncio.devices.gateway import Children
from tinytuya_asyncio.devices.receiver import PushBacklog
from tinytuya_asyncio.devices.redact import redact_id
from tinytuya_asyncio.devices.settings import TinytuyaSettings
from tinytuya_asyncio.devices.status_cache import MAX_CACHED_KEYS, StatusCache
from tinytuya_asyncio.devices.updates import (
    DEFAULT_QUEUE_SIZE,
    DeviceUpdate,
    UpdateHub,
    UpdateStream,
    new_update,
)
from tinytuya_asyncio.exceptions import LocalProtocolError, TuyaError
from tinytuya_asyncio.metrics import MetricsSink, Reporter
from tinytuya_asyncio.protocol.dps import changed_dps, dps_of, merge_results
from tinytuya_asyncio.protocol.frames import command_of_frame
from tinytuya_asyncio.protocol.payloads import PayloadBuilder
from tinytuya_asyncio.protocol.results import is_data_unvalid
from tinytuya_asyncio.protocol.versions import version_spec
from tinytuya_asyncio.scanner.resolve import resolve_address

_LOGGER = logging.getLogger(__name__)

#: Default seconds between automatic heartbeats on an idle persistent connection. Devices
#: drop connections idle for about 30 s; tinytuya's docs suggest beating every 9-12 s.
DEFAULT_HEARTBEAT_INTERVAL: Final = 10.0
_AUTO_ADDRESSES: Final = frozenset({"", "Auto", "0.0.0.0"})  # noqa: S104 - tinytuya's "find it" markers

_SOCKET_GONE: Final = frozenset(
    {ConnectionState.DISCONNECTED, ConnectionState.RECONNECTING, ConnectionState.CLOSED}
)

#: How a command's answer is recognised when the caller does not say (see ReplyRule).
_RULES: Final = {
    tuya.HEART_BEAT: ReplyRule.ACK,
    tuya.CONTROL: ReplyRule.CONTROL,
    tuya.CONTROL_NEW: ReplyRule.CONTROL,
    tuya.UPDATEDPS: ReplyRule.CONTROL,
}

_RAW_FRAME: Final = (bytes, bytearray)
#: Commands that must not be carried out twice when a connection breaks under them.
_NOT_TWICE: Final = frozenset({tuya.CONTROL, tuya.CONTROL_NEW})
#: Commands whose answer reports the data points they name (see connection/pairing.py).
_NAMES_DPS: Final = frozenset({tuya.CONTROL, tuya.CONTROL_NEW, tuya.UPDATEDPS})
_ERR_DEVTYPE: Final = str(tuya.ERR_DEVTYPE)

PayloadLike = Any  # tinytuya.MessagePayload (cmd, payload) or raw frame bytes


class XenonDeviceAsync(TinytuyaSettings):
    """A Tuya device on the LAN; see the module docstring."""

    # tinytuya's attributes whose value rarely differs from the default live here, and an
    # instance gets its own only when it does: CPython keeps an object's attributes compact
    # while its class has at most 30 attribute names, and at 34 each device's dict took
    # 1.6 KiB more (docs/BENCHMARKS.md, memory per connection).
    cid: str | None = None
    parent: XenonDeviceAsync | None = None
    dev_type: str = "default"
    dev_type_auto: bool = True
    #: No address given: it is looked up by broadcast at the first connect, and again after a
    #: connect to the address found fails (the device moved).
    auto_ip: bool = False
    max_simultaneous_dps: int = 0
    retry: bool = True
    disabledetect: bool = False
    socketNODELAY: bool = True
    sendWait: float | None = 0.01
    cmd_retcode: int | None = None
    _probing: bool = False
    #: Set once the device has overflowed its status cache (and been warned about).
    _cache_overflow_told: bool = False

    def __init__(  # noqa: PLR0917 - tinytuya's positional signature
        self,
        dev_id: str,
        address: str | None = None,
        local_key: str | bytes = "",
        dev_type: str = "default",
        connection_timeout: float = 5,
        version: float | str = 3.1,
        persist: bool = False,
        cid: str | None = None,
        node_id: str | None = None,
        parent: XenonDeviceAsync | None = None,
        connection_retry_limit: int = 5,
        connection_retry_delay: float = 5,
        port: int = tuya.TCPPORT,
        max_simultaneous_dps: int = 0,
        *,
        heartbeat_interval: float | None = DEFAULT_HEARTBEAT_INTERVAL,
        heartbeat_timeout: float | None = None,
        backoff: Backoff | None = None,
        metrics: MetricsSink | None = None,
        min_interval: float = 0.0,
        max_waiting: int | None = None,
    ) -> None:
        """Store the configuration; nothing touches the network until the first request.

        The positional arguments are tinytuya's. The keyword-only ones are new:
        ``heartbeat_interval`` (seconds between automatic heartbeats on an idle persistent
        connection, ``None`` to disable), ``heartbeat_timeout`` (seconds to wait for any frame
        after a heartbeat; defaults to ``connection_timeout``), ``backoff`` (the reconnect
        policy of a persistent connection), ``metrics`` (an event sink for this device),
        ``min_interval`` (seconds between two commands to the device, 0 for none, as
        tinytuya) and ``max_waiting`` (requests that may queue for the device, ``None`` for
        any number; beyond it callers wait up to ``connection_timeout`` for a place, then get
        tinytuya's 902 error dict). A gateway child uses its gateway's connection and limits.
        """
        self.id = dev_id
        if cid or node_id:
            self.cid = cid if cid else node_id
        self._address = address
        if parent is None and (address is None or address in _AUTO_ADDRESSES):
            self.auto_ip = True
        self._port = port
        if dev_type != "default":
            self.dev_type = dev_type
            self.dev_type_auto = False
        self.connection_timeout = connection_timeout
        self.socketPersistent = bool(persist)
        self.socketRetryLimit = connection_retry_limit
        self.socketRetryDelay = connection_retry_delay
        self.dps_to_request: dict[str, Any] = {}
        self.dps_cache: dict[str, Any] = {}
        if parent is not None:
            self.parent = parent
        self.children: Children[XenonDeviceAsync] = Children()
        if max_simultaneous_dps:
            self.max_simultaneous_dps = max_simultaneous_dps
        self.local_key = local_key.encode("latin1") if isinstance(local_key, str) else bytes(local_key)
        self._cache = StatusCache()
        self._builders = BuilderCache()
        self._updates = UpdateHub(self._on_updates_dropped)
        self._backlog = PushBacklog(on_dropped=self._on_receive_dropped)
        self._report = Reporter(dev_id, metrics)  # the full id: sinks tell devices apart by it
        if parent is not None:
            self._set_version_fields(parent._spec)
        else:
            self._set_version_fields(version_spec(version if version else 3.1))
        self._link: DeviceLink = (
            self._make_link(heartbeat_interval, heartbeat_timeout, backoff, min_interval, max_waiting)
            if parent is None
            else parent._link
        )
        if parent is not None:
            parent._register_child(self)
        else:
            self._link.set_push_handler(self._on_push)
            self._link.add_state_listener(self._on_state_change)

    def _make_link(
        self,
        heartbeat_interval: float | None,
        heartbeat_timeout: float | None,
        backoff: Backoff | None,
        min_interval: float,
        max_waiting: int | None,
    ) -> DeviceLink:
        host = "" if self.auto_ip else self._address or ""
        return DeviceLink(
            name=f"{redact_id(self.id)}@{host}:{self._port}",
            host=host,
            port=self._port,
            version=self._spec,
            local_key=self.local_key,
            timeout=self.connection_timeout,
            retry_limit=self.socketRetryLimit,
            retry_delay=self.socketRetryDelay,
            persist=self.socketPersistent,
            make_heartbeat_payload=self._heartbeat_body,  # not built here: most devices never beat
            heartbeat_interval=heartbeat_interval,
            heartbeat_timeout=heartbeat_timeout,
            backoff=backoff or Backoff(),
            report=self._report,
            dev_id=self.id,
            resolve_host=self._resolve_host if self.auto_ip else None,
            min_interval=min_interval,
            max_waiting=max_waiting,
        )

    async def _resolve_host(self, failed: bool) -> str:
        """The address of an "Auto" device: cached, or heard within ``connection_timeout``.

        Raises DeviceNotFoundError (tinytuya's 905) when the device is not heard; a device
        found at a new address may also have a new protocol version, which is adopted.
        """
        if self._address and self._address not in _AUTO_ADDRESSES and not failed:
            return self._address
        found = await resolve_address(self.id, timeout=self.connection_timeout, refresh=failed)
        self._address = found.ip  # the address found; the device stays "Auto"
        if found.version and found.version != self._spec.text:
            spec = version_spec(found.version)
            self._set_version_fields(spec)
            self._link.version = spec
            for child in self.children.values():
                child._set_version_fields(spec)
        return found.ip

    @property
    def version(self) -> float:
        """The protocol version as a number (3.1 to 3.5); setting it is :meth:`set_version`."""
        return self._spec.number

    @version.setter
    def version(self, version: float | str) -> None:
        self.set_version(version)

    @property
    def version_str(self) -> str:
        """The version as tinytuya spells it, for example ``"v3.4"``."""
        return "v" + self._spec.text

    @property
    def version_bytes(self) -> bytes:
        """The version as it appears on the wire, for example ``b"3.4"``."""
        return self._spec.version_bytes

    @property
    def version_header(self) -> bytes:
        """The 15-byte version header some frames carry (the version bytes and 12 NULs)."""
        return self._spec.header

    @property
    def address(self) -> str | None:
        """The device's IP address (for an "Auto" device, the one found once looked up).

        Setting it takes effect at the next connect, as in tinytuya; ``"Auto"`` or ``None``
        makes the device look its address up again.
        """
        return self._address

    @address.setter
    def address(self, address: str | None) -> None:
        self._address = address
        if self.parent is not None:
            return  # children use their parent's connection
        self.auto_ip = address is None or address in _AUTO_ADDRESSES
        self._link.host = "" if self.auto_ip else address or ""
        self._link.resolve_host = self._resolve_host if self.auto_ip else None

    @property
    def port(self) -> int:
        """The device's TCP port; setting it takes effect at the next connect."""
        return self._port

    @port.setter
    def port(self, port: int) -> None:
        self._port = port
        if self.parent is None:
            self._link.port = port

    @property
    def min_interval(self) -> float:
        """Seconds between two commands to the device (0: no limit; a child: its gateway's)."""
        return self._link.min_interval

    @min_interval.setter
    def min_interval(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("min_interval cannot be negative")
        self._own_link("min_interval").min_interval = seconds

    @property
    def max_waiting(self) -> int | None:
        """Requests that may queue for the device (``None``: any number; a child: its gateway's)."""
        return self._link.max_waiting

    @max_waiting.setter
    def max_waiting(self, limit: int | None) -> None:
        self._own_link("max_waiting").max_waiting = limit

    def _own_link(self, setting: str) -> DeviceLink:
        if self.parent is not None:  # the connection, and its limits, serve every sibling
            raise LocalProtocolError(f"{setting} of a gateway child is its gateway's: set it there")
        return self._link

    @property
    def metrics(self) -> MetricsSink | None:
        """This device's event sink (``None``: the process default); settable at any time.

        A gateway's sink also hears the traffic of its children's requests (tagged with
        their ``cid``); a child's own sink hears its error dicts and dropped updates.
        """
        return self._report.sink

    @metrics.setter
    def metrics(self, sink: MetricsSink | None) -> None:
        self._report.sink = sink

    def __repr__(self) -> str:
        parent = self.parent.id if self.parent else None
        return (
            f"{type(self).__name__}({self.id!r}, address={self.address!r}, local_key='<redacted>', "
            f"dev_type={self.dev_type!r}, connection_timeout={self.connection_timeout!r}, "
            f"version={self.version!r}, persist={self.socketPersistent!r}, cid={self.cid!r}, "
            f"parent={parent!r}, children={list(self.children)!r})"
        )

    # -- connection ------------------------------------------------------------------------

    async def connect(self, *, keep_trying: bool = False) -> None:
        """Open the connection now (requests otherwise connect on first use).

        Raises a :class:`~tinytuya_asyncio.TuyaError` subclass when the device cannot be
        reached or the key is wrong (this is new API, so it raises instead of returning an
        error dict). A gateway child opens its parent's connection, unless the parent was
        closed: then it raises :class:`~tinytuya_asyncio.ConnectError` (see :mod:`.gateway`).
        ``keep_trying=True`` (persistent devices): after a failure, the reconnect supervisor
        goes on trying in the background, with backoff, as after a lost connection.
        """
        if self.parent is not None:
            self.parent.children.check_open(self._link.state, self.id)
        await self._link.connect(keep_trying=keep_trying)

    async def close(self) -> None:
        """Close the connection, stop heartbeats and reconnects, end update streams (idempotent).

        A gateway child only ends its own update streams: the connection is its parent's, and
        the child works again when used. Closing a gateway ends its children's requests and
        streams too; their later requests answer an error until the gateway is used again.
        Using a device (or gateway) again after ``close()`` reconnects, as tinytuya does.
        """
        if self.parent is not None:
            self._updates.close()
            return
        children = self.children
        children.closing = True
        try:
            await self._link.close()
        finally:
            children.closing = False
        self._updates.close()
        if children.updates is not None:
            children.updates.close()
        for child in children.values():
            child._updates.close()
        self.cache_clear()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def state(self) -> ConnectionState:
        """The connection's state (shared with the parent for gateway children).

        ``BulbDeviceAsync`` uses this name for tinytuya's ``state()`` method; code that
        handles every kind of device reads :attr:`connection_state`.
        """
        return self._link.state

    @property
    def connection_state(self) -> ConnectionState:
        """The connection's state, under a name no device class reuses."""
        return self._link.state

    @property
    def last_state_change(self) -> StateChange:
        """The latest state change, with its reason and error."""
        return self._link.last_change

    def add_state_listener(self, listener: Callable[[StateChange], None]) -> Callable[[], None]:
        """Call ``listener`` on every connection state change; returns an unsubscribe function."""
        return self._link.add_state_listener(listener)

    def wake(self) -> None:
        """Make a reconnecting device retry now (for example when its broadcast was just seen)."""
        self._link.wake()

    # -- push updates ----------------------------------------------------------------------

    def subscribe(
        self, callback: Callable[[DeviceUpdate], object], *, children: bool = False
    ) -> Callable[[], None]:
        """Call ``callback(update)`` for each :class:`DeviceUpdate`; returns an unsubscribe function.

        Pushes flow while a connection is open, so use ``persist=True`` to stream them. A
        gateway's updates are its own; ``children=True`` adds every sub-device's, each
        tagged with its ``cid`` (see :mod:`.gateway`).
        """
        return self._hub(children).subscribe(callback)

    def updates(self, maxsize: int = DEFAULT_QUEUE_SIZE, *, children: bool = False) -> UpdateStream:
        """An ``async for`` stream of :class:`DeviceUpdate` with a bounded queue.

        Iteration ends when the device (or its gateway) is closed. Use ``persist=True`` to
        stream pushes. ``children=True`` as for :meth:`subscribe`.
        """
        return self._hub(children).stream(maxsize)

    def _hub(self, children: bool) -> UpdateHub:
        if not children:
            return self._updates
        if self.parent is not None:
            raise ValueError("children=True is for a gateway; a child's updates are its own")
        return self.children.hub(self._on_updates_dropped)

    def _on_receive_dropped(self, dropped: int) -> None:
        self._report("update_dropped", cid=self.cid, dropped=dropped, source="receive")

    def _on_updates_dropped(self, dropped: DeviceUpdate) -> None:
        self._report("update_dropped", cid=dropped.cid, dropped=1, source="updates")

    def _on_push(self, answer: Answer) -> None:
        result = answer.result  # decoded for this frame alone: ours to tag and keep
        children = self.children
        cid = children.cid_of(result)
        if cid is None:
            self._absorb(result, pushed=True)
        elif (child := children.for_cid(cid, result)) is not None:
            child._absorb(result, pushed=True)
            child._backlog.put(result)
        else:
            self._stray(cid, result)
        self._backlog.put(result)  # a gateway's receive() returns every push, as tinytuya's

    def _stray(self, cid: str, result: dict[str, Any]) -> None:
        """A push about a sub-device no child object stands for: only ``children=True`` hears it."""
        everyone = self.children.updates
        dps = dps_of(result)
        if everyone and dps:
            everyone.publish(
                DeviceUpdate(device_id=self.id, cid=cid, changed=dict(dps), dps=dict(dps), result=result)
            )

    def _on_state_change(self, change: StateChange) -> None:
        if change.state in _SOCKET_GONE:
            self.cache_clear()  # tinytuya drops the last-status cache with the socket
            for child in self.children.values():
                child.cache_clear()

    def _cache_overflowed(self) -> None:
        # Once per device at WARNING: a device that keeps inventing ids would flood the log.
        level = logging.DEBUG if self._cache_overflow_told else logging.WARNING
        self._cache_overflow_told = True
        _LOGGER.log(
            level,
            "%s: the device reports more than %d data points; new ones are left out of its cache",
            redact_id(self.id),
            MAX_CACHED_KEYS,
        )

    def _absorb(self, result: dict[str, Any], *, pushed: bool) -> None:
        """Cache a decoded frame (as tinytuya's ``_cache_response``) and publish an update."""
        cache = self._cache
        everyone = (self.parent or self).children.updates  # the gateway's children=True subscribers
        if self._updates or everyone:
            dps = dps_of(result)
            # A push reports what changed: its own DPs (decoded for it alone) are the change.
            changed = dps if pushed else changed_dps(dps_of(cache.historic), dps)
        else:
            changed = {}  # nobody listens: only the caches need the frame
        # A child's cache follows its parent's connection, persistent or not.
        if cache.absorb(result, live=self._link.persist and self._link.connected):
            self._cache_overflowed()
        if changed:
            known = dict(dps_of(cache.historic))
            update = new_update(self.id, self.cid, changed, known, result, pushed=pushed)
            self._updates.publish(update)
            if everyone:
                everyone.publish(update)

    # -- requests --------------------------------------------------------------------------

    async def _send_receive(
        self, payload: PayloadLike, *, getresponse: bool = True, rule: ReplyRule | None = None
    ) -> dict[str, Any] | None:
        """Send and shape the answer as tinytuya's ``_send_receive`` does.

        ``payload`` is a ``MessagePayload`` or an already-encoded frame. Returns the decoded
        result, ``None`` (no answer expected, or only an ack), or an error dict; never raises.
        """
        link = self._link
        self.cmd_retcode = None
        try:
            if self.parent is not None:
                self.parent.children.check_open(link.state, self.id)
            if isinstance(payload, _RAW_FRAME):
                frame = bytes(payload)
                if not getresponse:
                    await link.send_frame(frame)
                    return None
                cmd = command_of_frame(frame)
                reply = await link.request(
                    cmd,
                    b"",
                    cid=self.cid,
                    rule=rule or _RULES.get(cmd, ReplyRule.QUERY),
                    frame=frame,
                    resend=False,  # what it does is unknown: never twice
                )
            elif not getresponse:
                await link.send(payload.cmd, payload.payload)
                return None
            else:
                reply = await link.request(
                    payload.cmd,
                    payload.payload,
                    cid=self.cid,
                    rule=rule or _RULES.get(payload.cmd, ReplyRule.QUERY),
                    dps=getattr(payload, "dps", None),
                    stop_at_ack=not self.retry,
                    resend=payload.cmd not in _NOT_TWICE,
                )
        except TuyaError as exc:
            _LOGGER.debug("%s: request failed: %s", redact_id(self.id), exc)
            return self._failed(exc)
        return self._process_reply(reply)

    def _failed(self, exc: TuyaError) -> dict[str, Any]:
        """tinytuya's error dict for ``exc``, reported as an ``error`` event."""
        self._report("error", cid=self.cid, code=exc.err_code, error=type(exc).__name__, message=str(exc))
        return error_dict(exc)

    def _process_reply(self, reply: Reply) -> dict[str, Any] | None:
        if not reply.answers:
            return None
        first = reply.answers[0]
        self.cmd_retcode = first.message.retcode
        if is_data_unvalid(first.message):
            return self._on_data_unvalid()
        result = first.result  # decoded for this reply alone: ours to keep
        for answer in reply.answers[1:]:  # a status split over several frames
            merge_results(result, answer.result)
        if "Err" in result:
            return result
        owner = self.parent or self
        target = owner.children.for_result(result) or self
        target._absorb(result, pushed=False)
        return result

    def _on_data_unvalid(self) -> dict[str, Any] | None:
        """device22 firmware rejects a plain status query: switch the query style, as tinytuya does."""
        if not device22.switches_to_device22(
            version=self.version, dev_type=self.dev_type, disabledetect=self.disabledetect
        ):
            return None
        _LOGGER.debug("%s: 'data unvalid': switching to dev_type device22", redact_id(self.id))
        self.dev_type = "device22"
        self.dps_to_request = {"1": None}
        return tuya.error_json(tuya.ERR_DEVTYPE)

    async def status(self, nowait: bool = False) -> dict[str, Any] | None:
        """The device's data points: ``{"dps": {...}, ...}``, or an error dict."""
        if device22.needs_probe(
            version=self.version, dps_to_request=self.dps_to_request, probing=self._probing
        ):
            await self.detect_available_dps()
        query = ReplyRule.QUERY  # device22 queries travel as CONTROL_NEW but are queries
        data = await self._send_receive(
            self.generate_payload(tuya.DP_QUERY), getresponse=not nowait, rule=query
        )
        if not nowait and data and data.get("Err") == _ERR_DEVTYPE:
            data = await self._send_receive(self.generate_payload(tuya.DP_QUERY), rule=query)
        return data

    async def cached_status(self, historic: bool = False, nowait: bool = False) -> dict[str, Any] | None:
        """The last known status of a persistent connection (kept fresh by pushes).

        ``historic=True`` returns every DP ever seen. Without a cache, calls :meth:`status`
        (or returns ``None`` when ``nowait``).
        """
        if historic:
            return self._cache.historic
        last = self._cache.current() if self._link.persist and self._link.connected else None
        if last is None:
            return None if nowait else await self.status()
        return last

    def cache_clear(self) -> None:
        """Forget the last status (tinytuya's ``cache_clear``); the historic one stays."""
        self._cache.clear()

    async def subdev_query(self, nowait: bool = False) -> dict[str, Any] | None:
        """Ask a gateway for its sub-devices and whether they are online."""
        payload = self.generate_payload(
            tuya.LAN_EXT_STREAM, rawData={"cids": []}, reqType="subdev_online_stat_query"
        )
        return await self._send_receive(payload, getresponse=not nowait)

    async def detect_available_dps(self) -> dict[str, Any]:
        """Which DPs the device has (probing ranges for device22 firmware)."""
        self._probing = True
        try:
            return await device22.probe_dps(self)
        finally:
            self._probing = False

    async def receive(self) -> dict[str, Any] | None:
        """The next pushed update, or ``None`` if none arrives within ``connection_timeout``.

        On a gateway: every push, its children's included (tagged with ``result["device"]``),
        as tinytuya's. On a child: its own pushes, waiting the child's ``connection_timeout``.
        """
        kept = self._backlog.take_now()
        if kept is not None:
            return kept
        try:
            await self.connect()
        except TuyaError as exc:
            return self._failed(exc)
        try:
            return await self._backlog.wait(self.connection_timeout)
        finally:
            await self._link.release()

    async def send(self, payload: PayloadLike) -> dict[str, Any] | None:
        """Send a ``MessagePayload`` (or raw frame bytes) without waiting; ``None`` or an error dict."""
        return await self._send_receive(payload, getresponse=False)

    # -- gateway children ------------------------------------------------------------------

    def _register_child(self, child: XenonDeviceAsync) -> None:
        self.children.add(child)
        # Gateways answer "json obj data unvalid" to a status query without a cid.
        self.disabledetect = True

    # -- payloads --------------------------------------------------------------------------

    def _payload_builder(self) -> PayloadBuilder:
        """The builder for the current settings (kept until version, type or children change)."""
        parent = self.parent
        return self._builders.get(
            self._spec,
            self.id,
            self.dev_type,
            self.cid,
            parent.id if parent is not None else None,
            bool(self.children),
        )

    def _heartbeat_body(self) -> bytes:
        return self._payload_builder().build(tuya.HEART_BEAT, t=0)[1]

    def generate_payload(  # noqa: PLR0917 - tinytuya's positional signature
        self,
        command: int,
        data: Any = None,
        gwId: str | None = None,
        devId: str | None = None,
        uid: str | None = None,
        rawData: Any = None,
        reqType: str | None = None,
    ) -> Any:
        """Build the request for ``command`` as a tinytuya ``MessagePayload(cmd, payload)``."""
        if command in (tuya.DP_QUERY, tuya.DP_QUERY_NEW):
            self._cache.have_status = True
        wire_cmd, body = self._payload_builder().build(
            command,
            t=int(time.time()),
            data=data,
            gw_id=gwId,
            dev_id=devId,
            uid=uid,
            raw_data=rawData,
            req_type=reqType,
            query_dps=self.dps_to_request,
        )
        if wire_cmd in _NAMES_DPS:
            return NamedPayload(wire_cmd, body, named_dps(data))
        return tuya.MessagePayload(wire_cmd, body)
