"""The fleet tests run hundreds of simulated devices under the device tests' strict loop."""

from __future__ import annotations

from tests.devices.conftest import strict_loop

__all__ = ["strict_loop"]
