"""Run one operation on many devices, a bounded number at a time, and never lose a result.

Devices are taken in *groups* that share a connection (a gateway and its children): a group
runs one device after the other, so a fleet operation never queues more than one request
on a device, and the groups run concurrently within the fleet's slots. Each device's
outcome is kept by id: its result, or tinytuya's error dict when it failed (or was left out:
removed from the fleet, or the fleet closed, before its turn), whatever the others did. Only
cancellation of the run ends it early (and cancels every worker); an operation that ends
cancelled on its own is one device's failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from typing import Any

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.devices import XenonDeviceAsync
from tinytuya_asyncio.devices.errors import error_dict
from tinytuya_asyncio.devices.redact import redact_id
from tinytuya_asyncio.exceptions import TuyaError

_LOGGER = logging.getLogger(__name__)

Operation = Callable[[XenonDeviceAsync], Awaitable[Any]]
#: Why a device is left out when its turn comes (an error dict), or ``None`` to run it.
Skip = Callable[[XenonDeviceAsync], dict[str, Any] | None]

#: The owner (a fleet) of the run whose operation this task is in: the owner's own calls made
#: from inside an operation (one that removes a device, say) must not wait for a slot that
#: their caller holds.
running_for: ContextVar[object | None] = ContextVar("tinytuya_asyncio_fleet_run", default=None)


async def run_groups(
    groups: Sequence[Sequence[XenonDeviceAsync]],
    operation: Operation,
    *,
    slots: asyncio.Semaphore | None,
    concurrency: int,
    owner: object = None,
    skip: Skip | None = None,
) -> dict[str, Any]:
    """``operation`` on every device of ``groups``; results by device id, in group order.

    ``slots`` (of size ``concurrency``) is shared by every run of one fleet, so that runs at
    the same time stay within the fleet's concurrency together (``None``: the workers alone
    bound it). ``skip`` is asked about each device right before its turn.
    """
    results: dict[str, Any] = {}
    pending = iter(groups)

    async def run(group: Sequence[XenonDeviceAsync]) -> None:
        for device in group:
            why_not = skip(device) if skip is not None else None
            results[device.id] = why_not if why_not is not None else await _outcome(device, operation)

    async def worker() -> None:
        running_for.set(owner)  # this task's own context: its operations see it
        for group in pending:
            if slots is None:
                await run(group)
            else:
                async with slots:  # bounded by the devices' own deadlines
                    await run(group)

    if groups:
        async with asyncio.TaskGroup() as workers:  # the owner: cancelled together, awaited together
            for _ in range(min(concurrency, len(groups))):
                workers.create_task(worker())
    return {device.id: results[device.id] for group in groups for device in group}


async def _outcome(device: XenonDeviceAsync, operation: Operation) -> Any:
    try:
        return await operation(device)
    except TuyaError as exc:  # new API (connect) raises; keep it as tinytuya's dict
        return error_dict(exc)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is None or task.cancelling():
            raise  # the run itself is cancelled
        # The operation's own: it awaited something cancelled elsewhere. One device's outcome.
        _LOGGER.warning("%s: fleet operation was cancelled", redact_id(device.id))
        return tuya.error_json(tuya.ERR_STATE, f"{redact_id(device.id)}: the operation was cancelled")
    except Exception as exc:  # one device's defect must not lose the others' results
        _LOGGER.exception("%s: fleet operation failed", redact_id(device.id))
        return tuya.error_json(tuya.ERR_STATE, f"{redact_id(device.id)}: {exc!r}")
