"""What a watcher logs about a trigger's task goes to that trigger's log, which Airflow writes to the task's.

A trigger logs through ``self.log``; Airflow routes it to the log of the task instance that deferred. The
watchers log their lines about a task (a read that failed for now, a task the list does not show) through
that logger too, so a person reading the task's log sees why its wait took longer.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import pytest

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.http import ApiRequest, ApiResponse, RetrySettings
from airflow_provider_livepeer.triggers import livepeer as trigger_module
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.shared_watcher import shared_watcher
from tests.support.tasks import start_transcodes

UNREADABLE = "could not be read, trying again"


def trigger_lines(
    trigger: LivepeerTaskTrigger,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    text: str,
) -> list[str]:
    """The lines with ``text`` logged through the trigger's logger.

    Airflow 2's trigger logger is a standard one (``caplog``); Airflow 3's is structlog's, which prints
    the logger's name in brackets.
    """
    name = trigger.log.name
    lines = [r.getMessage() for r in caplog.records if r.name == name and text in r.getMessage()]
    out, err = capfd.readouterr()
    return lines + [line for line in (out + err).splitlines() if text in line and f"[{name}]" in line]


async def run(trigger: LivepeerTaskTrigger) -> dict[str, Any]:
    [event] = [e.payload async for e in trigger.run()]
    return event  # type: ignore[no-any-return]


class OneTryHook(LivepeerHook):
    """The hook, trying each call once: a 503 reaches the watcher instead of being retried."""

    def __init__(self, livepeer_conn_id: str = LivepeerHook.default_conn_name) -> None:
        super().__init__(livepeer_conn_id, max_attempts=1)


@pytest.mark.livepeer_emulator(speed=20)
async def test_the_polling_watchers_warning_goes_to_the_triggers_log(
    livepeer_emulator: Any,
    emulator_conn: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(trigger_module, "LivepeerHook", OneTryHook)
    [task_id] = start_transcodes(1)
    livepeer_emulator.set_faults(queue=["503"])
    trigger = LivepeerTaskTrigger(task_id, poll_interval=0.05, shared_polling=False)
    event = await asyncio.wait_for(run(trigger), 30)
    assert event["status"] == "success"
    [line] = trigger_lines(trigger, caplog, capfd, UNREADABLE)
    assert task_id in line and "503" in line


@pytest.mark.livepeer_emulator(speed=20)
async def test_the_shared_watchers_warning_goes_to_the_log_of_each_trigger_of_that_task(
    livepeer_emulator: Any,
    emulator_conn: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    [task_id] = start_transcodes(1)
    watcher = shared_watcher("livepeer_default", 0.05)
    watcher.hook.retry_settings = RetrySettings(max_attempts=1)
    livepeer_emulator.set_faults(queue=["503"])
    trigger = LivepeerTaskTrigger(task_id, poll_interval=0.05)
    event = await asyncio.wait_for(run(trigger), 30)
    assert event["status"] == "success"
    [line] = trigger_lines(trigger, caplog, capfd, UNREADABLE)
    assert task_id in line and "503" in line


TRIGGER_CONTEXT: contextvars.ContextVar[str] = contextvars.ContextVar("trigger_context")


@pytest.mark.livepeer_emulator(speed=20)
async def test_the_shared_poller_runs_outside_the_context_of_the_trigger_that_started_it(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    """Airflow binds each trigger's log routing in context variables; the poller serves every trigger."""
    [task_id] = start_transcodes(1)
    watcher = shared_watcher("livepeer_default", 0.05)
    contexts_of_requests: list[str | None] = []
    send = watcher.hook._asend

    async def recording_send(request: ApiRequest) -> ApiResponse:
        contexts_of_requests.append(TRIGGER_CONTEXT.get(None))
        return await send(request)

    watcher.hook._asend = recording_send  # type: ignore[method-assign]

    async def first_trigger() -> dict[str, Any]:
        TRIGGER_CONTEXT.set("the first trigger's log")
        return await run(LivepeerTaskTrigger(task_id, poll_interval=0.05))

    event = await asyncio.wait_for(first_trigger(), 30)
    assert event["status"] == "success"
    assert contexts_of_requests, "the poller sent no request"
    assert set(contexts_of_requests) == {None}
