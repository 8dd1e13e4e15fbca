"""The one place where exceptions become tinytuya's error dicts."""

from __future__ import annotations

from typing import Any

from tinytuya_asyncio import _tinytuya as tuya
from tinytuya_asyncio.exceptions import TuyaError


def error_dict(error: TuyaError) -> dict[str, Any]:
    """tinytuya's ``{"Error", "Err", "Payload"}`` dict for ``error``, with the same codes.

    ``Payload`` carries the reason (which device, what happened), where tinytuya leaves it
    ``None`` for connection errors: code that checks ``Err`` sees no difference.
    """
    return tuya.error_json(error.err_code, str(error))
