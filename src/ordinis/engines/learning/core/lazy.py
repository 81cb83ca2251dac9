"""Package names loaded on first use (PEP 562): importing one light module of a package does
not import its heavy siblings. Every package ``__init__`` of the engine uses this one loader."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(
    package: str, table: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports ``table[name]``'s module on first use of ``name``
    and caches the value in the package's ``namespace`` (so later uses skip the hook)."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
