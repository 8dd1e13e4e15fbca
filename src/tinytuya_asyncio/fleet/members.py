"""What a fleet keeps per device, and which devices share a connection."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tinytuya_asyncio.devices import XenonDeviceAsync
from tinytuya_asyncio.metrics import MetricsSink


@dataclass(slots=True)
class Member:
    """One device of a fleet, with what the fleet attached to it (undone on removal)."""

    device: XenonDeviceAsync
    unsubscribe: list[Callable[[], None]] = field(default_factory=list)
    #: The device's own sink before the fleet set one, restored on removal.
    previous_sink: MetricsSink | None = None
    sink_set: bool = False

    def release(self) -> None:
        for unsubscribe in self.unsubscribe:
            unsubscribe()
        self.unsubscribe.clear()
        if self.sink_set:
            self.device.metrics = self.previous_sink
            self.sink_set = False


def groups_of(devices: Iterable[XenonDeviceAsync]) -> list[list[XenonDeviceAsync]]:
    """Devices grouped by the connection they share: a gateway first, then its children."""
    groups: dict[XenonDeviceAsync, list[XenonDeviceAsync]] = {}
    for device in devices:
        owner = device.parent or device
        group = groups.setdefault(owner, [])
        if device is owner:
            group.insert(0, device)
        else:
            group.append(device)
    return list(groups.values())
