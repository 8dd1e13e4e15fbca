"""``XenonDeviceAsync``: tinytuya's ``XenonDevice`` with awaitable methods.

Same constructor arguments, same attribute names, same return values (result dicts,
``None``, or tinytuya's error dicts with the same codes), but no I/O in the constructor,
no blocking, one connection per device shared by every task, and push updates.

    async with XenonDeviceAsync(dev_id, "192.168.1.20", key, version=3.4, persist=True) as dev:
        print(await dev.status())

Where this class deliberately differs from the sync one, the README's migration table
says so and why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Final, Self

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.connection.backoff import Backoff
from tinytuya_asyncio.connection.conn import Answer, Reply, ReplyRule
from tinytuya_asyncio.connection.link import DeviceLink
from tinytuya_asyncio.connection.state import ConnectionState, StateChange
from tinytuya_asyncio.devices.errors import error_dict
from tinytuya_asyncio.devices.updates import DEFAULT_QUEUE_SIZE, DeviceUpdate, UpdateHub, UpdateStream
from tinytuya_asyncio.exceptions import LocalProtocolError, TuyaError
from tinytuya_asyncio.metrics import MetricsSink, Reporter
from tinytuya_asyncio.protocol.dps import changed_dps, dps_of, merge_results
from tinytuya_asyncio.protocol.payloads import PayloadBuilder
from tinytuya_asyncio.protocol.results import is_data_unvalid, result_cid
from tinytuya_asyncio.protocol.versions import VersionSpec, version_spec

_LOGGER = logging.getLogger(__name__)

#: Default seconds between automatic heartbeats on an idle persistent connection. Devices
#: drop connections idle for about 30 s; tinytuya's docs suggest beating every 9-12 s.
DEFAULT_HEARTBEAT_INTERVAL: Final = 10.0
#: Pushes kept for ``receive()`` callers (tinytuya's equivalent is the socket buffer).
RECEIVE_BACKLOG: Final = 64
_AUTO_ADDRESSES: Final = frozenset({"", "Auto", "0.0.0.0"})  # noqa: S104 - tinytuya's "find it" markers
#: device22 status queries probe these DP ranges, a few at a time (request size is limited).
_DETECT_RANGES: Final = (
    (2, 11),
    (11, 21),
    (21, 31),
    (50, 61),
    (61, 71),
    (100, 111),
    (111, 121),
    (121, 131),
    (131, 141),
)

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
_ERR_DEVTYPE: Final = str(tuya.ERR_DEVTYPE)

PayloadLike = Any  # tinytuya.MessagePayload (cmd, payload) or raw frame bytes


def redact_id(dev_id: str) -> str:
    """A device id shortened for logs (ids are credentials for the cloud API)."""
    return dev_id if len(dev_id) <= 8 else f"{dev_id[:4]}…{dev_id[-4:]}"


class XenonDeviceAsync:
    """A Tuya device on the LAN; see the module docstring."""

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
    ) -> None:
        """Store the configuration; nothing touches the network until the first request.

        The positional arguments are tinytuya's. The keyword-only ones are new:
        ``heartbeat_interval`` (seconds between automatic heartbeats on an idle persistent
        connection, ``None`` to disable), ``heartbeat_timeout`` (seconds to wait for any frame
        after a heartbeat; defaults to ``connection_timeout``), ``backoff`` (the reconnect
        policy of a persistent connection) and ``metrics`` (an event sink for this device).
        """
        self.id = dev_id
        self.cid = cid if cid else node_id
        self.address = address
        self.port = port
        self.dev_type = dev_type
        self.dev_type_auto = dev_type == "default"
        self.connection_timeout = connection_timeout
        self.retry = True
        self.disabledetect = False
        self.socketPersistent = bool(persist)
        self.socketNODELAY = True
        self.socketRetryLimit = connection_retry_limit
        self.socketRetryDelay = connection_retry_delay
        self.sendWait: float | None = 0.01
        self.dps_to_request: dict[str, Any] = {}
        self.dps_cache: dict[str, Any] = {}
        self.parent = parent
        self.children: dict[str, XenonDeviceAsync] = {}
        self.max_simultaneous_dps = max_simultaneous_dps or 0
        self.cmd_retcode: int | None = None
        self.local_key = local_key.encode("latin1") if isinstance(local_key, str) else bytes(local_key)
        self._historic_status: dict[str, Any] = {}
        self._last_status: dict[str, Any] = {}
        self._have_status = False
        self._detecting = False
        self._builder: PayloadBuilder | None = None
        self._updates = UpdateHub(self._on_updates_dropped)
        self._received: deque[dict[str, Any]] = deque(maxlen=RECEIVE_BACKLOG)
        self._receive_waiter: asyncio.Future[None] | None = None
        self._report = Reporter(redact_id(dev_id), metrics)
        self.version = 0.0
        self.version_str = ""
        self.version_bytes = b""
        self.version_header = b""
        self._spec: VersionSpec
        if parent is not None:
            self._set_version_fields(parent._spec)
        else:
            self._set_version_fields(version_spec(version if version else 3.1))
        self._link: DeviceLink = (
            self._make_link(heartbeat_interval, heartbeat_timeout, backoff)
            if parent is None
            else parent._link
        )
        if parent is not None:
            parent._register_child(self)
        else:
            self._link.set_push_handler(self._on_push)
            self._link.add_state_listener(self._on_state_change)

    def _make_link(
        self, heartbeat_interval: float | None, heartbeat_timeout: float | None, backoff: Backoff | None
    ) -> DeviceLink:
        host = self.address or ""
        return DeviceLink(
            name=f"{redact_id(self.id)}@{host}:{self.port}",
            host=host,
            port=self.port,
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
        )

    def __repr__(self) -> str:
        parent = self.parent.id if self.parent else None
        return (
            f"{type(self).__name__}({self.id!r}, address={self.address!r}, local_key='<redacted>', "
            f"dev_type={self.dev_type!r}, connection_timeout={self.connection_timeout!r}, "
            f"version={self.version!r}, persist={self.socketPersistent!r}, cid={self.cid!r}, "
            f"parent={parent!r}, children={list(self.children)!r})"
        )

    # -- connection ------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open the connection now (requests otherwise connect on first use).

        Raises a :class:`~tinytuya_asyncio.TuyaError` subclass when the device cannot be
        reached or the key is wrong (this is new API, so it raises instead of returning an
        error dict).
        """
        self._check_address()
        await self._link.connect()

    async def close(self) -> None:
        """Close the connection, stop heartbeats and reconnects, end update streams (idempotent).

        A gateway child leaves its parent's connection alone. Using the device again after
        ``close()`` reconnects, as tinytuya does.
        """
        if self.parent is not None:
            self._updates.close()
            return
        await self._link.close()
        self._updates.close()
        for child in self.children.values():
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
        """The connection's state (shared with the parent for gateway children)."""
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

    def _check_address(self) -> None:
        if self.parent is None and (self.address is None or self.address in _AUTO_ADDRESSES):
            raise LocalProtocolError(
                f"device {redact_id(self.id)} has no address: pass its IP address "
                "(automatic discovery of the address is not available yet)"
            )

    # -- push updates ----------------------------------------------------------------------

    def subscribe(self, callback: Callable[[DeviceUpdate], object]) -> Callable[[], None]:
        """Call ``callback(update)`` for each :class:`DeviceUpdate`; returns an unsubscribe function.

        Pushes flow while a connection is open, so use ``persist=True`` to stream them.
        """
        return self._updates.subscribe(callback)

    def updates(self, maxsize: int = DEFAULT_QUEUE_SIZE) -> UpdateStream:
        """An ``async for`` stream of :class:`DeviceUpdate` with a bounded queue.

        Iteration ends when the device is closed. Use ``persist=True`` to stream pushes.
        """
        return self._updates.stream(maxsize)

    def _on_updates_dropped(self, dropped: int) -> None:
        self._report("update_dropped", dropped=dropped)

    def _on_push(self, answer: Answer) -> None:
        result = dict(answer.result)
        target = self._child_for(result) or self
        target._absorb(result, pushed=True)
        target._received.append(result)
        target._wake_receiver()

    def _on_state_change(self, change: StateChange) -> None:
        if change.state in _SOCKET_GONE:
            self.cache_clear()  # tinytuya drops the last-status cache with the socket
            for child in self.children.values():
                child.cache_clear()

    def _child_for(self, result: dict[str, Any]) -> XenonDeviceAsync | None:
        """The registered child a result is about; tags the result as tinytuya does."""
        if not self.children:
            return None
        cid = result_cid(result)
        if cid is None:
            return None
        for child in self.children.values():
            if child.cid == cid:
                result["device"] = child
                return child
        return None

    def _absorb(self, result: dict[str, Any], *, pushed: bool) -> None:
        """Cache a decoded frame (as tinytuya's ``_cache_response``) and publish an update."""
        if self._updates:
            dps = dps_of(result)
            changed = dict(dps) if pushed else changed_dps(dps_of(self._historic_status), dps)
        else:
            changed = {}  # nobody listens: only the caches need the frame
        merge_results(self._historic_status, result)
        if self.socketPersistent and self._link.connected:
            merge_results(self._last_status, result)
        if changed:
            self._updates.publish(
                DeviceUpdate(
                    device_id=self.id,
                    cid=self.cid,
                    changed=changed,
                    dps=dict(dps_of(self._historic_status)),
                    result=result,
                    pushed=pushed,
                )
            )

    # -- requests --------------------------------------------------------------------------

    async def _send_receive(
        self, payload: PayloadLike, *, getresponse: bool = True, rule: ReplyRule | None = None
    ) -> dict[str, Any] | None:
        """Send and shape the answer as tinytuya's ``_send_receive`` does.

        Returns the decoded result, ``None`` (no answer expected, or only an ack), or an
        error dict; never raises a :class:`TuyaError`.
        """
        self._check_address()
        if getresponse and isinstance(payload, _RAW_FRAME):
            raise LocalProtocolError("raw frames can only be sent without waiting (send())")
        link = self._link
        self.cmd_retcode = None
        try:
            if not getresponse:
                if isinstance(payload, _RAW_FRAME):
                    await link.send_frame(bytes(payload))
                else:
                    await link.send(payload.cmd, payload.payload)
                return None
            rule = rule or _RULES.get(payload.cmd, ReplyRule.QUERY)
            reply = await link.request(payload.cmd, payload.payload, cid=self.cid, rule=rule)
        except TuyaError as exc:
            _LOGGER.debug("%s: request failed: %s", redact_id(self.id), exc)
            return error_dict(exc)
        return self._process_reply(reply)

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
        target = owner._child_for(result) or self
        target._absorb(result, pushed=False)
        return result

    def _on_data_unvalid(self) -> dict[str, Any] | None:
        """device22 firmware rejects a plain status query: switch the query style, as tinytuya does."""
        if self.disabledetect or self.version not in (3.3, 3.4) or self.dev_type == "device22":
            return None
        _LOGGER.debug("%s: 'data unvalid': switching to dev_type device22", redact_id(self.id))
        self.dev_type = "device22"
        self.dps_to_request = {"1": None}
        return tuya.error_json(tuya.ERR_DEVTYPE)

    async def status(self, nowait: bool = False) -> dict[str, Any] | None:
        """The device's data points: ``{"dps": {...}, ...}``, or an error dict."""
        if self.version == 3.2 and not self.dps_to_request and not self._detecting:
            # tinytuya probes a 3.2 device's DPs in its constructor; we do it on first use.
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
            return self._historic_status
        if not (self._have_status and self.socketPersistent and self._link.connected and self._last_status):
            return None if nowait else await self.status()
        return self._last_status

    def cache_clear(self) -> None:
        if self._last_status:  # runs on every disconnect: no new dict when there is nothing to clear
            self._last_status = {}
        self._have_status = False

    async def subdev_query(self, nowait: bool = False) -> dict[str, Any] | None:
        """Ask a gateway for its sub-devices and whether they are online."""
        payload = self.generate_payload(
            tuya.LAN_EXT_STREAM, rawData={"cids": []}, reqType="subdev_online_stat_query"
        )
        return await self._send_receive(payload, getresponse=not nowait)

    async def detect_available_dps(self) -> dict[str, Any]:
        """Which DPs the device has (probing ranges for device22 firmware)."""
        self.dps_cache = {}
        self._detecting = True
        try:
            for low, high in _DETECT_RANGES:
                dev_type = self.dev_type
                self.dps_to_request = {"1": None}  # DP 1 always, or a range with none fails
                self.add_dps_to_request(range(low, high))
                data = await self.status()
                if self.dev_type != dev_type:
                    # The device turned out to be device22 and the query was re-sent for DP 1
                    # only; probe this range again (tinytuya skips it and misses its DPs).
                    self.dps_to_request = {"1": None}
                    self.add_dps_to_request(range(low, high))
                    data = await self.status()
                if data is not None and "Err" in data:
                    break  # unreachable or wrong key: probing more ranges would only fail slower
                if data is not None and "dps" in data:
                    for key in data["dps"]:
                        self.dps_cache[key] = None
                if self.dev_type == "default":
                    break
        finally:
            self._detecting = False
        self.dps_to_request = self.dps_cache
        return self.dps_cache

    async def receive(self) -> dict[str, Any] | None:
        """The next pushed update, or ``None`` if none arrives within ``connection_timeout``."""
        if self._received:
            return self._received.popleft()
        try:
            self._check_address()
            await self._link.connect()
        except TuyaError as exc:
            return error_dict(exc)
        waiter = self._receive_waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(self.connection_timeout):
                await waiter
        except TimeoutError:
            return None
        finally:
            self._receive_waiter = None
            await self._link.release()
        return self._received.popleft() if self._received else None

    def _wake_receiver(self) -> None:
        if self._receive_waiter is not None and not self._receive_waiter.done():
            self._receive_waiter.set_result(None)

    async def send(self, payload: PayloadLike) -> dict[str, Any] | None:
        """Send a ``MessagePayload`` (or raw frame bytes) without waiting; ``None`` or an error dict."""
        return await self._send_receive(payload, getresponse=False)

    # -- configuration (plain methods, no I/O) --------------------------------------------

    def _set_version_fields(self, spec: VersionSpec) -> None:
        self._spec = spec
        self.version = spec.number
        self.version_str = "v" + spec.text
        self.version_bytes = spec.version_bytes
        self.version_header = spec.header
        if spec.number == 3.2:  # 3.2 behaves like 3.3 device22
            self.dev_type = "device22"

    def set_version(self, version: float | str) -> None:
        """Switch protocol version (the next request reconnects with it).

        3.2 implies ``dev_type="device22"``; its DPs are probed on the next :meth:`status`
        instead of immediately as tinytuya does.
        """
        spec = version_spec(version)
        self._set_version_fields(spec)
        if self.parent is None:
            self._link.version = spec
            self._link.drop()
        for child in self.children.values():
            child._set_version_fields(spec)

    def set_socketPersistent(self, persist: bool) -> None:
        self.socketPersistent = bool(persist)
        if self.parent is None:
            self._link.set_persist(self.socketPersistent)
            if not persist:
                self.cache_clear()

    def set_socketNODELAY(self, nodelay: bool) -> None:
        """Kept for compatibility: asyncio already disables Nagle on TCP sockets."""
        self.socketNODELAY = bool(nodelay)

    def set_socketRetryLimit(self, limit: int) -> None:
        self.socketRetryLimit = limit
        self._link.retry_limit = limit

    def set_socketRetryDelay(self, delay: float) -> None:
        self.socketRetryDelay = delay
        self._link.retry_delay = delay

    def set_socketTimeout(self, s: float) -> None:
        self.connection_timeout = s
        self._link.timeout = s

    def set_dpsUsed(self, dps_to_request: dict[str, Any]) -> None:
        self.dps_to_request = dps_to_request

    def add_dps_to_request(self, dp_indicies: int | Iterable[int | str]) -> None:
        """Add DP indexes to the list a device22 status query names."""
        if isinstance(dp_indicies, int):
            self.dps_to_request[str(dp_indicies)] = None
        else:
            self.dps_to_request.update({str(index): None for index in dp_indicies})

    def set_retry(self, retry: bool) -> None:
        self.retry = retry

    def set_sendWait(self, s: float | None) -> None:
        """Kept for compatibility: replies are awaited as they arrive, so no wait is needed."""
        self.sendWait = s

    def _register_child(self, child: XenonDeviceAsync) -> None:
        if child.id in self.children and self.children[child.id] is not child:
            _LOGGER.debug("replacing child %s", redact_id(child.id))
        self.children[child.id] = child
        # Gateways answer "json obj data unvalid" to a status query without a cid.
        self.disabledetect = True

    # -- payloads --------------------------------------------------------------------------

    def _payload_builder(self) -> PayloadBuilder:
        """The builder for the current settings (kept until version, type or children change)."""
        builder = self._builder
        parent_id = self.parent.id if self.parent else None
        gateway = bool(self.children)
        if (
            builder is None
            or builder.version is not self._spec
            or builder.dev_type != self.dev_type
            or builder.cid != self.cid
            or builder.parent_id != parent_id
            or builder.gateway != gateway
            or builder.dev_id != self.id
        ):
            builder = self._builder = PayloadBuilder(
                version=self._spec,
                dev_id=self.id,
                dev_type=self.dev_type,
                cid=self.cid,
                parent_id=parent_id,
                gateway=gateway,
            )
        return builder

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
            self._have_status = True
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
        return tuya.MessagePayload(wire_cmd, body)
