"""The shape of the shared watcher's cost: one polling round with nothing changed costs the same work at
100 and at 10,000 waiting tasks.

Work is counted, not timed: the lines of Python one round runs (the list request, the safety net's batch
of direct reads, the bookkeeping), against a small server on loopback that answers an empty list and an
unchanged running task. A pass over every watched task would add tens of thousands of lines.
"""

from __future__ import annotations

import gc
import json
import re
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher
from airflow_provider_livepeer.triggers.watched_tasks import start_from
from airflow_provider_livepeer.triggers.watcher import LastSeen
from tests.support.tasks import task_json

UPDATED_AT = 1_700_000_000_000
# Allowance for what varies between two rounds that do the same work (how the answers' bytes arrive).
NOISE = 1.15


def _answer_task(request: Request) -> Response:
    task_id = request.path.rsplit("/", 1)[-1]
    return Response(json.dumps(task_json(task_id, updated_at=UPDATED_AT)), content_type="application/json")


async def _calls_of_an_idle_round(conn_id: str, waits: int) -> tuple[int, int]:
    """Lines of Python one steady-state round of ``waits`` idle tasks runs, and the full collections."""
    watcher = SharedTaskWatcher(conn_id, poll_interval=3600)
    now = time.time()
    watcher.window.since = now - 60  # a round has answered: the tasks start covered
    for n in range(waits):
        watched = watcher.watched.add(f"task-{n:05d}")
        watcher._seen(watched, start_from(watched, LastSeen(now, "running", UPDATED_AT)) or now)
    try:
        for _ in range(watcher.safety_net_polls + 1):
            await watcher._poll()  # into the steady state: the safety net reads its batch each round
        # The set-up's own objects (the waits just made) are owed one full collection; a steady state
        # starts after it.
        gc.collect()
        counts = []
        full_collections = 0

        def count_full(phase: str, info: dict[str, Any]) -> None:
            nonlocal full_collections
            full_collections += phase == "start" and info["generation"] == 2

        gc.callbacks.append(count_full)
        try:
            for _ in range(3):
                lines = 0

                def count(frame: FrameType, event: str, arg: object) -> Any:
                    nonlocal lines
                    lines += event == "line"
                    return count

                sys.settrace(count)
                try:
                    await watcher._poll()
                finally:
                    sys.settrace(None)
                counts.append(lines)
        finally:
            gc.callbacks.remove(count_full)
        return min(counts), full_collections
    finally:
        await watcher.hook.aclose()


async def test_an_idle_round_costs_the_same_at_100_and_at_10000_waits(
    httpserver: HTTPServer, livepeer_connection: Callable[..., str]
) -> None:
    httpserver.expect_request("/api/task", method="GET").respond_with_json([])
    httpserver.expect_request(re.compile(r"/api/task/[^/]+"), method="GET").respond_with_handler(_answer_task)
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"), conn_id="round_cost")
    few, _ = await _calls_of_an_idle_round(conn_id, 100)
    many, full_collections = await _calls_of_an_idle_round(conn_id, 10_000)
    print(f"Lines of Python in one idle round: {few} at 100 waits, {many} at 10,000")
    assert many <= few * NOISE, f"{many} lines at 10,000 waits against {few} at 100: the round grows with N"
    assert full_collections == 0, "a steady idle round left nothing for a full collection to do"
    reads = [entry for entry, _ in httpserver.log if entry.path.startswith("/api/task/")]
    assert reads, "the safety net read its batch: the rounds measured did the same work"
