"""The metrics tests run simulated devices: the device tests' fixtures, and a recording sink."""

from __future__ import annotations

from tests.devices.conftest import connect_to, simulate, strict_loop
from tests.metrics.recording import events

__all__ = ["connect_to", "events", "simulate", "strict_loop"]
