"""Benchmark 2: the cost of one poke on a running task, ``LivepeerTaskSensor`` vs ``HttpSensor``.

Both read ``GET /api/task/{id}`` of a task that stays ``running`` and answer "not yet". Two ways of poking:

* ``warm``: one sensor instance poked again and again, as in ``mode="poke"`` (the Livepeer sensor keeps
  its hook, and with it its keep-alive ``requests`` session; ``HttpSensor`` builds a new ``HttpHook``, and
  so a new session and connection, on every poke by design);
* ``cold``: a new sensor instance for every poke, as in ``mode="reschedule"`` where each poke runs in a
  new task process (connection lookup, session and TCP connection every time, for both).

The pokes of the four series are interleaved so that drift on the machine affects them alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from airflow.providers.http.sensors.http import HttpSensor
from common import (
    HTTP_CONN_ID,
    LIVEPEER_CONN_ID,
    EmulatorProcess,
    Settings,
    mean,
    median,
    percentile,
    progress,
)
from http_checks import task_is_terminal

from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

WARM_UP_POKES = 5


def _series(task_id: str) -> dict[str, Callable[[], Any]]:
    """Per series, a function giving the sensor to poke next."""

    def livepeer() -> LivepeerTaskSensor:
        return LivepeerTaskSensor(
            task_id="wait_livepeer", livepeer_task_id=task_id, livepeer_conn_id=LIVEPEER_CONN_ID
        )

    def http() -> HttpSensor:
        return HttpSensor(
            task_id="wait_http",
            http_conn_id=HTTP_CONN_ID,
            endpoint=f"/api/task/{task_id}",
            response_check=task_is_terminal,
        )

    warm_livepeer, warm_http = livepeer(), http()
    return {
        "livepeer_warm": lambda: warm_livepeer,
        "http_warm": lambda: warm_http,
        "livepeer_cold": livepeer,
        "http_cold": http,
    }


def run(emulator: EmulatorProcess, settings: Settings) -> dict[str, Any]:
    progress(f"poke: {settings.pokes} pokes per series on a running task")
    emulator.reset()
    [task] = emulator.create(1, seed=1, start=time.time(), min_s=1, max_s=2, stall=True)
    time.sleep(0.6)  # past pending and waiting: the task is running
    series = _series(task["id"])
    for make in series.values():
        for _ in range(WARM_UP_POKES):
            assert make().poke({}) is False
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in series}
    requests_before = emulator.requests()["total"]
    for _ in range(settings.pokes):
        for name, make in series.items():
            sensor = make()
            wall, cpu = time.perf_counter(), time.process_time()
            done = sensor.poke({})
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if done is not False:
                raise RuntimeError(f"{name}: the poke on a running task returned {done!r}")
            samples[name]["wall"].append(wall)
            samples[name]["cpu"].append(cpu)
    requests = emulator.requests()["total"] - requests_before
    results: dict[str, Any] = {"pokes": settings.pokes, "requests_per_poke": requests / (4 * settings.pokes)}
    for name, values in samples.items():
        results[name] = {
            "wall_median_s": median(values["wall"]),
            "wall_mean_s": mean(values["wall"]),
            "wall_p95_s": percentile(values["wall"], 0.95),
            "cpu_median_s": median(values["cpu"]),
            "cpu_mean_s": mean(values["cpu"]),
            "cpu_p95_s": percentile(values["cpu"], 0.95),
        }
        progress(
            f"  {name}: wall median {results[name]['wall_median_s'] * 1000:.2f} ms, "
            f"CPU median {results[name]['cpu_median_s'] * 1000:.2f} ms"
        )
    return results
