"""A Sphinx extension that keeps the API reference complete and its references honest.

- Every public name on the user-facing pages must have a docstring: one without is a
  warning, which the strict build (``-W``) turns into a failure. (Internal modules, shown
  for contributors, may keep terse or no docstrings on what is obvious.)
- Every name a public package exports (``__all__`` of :data:`CHECKED_PACKAGES`) must be
  documented somewhere in the reference, under that name or another one of the same object.
- A short reference in a docstring (``:class:`Session```) means what that name means in the
  module the docstring was written in, as a reader of the source would take it: it is
  resolved through that module's namespace to wherever the object is documented. A name the
  module does not have, or an object the reference does not document, stays a broken
  reference and fails the build.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import sys
from types import ModuleType
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

_LOGGER = logging.getLogger(__name__)

#: Packages whose ``__all__`` the reference must cover, name by name.
CHECKED_PACKAGES = ("tinytuya_asyncio", "tinytuya_asyncio.scanner", "tinytuya_asyncio.simulator")
#: Modules documented whole on the user-facing pages (every public name needs a docstring).
USER_MODULES = ("tinytuya_asyncio.metrics", "tinytuya_asyncio.devices.bulb_values")


def _user_facing(name: str) -> bool:
    if name.startswith(USER_MODULES):
        return True
    for package in CHECKED_PACKAGES:
        prefix = package + "."
        if name.startswith(prefix):
            head = name[len(prefix) :].split(".", 1)[0]
            if head in sys.modules[package].__all__:
                return True
    return False


def _undocumented(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    short = name.rsplit(".", 1)[-1]
    if short.startswith("_") or any(line.strip() for line in lines) or not _user_facing(name):
        return
    if what == "attribute" and isinstance(obj, enum.Enum):
        return  # enum members are described by their enum
    _LOGGER.warning("undocumented public name: %s %s", what, name, type="strict_reference")


def _import(dotted: str) -> Any:
    """The object a dotted name stands for (module, then attributes), or ``None``."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = (
                inspect.getattr_static(obj, attr, None) if inspect.isclass(obj) else getattr(obj, attr, None)
            )
            if obj is None:
                return None
        return obj
    return None


def _identity(obj: Any) -> int | None:
    # Only objects whose identity means something: not ints or strings (interned, shared).
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isfunction(obj) or isinstance(obj, property):
        return id(obj)
    return None


def _documented_by_identity(env: BuildEnvironment) -> dict[int, str]:
    cached: dict[int, str] | None = getattr(env, "_strict_reference_ids", None)
    if cached is None:
        cached = {}
        for name, *_ in env.get_domain("py").get_objects():
            key = _identity(_import(name))
            if key is not None:
                cached.setdefault(key, name)
        env._strict_reference_ids = cached  # type: ignore[attr-defined]
    return cached


def _documented_as(env: BuildEnvironment, name: str, obj: Any) -> str | None:
    """A documented name for ``obj``, which is called ``name`` where it is referred to."""
    found = _documented_by_identity(env).get(_identity(obj) or -1)
    if found is not None:
        return found
    # Constants have no identity worth the name: the same name holding the same value will do.
    for documented, *_ in env.get_domain("py").get_objects():
        if documented.rsplit(".", 1)[-1] == name and _import(documented) is obj:
            return documented
    return None


def _check_exports(app: Sphinx, env: BuildEnvironment) -> None:
    documented = {name for name, *_ in env.get_domain("py").get_objects()}
    for package in CHECKED_PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            if name.startswith("__") or f"{package}.{name}" in documented:
                continue
            if _documented_as(env, name, getattr(module, name)) is None:
                _LOGGER.warning(
                    "%s.%s is exported but not in the reference", package, name, type="strict_reference"
                )


def _namespaces(node: pending_xref) -> list[Any]:
    """Where a short name in this docstring is looked up: its class, its modules."""
    found: list[Any] = []
    # The object whose docstring this is, as autodoc records it in the node's source.
    written_in = re.search(r"docstring of ([\w.]+)", str(node.source or ""))
    if written_in:
        owner = _import(written_in.group(1))
        owner_class = owner if inspect.isclass(owner) else None
        if owner_class is None and written_in.group(1).count(".") > 1:
            parent = _import(written_in.group(1).rsplit(".", 1)[0])
            owner_class = parent if inspect.isclass(parent) else None
        if owner_class is not None:
            found.append(owner_class)
        defining = sys.modules.get(getattr(owner, "__module__", None) or "") if owner is not None else None
        if inspect.ismodule(owner):
            defining = owner
        if defining is not None:
            found.append(defining)
    module = node.get("py:module")
    if not module:
        return found
    context = _import(module)
    if isinstance(context, ModuleType):
        found.append(context)
    cls = _import(f"{module}.{node['py:class']}") if node.get("py:class") else None
    if inspect.isclass(cls):
        found.insert(0, cls)
        defining = sys.modules.get(cls.__module__)
        if defining is not None:
            found.append(defining)
    return found


def _resolve_in_namespace(
    app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: nodes.TextElement
) -> nodes.reference | None:
    if node.get("refdomain") != "py":
        return None
    target = str(node["reftarget"]).lstrip(".")
    head, _, rest = target.partition(".")
    domain = env.get_domain("py")
    if target.startswith("tinytuya_asyncio."):  # a full path to where the object is defined
        documented = _documented_as(env, target.rsplit(".", 1)[-1], _import(target))
        if documented is not None:
            return domain.resolve_xref(
                env, node["refdoc"], app.builder, node["reftype"], documented, node, contnode
            )
        return None
    for namespace in _namespaces(node):
        obj = (
            inspect.getattr_static(namespace, head, None)
            if inspect.isclass(namespace)
            else getattr(namespace, head, None)
        )
        if obj is None:
            continue
        if rest:
            obj = _import(f"{obj.__module__}.{obj.__qualname__}.{rest}") if inspect.isclass(obj) else None
        documented = _documented_as(env, target.rsplit(".", 1)[-1], obj)
        if documented is None:
            continue
        return domain.resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], documented, node, contnode
        )
    return None


def _parseable_signature(  # noqa: PLR0917 - the signature of Sphinx's event
    app: Sphinx, what: str, name: str, obj: Any, options: Any, signature: str | None, annotation: str | None
) -> tuple[str | None, str | None]:
    # A dataclass field with a default factory shows as "= <factory>", which the signature
    # parser cannot read (it then splits the annotations at every comma).
    return (signature.replace("<factory>", "...") if signature else signature), annotation


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("autodoc-process-signature", _parseable_signature)
    app.connect("autodoc-process-docstring", _undocumented)
    app.connect("env-check-consistency", _check_exports)
    app.connect("missing-reference", _resolve_in_namespace)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
