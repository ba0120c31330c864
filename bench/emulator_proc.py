"""The Livepeer emulator in a process of its own, driven by JSON lines on stdin (a benchmark helper).

The benchmark measures the client side (the triggerer, a worker's pokes) with ``time.process_time()``; an
emulator started with ``run_emulator`` would share that process and its CPU clock, so it runs here
instead. Start it with ``python bench/emulator_proc.py``; it answers every command with one JSON line on
stdout, the first being ``{"url": ..., "api_key": ...}`` once it listens on a free loopback port.

Commands (one JSON object per line):

* ``{"cmd": "create", "n": N, "seed": S, "start": T, "min_s": A, "max_s": B}``: make N ``transcode-file``
  tasks (S3 input: nothing is fetched) that complete at random times, uniformly between ``T + A`` and
  ``T + B`` (Unix seconds; ``T`` defaults to now), each with the default 10 progress steps while it
  runs. ``"stall": true`` makes tasks that run for ever instead. Answers ``{"tasks": [{"id",
  "completes_ms"}]}``; ``completes_ms`` is the ``status.updatedAt`` the task will have once completed.
* ``{"cmd": "reset"}``: forget tasks and requests.
* ``{"cmd": "reset_requests"}``: forget the requests counted so far (a read after it is a first read
  again).
* ``{"cmd": "requests", "since": T0, "until": T1}``: the API requests received in that window:
  ``{"total", "by_kind": {"list": n, "first_get": n, "repeat_get": n, "other": n}, "later_at": [...],
  "first_get_last_at": T, "first_list_at": L}``, where ``first_get`` is the first ``GET /api/task/{id}`` of
  a task since the last reset, ``later_at`` the times the other requests were answered, ``all_at`` those
  of all of them, ``T`` when the
  last first read was, ``L`` the first list request and ``list_at`` the times of all list requests.
* ``{"cmd": "views", "ids": [...]}``: ``{id: status}`` as the task's owner would read it now.
* ``{"cmd": "cpu"}``: this process's CPU seconds so far (the emulator's load, for information).
* ``{"cmd": "quit"}``.

Unlike the emulator's own request log (the last 10 000 requests), every request is counted here.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import threading
import time
from typing import Any

from livepeer_studio_emulator import payloads
from livepeer_studio_emulator.outcomes import Outcome
from livepeer_studio_emulator.request_log import RequestLog, RequestRecord
from livepeer_studio_emulator.samples import S3_INPUT, S3_OUTPUT
from livepeer_studio_emulator.server import start_emulator
from livepeer_studio_emulator.state import EmulatorState
from livepeer_studio_emulator.timeline import Durations

API_KEY = "bench-emulator-key"
# Phases before a task runs; the rest of its life is spent running, with progress steps.
PENDING_S = 0.2
WAITING_S = 0.2


class CountingLog(RequestLog):
    """The emulator's request log, also keeping every API request as (time, kind), with no size limit."""

    def __init__(self) -> None:
        super().__init__()
        self.bench_lock = threading.Lock()
        self.bench_log: list[tuple[float, str]] = []
        self.bench_seen: set[str] = set()

    def add(self, record: RequestRecord) -> None:
        super().add(record)
        with self.bench_lock:
            if record.method == "GET" and record.path == "/api/task":
                kind = "list"
            elif record.method == "GET" and record.path.startswith("/api/task/"):
                kind = "repeat_get" if record.path in self.bench_seen else "first_get"
                self.bench_seen.add(record.path)
            else:
                kind = "other"
            self.bench_log.append((record.at, kind))

    def bench_reset(self) -> None:
        with self.bench_lock:
            self.bench_log.clear()
            self.bench_seen.clear()


class CountingState(EmulatorState):
    """The emulator's state, its requests logged by a :class:`CountingLog` (``counts``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts = CountingLog()
        self.request_log = self.counts

    def _check_capacity(self, account: Any, now: int) -> None:
        """No queue limit here: the benchmark makes thousands of tasks, and counting the queue on every
        create (as the emulator does) would make that quadratic."""


def create(state: CountingState, command: dict[str, Any]) -> dict[str, Any]:
    rng = random.Random(command.get("seed", 0))
    start = float(command.get("start") or time.time())
    stall = bool(command.get("stall"))
    account = state.account()
    base = state.durations
    tasks = []
    try:
        for number in range(int(command["n"])):
            body = {"input": S3_INPUT, "storage": S3_OUTPUT, "outputs": {"hls": {"path": f"/o/{number}"}}}
            payload = payloads.TranscodePayload.model_validate(body)
            completes_at = start + rng.uniform(float(command["min_s"]), float(command["max_s"]))
            running = max(0.5, completes_at - time.time() - PENDING_S - WAITING_S)
            state.durations = Durations(pending=PENDING_S, waiting=WAITING_S, running=running)
            outcome = Outcome("stall") if stall else None
            task = state.create_transcode(account, payload, outcome)
            timeline = state.debug_task(task["id"])["timeline"]
            end = timeline[-1]
            tasks.append(
                {"id": task["id"], "completes_ms": None if stall else end["updatedAt"], "phase": end["phase"]}
            )
    finally:
        state.durations = base
    return {"tasks": tasks}


def requests_in(state: CountingState, command: dict[str, Any]) -> dict[str, Any]:
    since = float(command.get("since") or 0.0)
    until = float(command.get("until") or time.time() + 1e9)
    counts = state.counts
    with counts.bench_lock:
        window = [entry for entry in counts.bench_log if since <= entry[0] <= until]
    by_kind = {"list": 0, "first_get": 0, "repeat_get": 0, "other": 0}
    for _, kind in window:
        by_kind[kind] += 1
    first_gets = [at for at, kind in window if kind == "first_get"]
    lists = [at for at, kind in window if kind == "list"]
    return {
        "first_list_at": min(lists, default=None),
        "list_at": lists,
        "total": len(window),
        "by_kind": by_kind,
        "later_at": [at for at, kind in window if kind != "first_get"],
        "all_at": [at for at, _ in window],
        "first_get_last_at": max(first_gets, default=None),
    }


def main() -> int:
    state = CountingState([API_KEY], max_queued_tasks=1_000_000, job_workers=1)
    handle = start_emulator(state=state)
    print(json.dumps({"url": handle.url, "api_key": API_KEY}), flush=True)
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            command = json.loads(line)
            name = command.get("cmd")
            answer: dict[str, Any]
            if name == "create":
                answer = create(state, command)
            elif name == "reset":
                state.reset()
                state.counts.bench_reset()
                answer = {"ok": True}
            elif name == "reset_requests":
                state.counts.bench_reset()
                answer = {"ok": True}
            elif name == "requests":
                answer = requests_in(state, command)
            elif name == "views":
                answer = {task_id: state.task_view(task_id)["status"] for task_id in command["ids"]}
            elif name == "cpu":
                usage = resource.getrusage(resource.RUSAGE_SELF)
                answer = {"cpu_s": usage.ru_utime + usage.ru_stime}
            elif name == "quit":
                print(json.dumps({"ok": True}), flush=True)
                break
            else:
                answer = {"error": f"unknown command {name!r}"}
            print(json.dumps(answer), flush=True)
    finally:
        handle.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
