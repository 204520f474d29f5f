"""An algorithm package's public classes, loaded on first use: rsl_rl's `class_name` ("cppo.cppo:CPPO") resolves
them from the package, while reading the package's config (the algorithm registry, the task tables) imports no
torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, modules: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` (PEP 562) for `package`: each name in `modules` comes from the module named."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{modules[name]}"), name)

    return __getattr__
