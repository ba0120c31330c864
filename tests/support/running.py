"""Provider pieces run outside Airflow: a task-instance stand-in, a task state store, fast hooks, triggers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger

#: Retry settings for hooks the tests build: many tries, short waits, so faults cost milliseconds.
FAST_RETRIES: dict[str, Any] = {"max_attempts": 12, "backoff_initial": 0.01, "backoff_max": 0.05}


def fast_hook(conn_id: str = "livepeer_default", **overrides: Any) -> LivepeerHook:
    return LivepeerHook(conn_id, **{**FAST_RETRIES, **overrides})


@dataclass
class RecordingTI:
    """The part of a running task instance the provider touches: XCom push/pull, kept in a dict."""

    task_id: str = "task"
    dag_id: str = "dag"
    run_id: str = "run"
    map_index: int = -1
    xcoms: dict[str, Any] = field(default_factory=dict)
    stats_tags: dict[str, str] = field(default_factory=dict)
    first_reschedule_date: datetime | None = None
    max_tries: int = 0  # read by Airflow 2's reschedule-mode sensors

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: str | None = None, key: str = "return_value", **_: Any) -> Any:
        return self.xcoms.get(key)

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        """When a reschedule-mode sensor first poked (``None``: this is its first try)."""
        return self.first_reschedule_date


class StateStore:
    """A ``task_state_store`` that outlives a try, as Airflow's does across retries."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


def context(ti: RecordingTI | None = None, **extra: Any) -> dict[str, Any]:
    return {"ti": ti if ti is not None else RecordingTI(), **extra}


async def trigger_events(trigger: LivepeerTaskTrigger, limit: float = 30) -> list[dict[str, Any]]:
    """Run a trigger to its end (at most ``limit`` seconds) and return every event payload it fired."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), limit)


def logged(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str], text: str) -> list[str]:
    """The log lines with ``text``: Airflow 2's task logger reaches ``caplog``, Airflow 3's prints."""
    lines = [record.getMessage() for record in caplog.records if text in record.getMessage()]
    out, err = capfd.readouterr()
    return lines or [line for line in (out + err).splitlines() if text in line]
