"""``python -m tinytuya_asyncio``: the command line (see :mod:`tinytuya_asyncio.cli`)."""

from __future__ import annotations

import sys

from tinytuya_asyncio.cli import main

sys.exit(main())
