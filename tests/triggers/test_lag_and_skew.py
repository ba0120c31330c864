"""Replica lag and clock skew: the shared watcher's overlap covers them below it, its safety net beyond.

The emulator serves its task list ``list_lag`` seconds behind single-task reads and stamps ``updatedAt``
``clock_offset`` seconds off the ``Date`` header. The trigger starts as the transcode operator leaves it:
it knows the task exists (``last_seen_at``), nothing more.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from livepeer_studio_emulator.timeline import Durations

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher
from tests.support.tasks import start_transcode

INTERVAL = 0.5
# The task changes once, 8.5 s after it is made: long after the trigger's start left the overlap.
DURATIONS = Durations(pending=8.0, waiting=0.2, running=0.3, progress_steps=1)


async def _detection_delay(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> float:
    for name, value in emulator.airflow_env("livepeer_default").items():
        monkeypatch.setenv(name, value)
    task_id = start_transcode(LivepeerHook()).task.id
    emulator.reset_requests()
    trigger = LivepeerTaskTrigger(task_id, poll_interval=INTERVAL, last_seen_at=time.time())
    events = [event.payload async for event in trigger.run()]
    seen_at = time.time()
    assert [event["status"] for event in events] == ["success"]
    completed = emulator.state.debug_task(task_id)["timeline"][-1]
    assert completed["phase"] == "completed"
    return seen_at - completed["updatedAt"] / 1000


@pytest.mark.parametrize(("list_lag", "clock_offset"), [(3.0, 0.0), (0.0, -3.0)], ids=["lag-3s", "skew-3s"])
async def test_the_overlap_covers_lag_and_skew_below_it(
    livepeer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, list_lag: float, clock_offset: float
) -> None:
    assert list_lag < SharedTaskWatcher.overlap and -clock_offset < SharedTaskWatcher.overlap
    # No safety-net read: the task waits unmentioned for about ten rounds before it completes, and a
    # safety-net read then could see the completion before the list, whose timing this test measures.
    monkeypatch.setattr(SharedTaskWatcher, "safety_net_polls", 1000)
    emulator = livepeer_emulator_factory(durations=DURATIONS, list_lag=list_lag, clock_offset=clock_offset)
    delay = await asyncio.wait_for(_detection_delay(emulator, monkeypatch), 40)
    # The list reported the change as soon as the replica had it (a direct read would have been sooner).
    assert list_lag - INTERVAL <= delay < list_lag + INTERVAL + 1.0, delay
    # The only direct reads: while the lagging list did not show the new task yet (the watcher takes a
    # task the list leaves out of its window for one it does not show, until the list shows it).
    assert emulator.request_count("GET", "/api/task/*") <= list_lag / INTERVAL + 2


@pytest.mark.parametrize(("list_lag", "clock_offset"), [(8.0, 0.0), (0.0, -8.0)], ids=["lag-8s", "skew-8s"])
async def test_the_safety_net_finds_a_change_beyond_the_overlap(
    livepeer_emulator_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
    list_lag: float,
    clock_offset: float,
    record_property: Any,
) -> None:
    emulator = livepeer_emulator_factory(durations=DURATIONS, list_lag=list_lag, clock_offset=clock_offset)
    delay = await asyncio.wait_for(_detection_delay(emulator, monkeypatch), 60)
    record_property("detection_delay_s", round(delay, 2))
    print(f"detection delay beyond the overlap ({list_lag=}, {clock_offset=}): {delay:.2f} s")
    # The list never shows the change inside its window: a direct read does, within the safety net's
    # period (safety_net_polls intervals) plus a second of slack.
    assert emulator.request_count("GET", "/api/task/*") >= 1
    assert delay < SharedTaskWatcher.safety_net_polls * INTERVAL + 1.0, delay
