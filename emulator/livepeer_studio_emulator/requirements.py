"""What the emulator needs installed, checked before it starts.

A partial install (``pip install --no-deps``, a trimmed image) would otherwise start a server that answers
its first import with an internal error about a missing module. Instead the emulator refuses to start,
with one line naming what is missing and the install command.
"""

from __future__ import annotations

import importlib.util

#: The modules the server imports (lazily, some of them), by the name pip installs them under.
REQUIRED = {
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "httpx": "httpx",
    "pydantic": "pydantic",
    "av": "av (PyAV)",
}
INSTALL_HINT = "pip install livepeer-studio-emulator"


class MissingRequirement(RuntimeError):
    """A module the emulator needs is not installed; the message names it and the install command."""


def check_requirements() -> None:
    """Raise :class:`MissingRequirement` unless every module of :data:`REQUIRED` is installed."""
    # Found, not imported: the command's --help stays fast, and PyAV loads only when a probe needs it.
    missing = [package for module, package in REQUIRED.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingRequirement(
            f"The Livepeer emulator needs {', '.join(missing)}, which this Python cannot import: "
            f"run `{INSTALL_HINT}`."
        )
