"""Deferred waits start from what the worker last saw: no read when they subscribe, none after a restart.

The sensor and the operators put their last look at the task (phase, ``updatedAt``, the server's clock of
that answer) in the trigger's kwargs; the shared watcher takes it as its first look, and a trigger rebuilt
from those kwargs after a triggerer restart catches up through the list.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from livepeer_studio_emulator.timeline import Durations

from airflow_provider_livepeer.operators.livepeer import LivepeerTranscodeOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher, shared_watcher
from tests.support.emulator_api import answered
from tests.support.running import RecordingTI, StateStore, context
from tests.support.tasks import S3_INPUT, S3_OUTPUT, start_transcodes


@pytest.fixture
def still_emulator(clocked_emulator: Any) -> Any:
    """An emulator whose tasks move only when its clock is advanced, as the default connection.

    Tasks stay pending for an hour of its clock, so however long the test takes to create them, their
    later changes are stamped after every real-time ``Date`` the emulator sends meanwhile.
    """
    return clocked_emulator(max_queued_tasks=2000, durations=Durations(pending=3600, waiting=1, running=1))


def stored_kwargs(operator: Any, ctx: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a deferrable operator to its deferral; the trigger kwargs as the metadata DB keeps them."""
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(ctx or context())
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == "airflow_provider_livepeer.triggers.livepeer.LivepeerTaskTrigger"
    return json.loads(json.dumps(kwargs))  # type: ignore[no-any-return]


def sensor_for(task_id: str, poke_interval: float) -> LivepeerTaskSensor:
    return LivepeerTaskSensor(
        task_id="wait", livepeer_task_id=task_id, deferrable=True, poke_interval=poke_interval, timeout=60
    )


async def run_all(kwargs_list: list[dict[str, Any]], limit: float = 30) -> list[dict[str, Any]]:
    async def one(kwargs: dict[str, Any]) -> dict[str, Any]:
        [event] = [e.payload async for e in LivepeerTaskTrigger(**kwargs).run()]
        return event

    return await asyncio.wait_for(asyncio.gather(*(one(k) for k in kwargs_list)), limit)


async def list_times(emulator: Any, count: int) -> list[float]:
    """When the next ``count`` list requests were answered (Unix seconds), waiting for them."""
    seen = emulator.request_count("GET", "/api/task")
    await answered(emulator, seen + count)
    return [r.at for r in emulator.requests if r.path == "/api/task"][seen : seen + count]


def direct_reads(emulator: Any) -> int:
    return emulator.request_count("GET", "/api/task/*")  # type: ignore[no-any-return]


async def test_deferred_sensors_start_from_their_poke_without_a_read(still_emulator: Any) -> None:
    task_ids = start_transcodes(40)
    waits = [stored_kwargs(sensor_for(task_id, 0.1)) for task_id in task_ids]
    for task_id, kwargs in zip(task_ids, waits, strict=True):
        status = still_emulator.task(task_id)["status"]
        assert (kwargs["last_phase"], kwargs["last_updated_at"]) == (status["phase"], status["updatedAt"])
        assert abs(kwargs["last_seen_at"] - time.time()) < 5
    still_emulator.reset_requests()
    running = asyncio.ensure_future(run_all(waits))
    await list_times(still_emulator, 2)  # two intervals of waiting on tasks that do not move
    assert not running.done()
    assert direct_reads(still_emulator) == 0, "no trigger read its task when it subscribed"
    still_emulator.state.clock.advance(4000)  # every task completes
    events = await running
    assert [e["status"] for e in events] == ["success"] * 40
    assert [e["livepeer_task_id"] for e in events] == task_ids
    assert direct_reads(still_emulator) == 0, "the list told every trigger"


async def test_a_deferred_operator_starts_from_its_create_answer(still_emulator: Any) -> None:
    operator = LivepeerTranscodeOperator(
        task_id="transcode",
        input=S3_INPUT,
        storage=S3_OUTPUT,
        outputs={"hls": {"path": "/o/op"}},
        deferrable=True,
        poll_interval=0.1,
    )
    ti = RecordingTI(task_id="transcode")
    kwargs = stored_kwargs(operator, context(ti, task_state_store=StateStore()))
    task_id = ti.xcoms["livepeer_task_id"]
    assert kwargs["livepeer_task_id"] == task_id
    # The create call's answer shows no phase, only that the task existed at that server time.
    assert kwargs["last_phase"] is None and abs(kwargs["last_seen_at"] - time.time()) < 5
    still_emulator.reset_requests()
    running = asyncio.ensure_future(run_all([kwargs]))
    await asyncio.sleep(0.3)
    still_emulator.state.clock.advance(4000)
    [event] = await running
    assert event["status"] == "success" and event["livepeer_task_id"] == task_id
    assert direct_reads(still_emulator) == 0


async def test_changes_made_while_no_triggerer_ran_are_caught_up_from_the_list(still_emulator: Any) -> None:
    task_ids = start_transcodes(1050)
    # All 1050 will change at the same instant; ties sort by id, descending, so the lowest ids come on
    # the second page of the catch-up list.
    ordered = sorted(task_ids)
    waited = ordered[:25] + ordered[-25:]
    # Long enough that no second poll comes while the first one's pages are read, however slow the machine:
    # every request counted below belongs to the first poll, sent at once.
    interval = 60.0
    waits = [stored_kwargs(sensor_for(task_id, interval)) for task_id in waited]
    # The triggerer is down; meanwhile every task completes.
    still_emulator.state.clock.advance(4000)
    still_emulator.reset_requests()
    events = await run_all(waits)
    assert [(e["status"], e["livepeer_task_id"]) for e in events] == [("success", t) for t in waited]
    assert direct_reads(still_emulator) == 0, "the list vouched for every task"
    pages = [r.query for r in still_emulator.requests if r.path == "/api/task"]
    assert still_emulator.request_count() == len(pages) == 2, pages
    assert "cursor=skip1000" in pages[1]


async def test_tasks_beyond_the_catch_up_pages_are_read_directly(
    still_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SharedTaskWatcher, "catch_up_pages", 1)
    task_ids = start_transcodes(1050)
    ordered = sorted(task_ids)
    on_second_page, on_first_page = ordered[:10], ordered[-10:]
    # A long interval: everything must be found in the first round, with no second list on a slow machine.
    waits = [stored_kwargs(sensor_for(t, 5.0)) for t in on_second_page + on_first_page]
    still_emulator.state.clock.advance(4000)
    still_emulator.reset_requests()
    events = await run_all(waits)
    assert [e["status"] for e in events] == ["success"] * 20
    assert still_emulator.request_count("GET", "/api/task") == 1, "one page, as budgeted"
    assert {r.path.rsplit("/", 1)[1] for r in still_emulator.requests if r.path != "/api/task"} == set(
        on_second_page
    ), "only the tasks the page could not vouch for were read"


@pytest.mark.livepeer_emulator(speed=8)
async def test_the_watcher_polls_at_the_shortest_interval_of_its_current_subscribers(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    livepeer_emulator.script_outcome(task_type="transcode-file", outcome="stall")
    fast_id, slow_id = start_transcodes(2)
    fast = asyncio.ensure_future(run_all([{"livepeer_task_id": fast_id, "poll_interval": 0.05}]))
    slow = asyncio.ensure_future(run_all([{"livepeer_task_id": slow_id, "poll_interval": 0.6}]))
    await asyncio.sleep(0.3)
    watcher = shared_watcher("livepeer_default", 0.6)
    assert watcher.poll_interval == 0.05
    # Five lists come in far less than the 2.4 s four intervals of 0.6 s would take at the least.
    lists = await list_times(livepeer_emulator, 5)
    assert lists[-1] - lists[0] < 2.4, lists
    fast.cancel()  # the fast subscriber leaves: the watcher slows down to the one left
    with pytest.raises(asyncio.CancelledError):
        await fast
    await asyncio.sleep(0.05)
    assert watcher.poll_interval == 0.6
    # Slower now: never more than four lists in 1.9 s, and two in a row at least an interval apart (a
    # bound a slow machine only widens).
    before = livepeer_emulator.request_count("GET", "/api/task")
    await asyncio.sleep(1.9)
    assert livepeer_emulator.request_count("GET", "/api/task") - before <= 4
    lists = await list_times(livepeer_emulator, 2)
    assert lists[1] - lists[0] >= 0.5, lists
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
