"""The libraries a user would pick instead of ours, driven the way their docs show.

Both are optional (``pip install -e '.[bench]'``); a client whose library is missing is left
out of the run with a note instead of failing it.

* ``tinytuya-async`` 0.0.3 (``tinytuya_async.DeviceAsync``): asyncio streams, tinytuya's
  helpers for framing and crypto. ``status()`` only sends; the reply is read with
  ``receive()``. No connect limit, no automatic heartbeat. Its constructor fails for
  version 3.2 with an empty DP list, so 3.2 devices are built as 3.3, given their DP list,
  then switched with ``set_version(3.2)``.
* ``rustuya`` 0.3.0 (``rustuya.Device``): a Rust core (tokio) behind a blocking Python API
  that releases the GIL. A device connects in the background from the moment it is built
  (staggered over the first seconds) and keeps its connection even with ``persist=False``,
  so it has no cold mode to measure; warm, every device is asked with ``nowait=True`` and
  the answers are collected from one ``unified_listener`` (the fastest way it offers to
  poll a fleet from Python).
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import time
from collections.abc import Sequence
from typing import Any, Final

from bench.clients import (
    ClientConfig,
    SetupError,
    _sample,
    bounded_gather,
    timed_rounds,
    why_not,
)
from bench.fleet import DeviceEntry
from bench.frames import query_dps
from bench.measure import Sample, Stopwatch

#: Seconds a rustuya fleet may take to report every device connected.
RUSTUYA_CONNECT_TIMEOUT: Final = 60.0
#: How long one listener read waits (ms) before the deadline is checked again.
_RECV_MS: Final = 100
#: Answers to a status query: DP_QUERY, CONTROL_NEW (device22) and DP_QUERY_NEW.
_STATUS_CMDS: Final = frozenset({0x0A, 0x0D, 0x10})


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _version_of(distribution: str) -> str:
    from importlib import metadata  # noqa: PLC0415 - only for the description

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


# -- tinytuya-async --------------------------------------------------------------------------


def tinytuya_async_device(entry: DeviceEntry, config: ClientConfig) -> Any:
    """A persistent ``tinytuya_async.DeviceAsync`` for ``entry`` (3.2 built around its bug)."""
    import tinytuya_async  # noqa: PLC0415 - optional peer

    version = float(entry.version)
    device = tinytuya_async.DeviceAsync(
        entry.dev_id,
        entry.host,
        entry.key,
        version=3.3 if version == 3.2 else version,
        persist=True,
        port=entry.port,
        connection_timeout=config.timeout,
        connection_retry_limit=config.retry_limit,
        connection_retry_delay=config.retry_delay,
    )
    dps = query_dps(entry)
    if dps is not None:
        device.set_dpsUsed(dict(dps))
    if version == 3.2:
        device.set_version(3.2)
    return device


class TinytuyaAsyncClient:
    """tinytuya-async's ``DeviceAsync``, all devices on one event loop."""

    def __init__(self, runner: asyncio.Runner, config: ClientConfig, *, name: str = "tinytuya-async") -> None:
        self.name = name
        self._runner = runner
        self._config = config
        self.description = (
            f"tinytuya-async {_version_of('tinytuya-async')} DeviceAsync, one asyncio.gather over all "
            "devices; cold: open(), status() (sends), receive() (the reply), close(); warm: connections "
            "opened first, then status() + receive() per device; no connect limit"
        )

    @staticmethod
    async def _query(device: Any) -> object:
        await device.status()
        return await device.receive()

    async def _cold_one(self, device: Any) -> object:
        try:
            error = await device.open()
            if error:
                return {"Err": str(error)}
            return await self._query(device)
        finally:
            await device.close()

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        return self._runner.run(self._cold(devices))

    async def _cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        clients = [tinytuya_async_device(entry, self._config) for entry in devices]
        gc.collect()
        with Stopwatch() as stopwatch:
            results = await bounded_gather(
                [self._cold_one(c) for c in clients], self._config.deadline(len(devices))
            )
        return _sample(stopwatch, [why_not(r) for r in results])

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        return self._runner.run(self._warm(devices, rounds=rounds, warmup=warmup))

    async def _warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        clients = [tinytuya_async_device(entry, self._config) for entry in devices]
        deadline = self._config.deadline(len(devices))
        try:
            opened = await bounded_gather([c.open() for c in clients], deadline)
            failed = [r for r in opened if r != 0]
            if failed:
                raise SetupError(f"{len(failed)} of {len(clients)} devices did not connect: {failed[0]!r}")
            return await timed_rounds(
                lambda: [self._query(c) for c in clients],
                lambda results: [why_not(r) for r in results],
                rounds=rounds,
                warmup=warmup,
                deadline=deadline,
            )
        finally:
            await bounded_gather([c.close() for c in clients], deadline)

    def close(self) -> None:
        pass


# -- rustuya ---------------------------------------------------------------------------------


def rustuya_device(entry: DeviceEntry, config: ClientConfig, *, nowait: bool) -> Any:
    import rustuya  # noqa: PLC0415 - optional peer

    return rustuya.Device(
        entry.dev_id,
        entry.key,
        address=entry.host,
        version=entry.version,
        dev_type="device22" if entry.version == "3.2" else None,
        persist=True,
        timeout=config.timeout,
        nowait=nowait,
        port=entry.port,
    )


def wait_connected(devices: Sequence[Any], timeout: float) -> None:
    """Until every rustuya device reports a connection; :class:`SetupError` past ``timeout``."""
    deadline = time.monotonic() + timeout
    while (connected := sum(1 for d in devices if d.is_connected)) < len(devices):
        if time.monotonic() > deadline:
            raise SetupError(f"{len(devices) - connected} of {len(devices)} rustuya devices did not connect")
        time.sleep(0.05)


class RustuyaClient:
    """rustuya's native client: ``nowait`` requests, answers from one unified listener."""

    name = "rustuya"

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self.description = (
            f"rustuya {_version_of('rustuya')} Device (Rust core, tokio), persist=True, nowait=True: "
            "status() of every device from this thread, answers collected from one unified_listener; "
            "warm only (it connects from construction and keeps its connection, see bench/peers.py)"
        )

    def cold(self, devices: Sequence[DeviceEntry]) -> Sample:
        raise SetupError("rustuya has no cold mode: it keeps its connections even with persist=False")

    def warm(self, devices: Sequence[DeviceEntry], *, rounds: int, warmup: int) -> list[Sample]:
        import rustuya  # noqa: PLC0415 - optional peer

        clients = [rustuya_device(entry, self._config, nowait=True) for entry in devices]
        ids = {entry.dev_id for entry in devices}
        try:
            wait_connected(clients, RUSTUYA_CONNECT_TIMEOUT)
            listener = rustuya.unified_listener(clients)
            while listener.recv(_RECV_MS) is not None:
                pass  # the "connected" events
            samples: list[Sample] = []
            deadline = self._config.deadline(len(devices))
            for index in range(warmup + rounds):
                gc.collect()
                answers: dict[str, object] = {}
                with Stopwatch() as stopwatch:
                    for client in clients:
                        client.status()
                    end = time.monotonic() + deadline
                    while len(answers) < len(ids) and time.monotonic() < end:
                        event = listener.recv(_RECV_MS)
                        if isinstance(event, dict) and event.get("cmd") in _STATUS_CMDS:
                            answers[str(event.get("id"))] = event.get("payload")
                if index >= warmup:
                    samples.append(_sample(stopwatch, [why_not(answers.get(i)) for i in ids]))
            return samples
        finally:
            for client in clients:
                client.stop()

    def close(self) -> None:
        pass
