"""A local Livepeer Studio emulator for tests and demos, in the spirit of moto for AWS.

It serves Livepeer's task and asset endpoints under ``/api`` (imports really fetch and hash their
source, tasks move through their phases on a clock), plus fault injection and scripted outcomes under
``/_emulator``. It does not need Airflow. Start it with :func:`run_emulator`, the ``livepeer-emulator``
command, or the ``livepeer_emulator`` pytest fixture.

Names are imported lazily, so importing this package (e.g. by the pytest plugin) does not load FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from livepeer_studio_emulator.requirements import check_requirements

if TYPE_CHECKING:
    from livepeer_studio_emulator.accounts import DEFAULT_API_KEY
    from livepeer_studio_emulator.app import create_app
    from livepeer_studio_emulator.clock import ManualClock
    from livepeer_studio_emulator.faults import FaultConfig
    from livepeer_studio_emulator.handle import EmulatorHandle
    from livepeer_studio_emulator.outcomes import Outcome, OutcomeRule
    from livepeer_studio_emulator.server import run_emulator, start_emulator
    from livepeer_studio_emulator.state import EmulatorState
    from livepeer_studio_emulator.timeline import Durations

__version__ = "0.1.0"

_EXPORTS = {
    "DEFAULT_API_KEY": "accounts",
    "Durations": "timeline",
    "EmulatorHandle": "handle",
    "EmulatorState": "state",
    "FaultConfig": "faults",
    "ManualClock": "clock",
    "Outcome": "outcomes",
    "OutcomeRule": "outcomes",
    "create_app": "app",
    "run_emulator": "server",
    "start_emulator": "server",
}

__all__ = [
    "DEFAULT_API_KEY",
    "Durations",
    "EmulatorHandle",
    "EmulatorState",
    "FaultConfig",
    "ManualClock",
    "Outcome",
    "OutcomeRule",
    "create_app",
    "run_emulator",
    "start_emulator",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if module in ("app", "server"):
        check_requirements()  # one clear line, not an ImportError from deep inside FastAPI or uvicorn
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
