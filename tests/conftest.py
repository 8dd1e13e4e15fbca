"""Suite-wide test configuration."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# Property tests run on every `make test`: no per-example deadline (CI machines stall), and
# few enough examples to keep the protocol suite quick. HYPOTHESIS_PROFILE=thorough digs deeper.
settings.register_profile(
    "fast", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
