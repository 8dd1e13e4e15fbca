"""Process limits a fleet of simulated devices runs into."""

from __future__ import annotations

import resource
from typing import Final

#: Where to stop when the hard limit is "unlimited" (some kernels refuse more anyway).
_UNLIMITED_CAP: Final = 65536


def raise_nofile_limit(wanted: int | None = None) -> int:
    """Raise the soft limit on open files toward ``wanted`` (default: the hard limit).

    A fleet needs one descriptor per listener plus one per client connection, so 1,000
    devices outgrow the usual soft limit of 1,024. Never lowers the limit. Returns the
    soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = _UNLIMITED_CAP if hard == resource.RLIM_INFINITY else hard
    target = ceiling if wanted is None else min(wanted, ceiling)
    if soft != resource.RLIM_INFINITY and target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft
