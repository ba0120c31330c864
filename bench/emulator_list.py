"""Time of one task-list page from the emulator, as the shared watcher asks for it (a one-off measurement).

``python bench/emulator_list.py [N]`` (default 10,000) makes N ``transcode-file`` tasks on a stopped
clock, one every 20 ms of emulator time (each lives 7 s: 1 s waiting, 6 s running), then times
``GET /api/task?filters=[updatedAt gt T]&order=updatedAt-true,id-true&limit=1000&count=1`` over HTTP on
127.0.0.1 for a few ``T``: wall time per request, median of 7 after one warm-up, and the emulator's CPU
time per request. The emulator runs in a forked process, so the client does not share its interpreter;
its clock stands still, so every request sees the same tasks. ``bench/results/emulator-list.md`` holds a
run before and after the list index.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import statistics
import sys
import time
from typing import Any

import requests
from livepeer_studio_emulator import payloads
from livepeer_studio_emulator.clock import ManualClock
from livepeer_studio_emulator.samples import S3_INPUT, S3_OUTPUT
from livepeer_studio_emulator.server import start_emulator
from livepeer_studio_emulator.state import EmulatorState

KEY = "bench-key"
START_S = 1_700_000_000.0
STEP_S = 0.02
RUNS = 7


class UnlimitedState(EmulatorState):
    """No queue limit: counting the queue on every create would make making N tasks quadratic."""

    def _check_capacity(self, account: Any, now: int) -> None:
        pass


def serve(n: int, pipe: Any) -> None:
    """The emulator's process: make the tasks, serve them, answer CPU readings until told to stop."""
    clock = ManualClock(START_S)
    state = UnlimitedState([KEY], clock=clock, job_workers=1)
    account = state.account()
    for number in range(n):
        body = {"input": S3_INPUT, "storage": S3_OUTPUT, "outputs": {"hls": {"path": f"/o/{number}"}}}
        state.create_transcode(account, payloads.TranscodePayload.model_validate(body))
        clock.advance(STEP_S)
    handle = start_emulator(state=state)
    pipe.send((handle.url, int(clock() * 1000)))
    while pipe.recv() == "cpu":
        usage = resource.getrusage(resource.RUSAGE_SELF)
        pipe.send(usage.ru_utime + usage.ru_stime)
    handle.stop()


def page_ms(
    session: requests.Session, url: str, params: dict[str, str], pipe: Any
) -> tuple[float, float, int, int]:
    """Median wall ms of the request, the emulator's CPU ms per request, the page's length and its
    ``X-Total-Count``."""
    times = []
    answer = session.get(url, params=params)  # warm-up
    pipe.send("cpu")
    cpu = pipe.recv()
    for _ in range(RUNS):
        began = time.perf_counter()
        answer = session.get(url, params=params)
        times.append((time.perf_counter() - began) * 1000)
        answer.raise_for_status()
    pipe.send("cpu")
    cpu_ms = (pipe.recv() - cpu) * 1000 / RUNS
    total = int(answer.headers.get("X-Total-Count", 0))
    return statistics.median(times), cpu_ms, len(answer.json()), total


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    pipe, child_end = multiprocessing.Pipe()
    emulator = multiprocessing.get_context("fork").Process(target=serve, args=(n, child_end))
    emulator.start()
    url, now_ms = pipe.recv()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {KEY}"
    print(f"N = {n}; emulator time {n * STEP_S:.0f} s after the first task; load {os.getloadavg()[0]:.1f}")
    print("| tasks | matching | page | wall ms (median) | emulator CPU ms |\n|---|---|---|---|---|")
    cases = [
        ("nothing changed since T", now_ms, ""),
        ("changed in the last 5 s", now_ms - 5_000, ""),
        ("changed in the last 30 s", now_ms - 30_000, ""),
        ("all (T = 0), first page", 0, ""),
        ("all (T = 0), last page", 0, f"skip{max(0, n - 1000)}"),
    ]
    try:
        for name, since, cursor in cases:
            params = {
                "filters": json.dumps([{"id": "updatedAt", "value": {"gt": since}}]),
                "order": "updatedAt-true,id-true",
                "limit": "1000",
                "count": "1",
            }
            if cursor:
                params["cursor"] = cursor
            ms, cpu_ms, length, total = page_ms(session, f"{url}/api/task", params, pipe)
            print(f"| {name} | {total} | {length} | {ms:.1f} | {cpu_ms:.1f} |")
    finally:
        pipe.send("stop")
        emulator.join()


if __name__ == "__main__":
    main()
