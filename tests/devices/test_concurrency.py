"""Many devices on one event loop."""

from __future__ import annotations

import asyncio

from tests.devices.conftest import port_of
from tinytuya_asyncio.devices import DeviceAsync
from tinytuya_asyncio.simulator import Simulator


async def test_200_mixed_devices_in_one_gather() -> None:
    async with Simulator(seed=7) as sim:
        fleet = await sim.add_many(200, versions="mixed", device22_share=0.25)
        devices = [
            DeviceAsync(
                s.dev_id,
                s.host,
                s.local_key,
                dev_type="device22" if s.device22 else "default",
                version=s.version,
                port=port_of(s),
                connection_timeout=5,
            )
            for s in fleet
        ]
        try:
            for device, simulated in zip(devices, fleet, strict=True):
                if simulated.device22:  # device22 firmware reports only the DPs a query names
                    device.set_dpsUsed(dict.fromkeys(simulated.dps))
            results = await asyncio.gather(*(d.status() for d in devices))
            for result, simulated in zip(results, fleet, strict=True):
                assert result is not None, simulated
                assert result.get("dps") == simulated.dps, (simulated, result)
            toggled = await asyncio.gather(*(d.turn_on() for d in devices))
            assert all(r is not None and r["dps"] == {"1": True} for r in toggled)
            assert all(s.dps["1"] is True for s in fleet)
        finally:
            await asyncio.gather(*(d.close() for d in devices))
