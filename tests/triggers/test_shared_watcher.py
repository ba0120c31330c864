"""The shared watcher: one list request per interval tells every waiting trigger what changed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.triggers import shared_watcher as watcher_module
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher, shared_watcher
from tests.support.emulator_api import answered, list_requests
from tests.support.tasks import start_transcodes, task_json


async def wait_all(
    task_ids: list[str], poll_interval: float = 0.1, limit: float = 30, **kwargs: Any
) -> list[Any]:
    async def one(task_id: str) -> dict[str, Any]:
        [event] = [
            e.payload async for e in LivepeerTaskTrigger(task_id, poll_interval=poll_interval, **kwargs).run()
        ]
        return event

    return await asyncio.wait_for(asyncio.gather(*(one(t) for t in task_ids)), limit)


@pytest.mark.livepeer_emulator(speed=8)
async def test_many_tasks_cost_about_one_request_per_interval(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    task_ids = start_transcodes(40)
    livepeer_emulator.reset_requests()
    started = time.monotonic()
    events = await wait_all(task_ids, poll_interval=0.2)
    elapsed = time.monotonic() - started
    assert [e["status"] for e in events] == ["success"] * 40
    assert {e["livepeer_task_id"] for e in events} == set(task_ids)
    # One first look per task, then the shared list: about one request per interval, not 40.
    assert livepeer_emulator.request_count("GET", "/api/task/*") == 40
    assert list_requests(livepeer_emulator) <= elapsed / 0.2 + 2
    assert not watcher_module._WATCHERS.get(asyncio.get_running_loop()), "a watcher outlived its subscribers"


@pytest.mark.livepeer_emulator(speed=8)
async def test_many_triggers_on_one_task(livepeer_emulator: Any, emulator_conn: str) -> None:
    [task_id] = start_transcodes(1)
    events = await wait_all([task_id] * 25)
    assert all(e["status"] == "success" and e["livepeer_task_id"] == task_id for e in events)
    assert livepeer_emulator.request_count("GET", f"/api/task/{task_id}") == 1


@pytest.mark.livepeer_emulator(speed=8, faults={"latencyMs": 150})
async def test_a_task_completing_during_a_poll_is_seen(livepeer_emulator: Any, emulator_conn: str) -> None:
    # Every answer takes 150 ms, longer than the interval: changes land while a list call is in flight.
    task_ids = start_transcodes(5)
    events = await wait_all(task_ids, poll_interval=0.05)
    assert [e["status"] for e in events] == ["success"] * 5


async def test_more_than_a_page_of_updates_in_one_interval(clocked_emulator: Any) -> None:
    from livepeer_studio_emulator.timeline import Durations

    # Pending for an hour of the emulator's clock: the changes come after every real-time Date it sent
    # while the tasks were being created, however long that took.
    durations = Durations(pending=3600, waiting=1, running=1)
    emulator = clocked_emulator(max_queued_tasks=2000, durations=durations)
    task_ids = start_transcodes(1050)
    # All 1050 change at the same instant; ties sort by id, descending: the lowest three ids are on the
    # second page.
    watched = sorted(task_ids)[:3]
    run = asyncio.create_task(wait_all(watched, poll_interval=0.2))
    await answered(emulator, len(watched), "/api/task/*")  # the first looks: all pending
    emulator.reset_requests()
    emulator.state.clock.advance(4000)  # every task completes within this one interval
    events = await run
    assert [e["status"] for e in events] == ["success"] * 3
    pages = [r for r in emulator.requests if r.path == "/api/task"]
    assert any("cursor=skip1000" in r.query for r in pages), [r.query for r in pages]
    assert emulator.request_count("GET", "/api/task/*") == 0, "the list found them; no direct read needed"


@pytest.mark.parametrize(("skew", "safety_net"), [(3.0, False), (8.0, True)])
async def test_clock_skew_and_the_safety_net(
    livepeer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch, skew: float, safety_net: bool
) -> None:
    # The server stamps updatedAt with a clock `skew` seconds behind the one in its Date header.
    emulator = livepeer_emulator_factory(speed=8, clock=lambda: time.time() - skew)
    for name, value in emulator.airflow_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(SharedTaskWatcher, "safety_net_polls", 5)
    [task_id] = start_transcodes(1)
    [event] = await wait_all([task_id], poll_interval=0.1)
    assert event["status"] == "success"
    direct = emulator.request_count("GET", f"/api/task/{task_id}")
    if safety_net:
        # Beyond the overlap the list cannot see the change: the safety net's direct read found it.
        assert direct >= 2
    else:
        # Within the overlap the list saw it: the first look was the only direct read.
        assert direct == 1


async def test_a_cancelled_trigger_leaves_nothing_behind(livepeer_emulator: Any, emulator_conn: str) -> None:
    livepeer_emulator.script_outcome(task_type="transcode-file", outcome="stall")
    [task_id] = start_transcodes(1)
    run = asyncio.create_task(wait_all([task_id], poll_interval=0.05))
    await asyncio.sleep(0.3)
    watcher = shared_watcher("livepeer_default", 0.05)
    assert task_id in watcher.watched
    loop_task = watcher._loop_task
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await asyncio.sleep(0.05)
    assert not watcher.watched
    assert loop_task is not None and loop_task.done()
    assert not watcher_module._WATCHERS.get(asyncio.get_running_loop())
    await asyncio.sleep(1.0)  # a request in flight at the cancel is answered, and logged, by then
    before = livepeer_emulator.request_count()
    await asyncio.sleep(0.3)
    assert livepeer_emulator.request_count() == before, "nothing polls after the last trigger left"


async def test_fallback_when_the_filtered_list_is_refused(
    httpserver: HTTPServer, livepeer_connection: Any, caplog: pytest.LogCaptureFixture
) -> None:
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    reads = {"t1": 0, "t2": 0}

    def task_handler(request: Any) -> Any:
        from werkzeug import Response

        task_id = request.path.rsplit("/", 1)[1]
        reads[task_id] += 1
        phase = "completed" if reads[task_id] >= 3 else "running"
        body = task_json(task_id, phase, updated_at=reads[task_id])
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/task").respond_with_json(
        {"errors": ["filters not supported"]}, status=400
    )
    httpserver.expect_request("/api/task/t1").respond_with_handler(task_handler)
    httpserver.expect_request("/api/task/t2").respond_with_handler(task_handler)
    events = await wait_all(["t1", "t2"], poll_interval=0.05, livepeer_conn_id=conn_id)
    assert [e["status"] for e in events] == ["success", "success"]
    assert reads == {"t1": 3, "t2": 3}
    assert caplog.text.count("Livepeer refused the filtered task list") == 1
    assert sum(1 for r, _ in httpserver.log if r.path == "/api/task") == 1


@pytest.mark.livepeer_emulator(speed=20)
async def test_a_watcher_stopped_before_its_first_step_hands_over(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    [task_id] = start_transcodes(1)
    stale = shared_watcher("livepeer_default", 0.05)
    stale._stop()  # its last other subscriber left between shared_watcher() and this trigger's first step
    updates = [task async for task in stale.watch(task_id, None, 0.05, logging.getLogger("test"))]
    assert updates[-1].phase == "completed"
    assert not stale.watched
    assert not watcher_module._WATCHERS.get(asyncio.get_running_loop())


@pytest.mark.livepeer_emulator(speed=20)
async def test_a_failed_first_look_is_tried_again(livepeer_emulator: Any, emulator_conn: str) -> None:
    from airflow_provider_livepeer.http import RetrySettings

    [task_id] = start_transcodes(1)
    watcher = shared_watcher("livepeer_default", 0.05)
    watcher.hook.retry_settings = RetrySettings(max_attempts=1)
    livepeer_emulator.set_faults(queue=["drop"])
    events = await wait_all([task_id], poll_interval=0.05)
    assert events[0]["status"] == "success"
    reads = [r for r in livepeer_emulator.requests if r.path == f"/api/task/{task_id}"]
    assert reads[0].fault == "drop" and len(reads) >= 2


async def test_other_refusals_of_the_list_are_errors_not_a_fallback(
    httpserver: HTTPServer, livepeer_connection: Any
) -> None:
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/api/task").respond_with_json({"errors": ["conflict"]}, status=409)
    httpserver.expect_request("/api/task/t1").respond_with_json(
        task_json(),
        headers={"Date": "Sat, 28 Nov 2026 12:00:00 GMT"},
    )
    [event] = await wait_all(["t1"], poll_interval=0.05, livepeer_conn_id=conn_id)
    assert event["status"] == "error" and "HTTP 409" in event["message"]
    assert sum(1 for r, _ in httpserver.log if r.path == "/api/task/t1") == 1, "no per-task fallback"


async def test_the_fallback_skips_a_task_whose_first_look_is_under_way(livepeer_connection: Any) -> None:
    from werkzeug import Response

    server = HTTPServer(threaded=True)  # concurrent reads of one task would overlap, and show
    server.start()
    try:
        conn_id = livepeer_connection(server.url_for("/").rstrip("/"))
        in_flight = {"t1": 0, "t2": 0}
        overlapping: list[str] = []
        lock = threading.Lock()

        def task_handler(request: Any) -> Any:
            task_id = request.path.rsplit("/", 1)[1]
            with lock:
                in_flight[task_id] += 1
                if in_flight[task_id] > 1:
                    overlapping.append(task_id)
            time.sleep(0.4 if task_id == "t2" else 0)  # t2's first look outlasts several polls
            with lock:
                in_flight[task_id] -= 1
            body = task_json(task_id, "completed" if task_id == "t2" else "running")
            return Response(json.dumps(body), content_type="application/json")

        server.expect_request("/api/task").respond_with_json(
            {"errors": ["filters not supported"]}, status=400
        )
        for task_id in in_flight:
            server.expect_request(f"/api/task/{task_id}").respond_with_handler(task_handler)
        first = asyncio.create_task(wait_all(["t1"], poll_interval=0.05, livepeer_conn_id=conn_id))
        await asyncio.sleep(0.3)  # the watcher reads each task directly by now
        assert shared_watcher(conn_id, 0.05).per_task_fallback
        [event] = await wait_all(["t2"], poll_interval=0.05, livepeer_conn_id=conn_id)
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        assert event["status"] == "success"
        assert overlapping == [], "a poll read t2 while its first look was still under way"
    finally:
        server.stop()
