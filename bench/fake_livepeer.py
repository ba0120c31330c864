"""A fake Livepeer for the scale benchmark: N tasks whose states are a function of the clock, served fast.

Not the emulator: it answers a page of 1000 tasks in milliseconds whatever N is, so that the triggerer's
own cost is what the benchmark measures. ``GET /api/task`` (``updatedAt`` ``gt`` filter, ``updatedAt``
then ``id`` descending, ``limit``, ``cursor=skipN``, a ``Link`` to the next page) and
``GET /api/task/{id}``, as Livepeer answers them; ``GET /_stats`` counts the requests.

* idle: every task runs, its ``updatedAt`` fixed at the start;
* busy: every task's ``updatedAt`` moves every ``--period`` seconds (the tasks spread over the period), as
  Livepeer's running tasks report progress;
* probes: ``POST /_complete`` ``{"ids": [...]}`` completes tasks now (their ``updatedAt``: that moment).

Run: ``python bench/fake_livepeer.py --tasks N --mode idle|busy --port P``; it prints ``ready`` once
listening.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

from aiohttp import web

PAGE_LIMIT = 1000


class Tasks:
    """The fake tasks, and the clock their ``updatedAt`` follows."""

    def __init__(self, count: int, busy: bool, period: float) -> None:
        self.ids = [f"task-{n:05d}" for n in range(count)]
        self.busy = busy
        self.period_ms = int(period * 1000)
        self.start_ms = int(time.time() * 1000)
        # Busy tasks report at evenly spread offsets within the period.
        self.offsets = {task_id: n * self.period_ms // max(count, 1) for n, task_id in enumerate(self.ids)}
        self.completed: dict[str, int] = {}

    def updated_at(self, task_id: str, now_ms: int) -> int:
        if task_id in self.completed:
            return self.completed[task_id]
        if not self.busy:
            return self.start_ms
        offset = self.offsets[task_id]
        return now_ms - (now_ms - self.start_ms - offset) % self.period_ms

    def json(self, task_id: str, now_ms: int) -> dict[str, Any]:
        phase = "completed" if task_id in self.completed else "running"
        status: dict[str, Any] = {"phase": phase, "updatedAt": self.updated_at(task_id, now_ms)}
        if phase == "running":
            status["progress"] = 0.5
        return {"id": task_id, "type": "upload", "createdAt": self.start_ms, "status": status}

    def changed_since(self, since_ms: int, now_ms: int) -> list[tuple[int, str]]:
        """(updatedAt, id) of the tasks updated after ``since_ms``, newest first."""
        if self.busy:
            rows = [(self.updated_at(task_id, now_ms), task_id) for task_id in self.ids]
        else:
            rows = [(self.start_ms, task_id) for task_id in self.ids if task_id not in self.completed]
            rows += [(at, task_id) for task_id, at in self.completed.items()]
        rows = [row for row in rows if row[0] > since_ms]
        rows.sort(reverse=True)
        return rows


def app(tasks: Tasks) -> web.Application:
    counts: Counter[str] = Counter()

    async def list_tasks(request: web.Request) -> web.Response:
        counts["list"] += 1
        now_ms = int(time.time() * 1000)
        since = 0
        for item in json.loads(request.query.get("filters", "[]")):
            if item.get("id") == "updatedAt":
                since = int(item["value"]["gt"])
        limit = min(int(request.query.get("limit", "20")), PAGE_LIMIT)
        skip = int(request.query.get("cursor", "skip0").removeprefix("skip") or 0)
        rows = tasks.changed_since(since, now_ms)
        page = rows[skip : skip + limit]
        headers = {}
        if skip + limit < len(rows):
            query = dict(request.query)
            query["cursor"] = f"skip{skip + limit}"
            headers["Link"] = f'<{request.url.with_query(query)}>; rel="next"'
        body = [tasks.json(task_id, now_ms) for _, task_id in page]
        return web.json_response(body, headers=headers)

    async def get_task(request: web.Request) -> web.Response:
        counts["read"] += 1
        task_id = request.match_info["task_id"]
        if task_id not in tasks.offsets:
            return web.json_response({"errors": ["not found"]}, status=404)
        return web.json_response(tasks.json(task_id, int(time.time() * 1000)))

    async def complete(request: web.Request) -> web.Response:
        now_ms = int(time.time() * 1000)
        for task_id in (await request.json())["ids"]:
            tasks.completed[task_id] = now_ms
        return web.json_response({"at": now_ms})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    application = web.Application()
    application.router.add_get("/api/task", list_tasks)
    application.router.add_get("/api/task/{task_id}", get_task)
    application.router.add_post("/_complete", complete)
    application.router.add_get("/_stats", stats)
    return application


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, required=True)
    parser.add_argument("--mode", choices=("idle", "busy"), required=True)
    parser.add_argument("--period", type=float, default=3.0)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    tasks = Tasks(args.tasks, args.mode == "busy", args.period)
    web.run_app(app(tasks), host="127.0.0.1", port=args.port, print=lambda *_: print("ready", flush=True))


if __name__ == "__main__":
    main()
