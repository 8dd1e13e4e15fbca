"""Benchmarks: status of many simulated devices, our asyncio client beside tinytuya's sync client and a floor.

``python -m bench.run`` (``make bench``) measures; ``python -m bench.profile`` (``make profile``)
profiles our client. The simulated fleet always runs in a separate process on loopback
(:mod:`bench.fleet`); the clients live in :mod:`bench.clients`, the floor's precomputed
frames in :mod:`bench.frames`, timing in :mod:`bench.measure` and the tables in
:mod:`bench.report`. Results are described in ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations
