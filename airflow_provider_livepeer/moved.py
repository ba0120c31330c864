"""Names that moved to another module keep importing from their old one, with a ``DeprecationWarning``."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Collection, Mapping
from typing import Any


def moved_names(old_module: str, moved: Mapping[str, Collection[str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` handing out names from where they moved, each with a DeprecationWarning.

    :param old_module: the module the names were in (its ``__name__``).
    :param moved: the public names that moved, by the module they are in now; that module is imported on
        first use, so the two may import each other.
    """
    new_module_of = {name: new_module for new_module, names in moved.items() for name in names}

    def __getattr__(name: str) -> Any:
        new_module = new_module_of.get(name)
        if new_module is None:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(
            f"{old_module}.{name} moved to {new_module}.{name}; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), name)

    return __getattr__
