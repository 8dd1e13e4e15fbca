"""Run one operation on many devices, a bounded number at a time, and never lose a result.

Devices are taken in *groups* that share a connection (a gateway and its children): a group
runs one device after the other, so a fleet operation never queues more than one request
on a device, and the groups run concurrently within the fleet's slots. Each device's
outcome is kept by id: its result, or tinytuya's error dict when it failed, whatever the
others did. Only cancellation ends the run early (and cancels every worker).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import XenonDeviceAsync
from tinytuya_asyncio.devices.errors import error_dict
from tinytuya_asyncio.devices.redact import redact_id
from tinytuya_asyncio.exceptions import TuyaError

_LOGGER = logging.getLogger(__name__)

Operation = Callable[[XenonDeviceAsync], Awaitable[Any]]


async def run_groups(
    groups: Sequence[Sequence[XenonDeviceAsync]],
    operation: Operation,
    *,
    slots: asyncio.Semaphore,
    concurrency: int,
) -> dict[str, Any]:
    """``operation`` on every device of ``groups``; results by device id, in group order.

    ``slots`` (of size ``concurrency``) is shared by every run of one fleet, so that runs at
    the same time stay within the fleet's concurrency together.
    """
    results: dict[str, Any] = {device.id: None for group in groups for device in group}
    pending = iter(groups)

    async def worker() -> None:
        for group in pending:
            async with slots:  # bounded by the devices' own deadlines
                for device in group:
                    results[device.id] = await _outcome(device, operation)

    if groups:
        async with asyncio.TaskGroup() as workers:  # the owner: cancelled together, awaited together
            for _ in range(min(concurrency, len(groups))):
                workers.create_task(worker())
    return results


async def _outcome(device: XenonDeviceAsync, operation: Operation) -> Any:
    try:
        return await operation(device)
    except TuyaError as exc:  # new API (connect) raises; keep it as tinytuya's dict
        return error_dict(exc)
    except Exception as exc:  # one device's defect must not lose the others' results
        _LOGGER.exception("%s: fleet operation failed", redact_id(device.id))
        return tuya.error_json(tuya.ERR_STATE, f"{redact_id(device.id)}: {exc!r}")
