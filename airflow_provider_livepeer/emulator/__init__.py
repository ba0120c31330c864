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

if TYPE_CHECKING:
    from airflow_provider_livepeer.emulator.accounts import DEFAULT_API_KEY
    from airflow_provider_livepeer.emulator.app import create_app
    from airflow_provider_livepeer.emulator.clock import ManualClock
    from airflow_provider_livepeer.emulator.faults import FaultConfig
    from airflow_provider_livepeer.emulator.handle import EmulatorHandle
    from airflow_provider_livepeer.emulator.outcomes import Outcome, OutcomeRule
    from airflow_provider_livepeer.emulator.server import run_emulator, start_emulator
    from airflow_provider_livepeer.emulator.state import EmulatorState
    from airflow_provider_livepeer.emulator.timeline import Durations

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
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
