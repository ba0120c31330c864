"""An error reading one task is that task's alone: it ends that task's wait, never the others'.

The shared watcher reads tasks directly beside its list (first looks, the safety net, the per-task
fallback). Whatever such a read raises reaches the triggers waiting on that task: a permanent error ends
their wait, a transient one is tried again at the next poll; the other triggers of the connection wait on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import Task
from airflow_provider_livepeer.triggers import shared_watcher as watcher_module
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.shared_watcher import shared_watcher
from airflow_provider_livepeer.triggers.watcher import LastSeen
from tests.support.tasks import task_json


class BuggyReadHook(LivepeerHook):
    """Reads task ``bad`` from its ``fail_from``-th read on, then raises what no Livepeer answer gives: a
    bug's error, which the hook does not map and the watcher must keep to that task."""

    def __init__(self, livepeer_conn_id: str, fail_from: int) -> None:
        super().__init__(livepeer_conn_id)
        self.fail_from = fail_from
        self.reads: Counter[str] = Counter()

    async def aget_task(self, livepeer_task_id: str) -> Task:
        task = await super().aget_task(livepeer_task_id)
        self.reads[livepeer_task_id] += 1
        if livepeer_task_id == "bad" and self.reads[livepeer_task_id] >= self.fail_from:
            raise RuntimeError("a bug in reading task bad")
        return task


async def outcome(trigger: LivepeerTaskTrigger) -> dict[str, Any] | BaseException:
    """The trigger's one event, or what it raised."""
    try:
        [event] = [e.payload async for e in trigger.run()]
    except Exception as err:
        return err
    return event  # type: ignore[no-any-return]


def is_error(result: dict[str, Any] | BaseException) -> bool:
    """An error event, or an error the trigger raised (the triggerer fails the task with it)."""
    return isinstance(result, BaseException) or result["status"] == "error"


@pytest.mark.parametrize(
    ("bad_from_read", "list_status"),
    [(1, 200), (2, 400)],
    ids=["first-look", "per-task-fallback-read"],
)
async def test_an_error_reading_one_task_ends_only_that_tasks_wait(
    httpserver: HTTPServer,
    livepeer_connection: Any,
    caplog: pytest.LogCaptureFixture,
    bad_from_read: int,
    list_status: int,
) -> None:
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    reads: Counter[str] = Counter()

    def task_handler(request: Request) -> Response:
        task_id = request.path.rsplit("/", 1)[1]
        reads[task_id] += 1
        phase = "completed" if task_id == "good" and reads[task_id] >= 3 else "running"
        body = task_json(task_id, phase, updated_at=reads[task_id])
        return Response(json.dumps(body), content_type="application/json")

    # 400: Livepeer refused the filtered list, so every poll reads each task directly, all at once.
    listed: Any = [] if list_status == 200 else {"errors": ["filters not supported"]}
    httpserver.expect_request("/api/task").respond_with_json(listed, status=list_status)
    httpserver.expect_request("/api/task/bad").respond_with_handler(task_handler)
    httpserver.expect_request("/api/task/good").respond_with_handler(task_handler)

    started = time.monotonic()
    end_time = time.time() + 10

    def trigger(task_id: str) -> LivepeerTaskTrigger:
        return LivepeerTaskTrigger(task_id, conn_id, poll_interval=0.05, end_time=end_time)

    # The connection's watcher, which the triggers below find, reads through the buggy hook.
    shared_watcher(conn_id, 0.05).hook = BuggyReadHook(conn_id, bad_from_read)
    bad, good = await asyncio.gather(outcome(trigger("bad")), outcome(trigger("good")))
    assert is_error(bad), bad
    assert "a bug in reading task bad" in str(bad)
    [logged] = [r for r in caplog.records if r.name == watcher_module.__name__ and r.exc_info]
    assert logged.getMessage() == "Reading Livepeer task bad failed unexpectedly"
    assert logged.exc_info is not None and logged.exc_info[0] is RuntimeError  # its traceback is logged
    assert not isinstance(good, BaseException) and good["status"] == "success", good
    assert time.monotonic() - started < 8, "the failed read ended its wait, not the timeout"
    assert not watcher_module._WATCHERS.get(asyncio.get_running_loop()), "a watcher outlived its subscribers"


async def test_a_last_look_the_watcher_cannot_start_from_fails_that_wait_and_leaves_nothing_behind(
    httpserver: HTTPServer, livepeer_connection: Any
) -> None:

    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    watcher = shared_watcher(conn_id, 0.05)
    # Trigger kwargs are JSON from the metadata database: an updatedAt that is not a number is refused.
    broken = LastSeen(at=time.time(), phase="running", updated_at="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        async for _ in watcher.watch("t1", broken, 0.05, logging.getLogger("test")):
            pass
    assert not watcher.watched
    assert not watcher_module._WATCHERS.get(asyncio.get_running_loop()), "an idle watcher stayed registered"
    assert not httpserver.log, "nothing was read"
