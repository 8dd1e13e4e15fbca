"""Device ids as log text may show them."""

from __future__ import annotations


def redact_id(dev_id: str) -> str:
    """A device id shortened for logs (ids are credentials for the cloud API)."""
    return dev_id if len(dev_id) <= 8 else f"{dev_id[:4]}…{dev_id[-4:]}"
