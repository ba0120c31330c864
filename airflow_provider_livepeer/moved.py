"""Names that moved to another module keep importing from their old one, with a ``DeprecationWarning``."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Collection
from typing import Any


def moved_names(old_module: str, new_module: str, names: Collection[str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` handing out ``names`` from ``new_module``, each with a DeprecationWarning.

    :param old_module: the module the names were in (its ``__name__``).
    :param new_module: where they are now; imported on first use, so the two may import each other.
    :param names: the public names that moved.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        warnings.warn(
            f"{old_module}.{name} moved to {new_module}.{name}; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new_module), name)

    return __getattr__
