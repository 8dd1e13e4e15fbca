"""Sphinx configuration: the guides, PROTOCOL.md and an API reference built from the docstrings.

Built by ``make docs`` (and so by ``make test``) with warnings as errors and every cross
reference checked (``-n -W``): a broken ``:class:`` reference, a docstring that does not
parse, or a public name without a docstring fails the build (``_ext/strict_reference.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "tinytuya-asyncio"
author = "tinytuya-asyncio contributors"
copyright = "tinytuya-asyncio contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "strict_reference",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]
# GitHub-style anchors, so that links such as PROTOCOL.md#frames work on GitHub and here.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]

html_theme = "furo"
html_title = "tinytuya-asyncio"

# -- the API reference ------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_class_signature = "mixed"

# Every reference is checked (-n). Names outside this package (the standard library,
# tinytuya, cryptography) have no inventory here (the build is offline), so they are the
# only ones let through; an unresolved name of our own still fails the build.
nitpicky = True
_BUILTINS = (
    "None Any Self bool bytes bytearray memoryview int float str object type dict list tuple set "
    "frozenset Exception BaseException TimeoutError ValueError KeyError RuntimeError OSError "
    "TypeError NotImplemented Ellipsis"
)
nitpick_ignore_regex = [
    (r"py:.*", "({})".format("|".join(_BUILTINS.split()))),
    (
        r"py:.*",
        r"(typing|typing_extensions|collections|asyncio|enum|pathlib|ipaddress|logging|json|socket"
        r"|dataclasses|types|contextlib|os|io|argparse|hmac|hashlib|random|tinytuya|cryptography"
        r"|ifaddr|uvloop|pytest|_asyncio)(\..*)?",
    ),
    # The typed doorway to tinytuya: its names are tinytuya's.
    (r"py:.*", r"tinytuya_asyncio\._tinytuya(\..*)?"),
    # Private names (type aliases, helpers) are never documented, by design.
    (r"py:.*", r"(.*\.)?_[A-Za-z]\w*"),
    # Type variables.
    (r"py:.*", r"tinytuya_asyncio\.devices\.gateway\.C"),
]
