"""Device ids as logs may show them (the function lives with the log formatting, in metrics)."""

from __future__ import annotations

from tinytuya_asyncio.metrics.redact import redact_id

__all__ = ["redact_id"]
