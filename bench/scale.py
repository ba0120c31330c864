"""The triggerer's cost as waits grow: shared polling from 100 to 10,000 waits, idle and busy, beside the
per-task baseline, and two triggerers of 5000 waits against one Livepeer.

.. code-block:: bash

    .venv/bin/python bench/scale.py            # bench/results/scale.md (+ scale.json), about ten minutes
    .venv/bin/python bench/scale.py --quick    # a smoke run: bench/results/scale-quick.md

Each pass runs in a fresh process (its own event loop, CPU clock and heap) against a fresh fake Livepeer
(``fake_livepeer.py``, a process of its own that answers a page of 1000 tasks in milliseconds, so the
figures are the triggerer's). A pass starts N deferred waits, as a triggerer does after the sensors
deferred (each knows the task running), lets two intervals go by, collects the setup's garbage once, then
measures over a few intervals:
CPU (process time) per interval, full garbage collections per interval, requests per interval (counted by
the server), and then the detection latency: ten tasks complete at once, and the latency is when their
waits fired minus that moment. Memory per wait is the RSS growth from before the waits to the end of the
warm-up, divided by N. The two triggerers run against the emulator (``emulator_proc.py``), with ten
tasks of each completing while they wait. The baseline is ``HttpSensorTrigger`` with the phase check
``HttpSensor`` would make, one per wait (``deferred.py``), the trigger a user of the HTTP provider would
defer to.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="livepeer-bench-airflow-home-"))
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

import requests  # noqa: E402
from common import (  # noqa: E402
    HTTP_CONN_ID,
    LIVEPEER_CONN_ID,
    EmulatorProcess,
    machine,
    memory_status,
    source_state,
    versions,
)
from scale_report import render  # noqa: E402

RESULTS = BENCH / "results"
API_KEY = "bench-key"
PROBES = 10


class FakeLivepeer:
    """``fake_livepeer.py`` in a process of its own, for one pass."""

    def __init__(self, tasks: int, mode: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        argv = [sys.executable, str(BENCH / "fake_livepeer.py"), "--tasks", str(tasks), "--mode", mode]
        self.process = subprocess.Popen([*argv, "--port", str(self.port)], stdout=subprocess.PIPE, text=True)
        ready = self.process.stdout.readline().strip() if self.process.stdout else ""
        if ready != "ready":
            raise RuntimeError(f"the fake Livepeer did not start: {ready!r}")

    def env(self) -> dict[str, str]:
        return {
            f"AIRFLOW_CONN_{LIVEPEER_CONN_ID.upper()}": json.dumps(
                {"conn_type": "livepeer", "host": self.url, "password": API_KEY}
            ),
            f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}": json.dumps(
                {"conn_type": "http", "host": self.url, "extra": {"Authorization": f"Bearer {API_KEY}"}}
            ),
        }

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def _triggers(variant: str, ids: list[str], interval: float) -> list[Any]:
    from deferred import HttpSensorTriggerWithCheck

    from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger

    now = time.time()
    if variant == "shared":
        return [
            LivepeerTaskTrigger(task_id, LIVEPEER_CONN_ID, interval, last_phase="running", last_seen_at=now)
            for task_id in ids
        ]
    return [
        HttpSensorTriggerWithCheck(
            endpoint=f"/api/task/{task_id}", http_conn_id=HTTP_CONN_ID, method="GET", poke_interval=interval
        )
        for task_id in ids
    ]


def _start_waits(
    variant: str, ids: list[str], interval: float
) -> tuple[dict[str, float], list[asyncio.Future[None]]]:
    """Start a wait per task in the running loop: when each fired (filled in as they do), and the waits."""
    fired: dict[str, float] = {}

    async def wait(trigger: Any, task_id: str) -> None:
        async for _ in trigger.run():
            fired[task_id] = time.time()
            return

    triggers = _triggers(variant, ids, interval)
    return fired, [asyncio.ensure_future(wait(t, i)) for t, i in zip(triggers, ids, strict=True)]


def _pass(
    variant: str,
    server_url: str,
    env: dict[str, str],
    ids: list[str],
    interval: float,
    measured: int,
    out: Any,
) -> None:
    """In the pass's process: the waits on ``ids``, the measurement, the result sent through ``out``."""
    os.environ.update(env)
    count = len(ids)
    stats = lambda: requests.get(f"{server_url}/_stats", timeout=30).json()  # noqa: E731
    full = {"n": 0}
    gc.callbacks.append(
        lambda phase, info: full.__setitem__("n", full["n"] + (phase == "start" and info["generation"] == 2))
    )

    async def run() -> dict[str, Any]:
        rss_before = memory_status().get("VmRSS", 0)
        fired, waits = _start_waits(variant, ids, interval)
        await asyncio.sleep(2 * interval + 1)
        rss_warm = memory_status().get("VmRSS", 0)
        # The setup's garbage (N triggers made at once) is collected once here: the intervals measured show
        # the steady state's collections, not that one.
        gc.collect()
        before, cpu, collections = stats(), time.process_time(), full["n"]
        await asyncio.sleep(measured * interval)
        cpu_per_interval = (time.process_time() - cpu) / measured
        after = stats()
        requests_per_interval = {k: (after.get(k, 0) - before.get(k, 0)) / measured for k in ("list", "read")}
        probes = ids[-PROBES:]
        completed_at = await asyncio.to_thread(
            lambda: (
                requests.post(f"{server_url}/_complete", json={"ids": probes}, timeout=30).json()["at"] / 1000
            )
        )
        deadline = time.time() + 4 * interval + 10
        while not all(p in fired for p in probes) and time.time() < deadline:
            await asyncio.sleep(0.05)
        latencies = [fired[p] - completed_at for p in probes if p in fired]
        for waiting in waits:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        return {
            "cpu_ms_per_interval": cpu_per_interval * 1000,
            "full_collections_per_interval": (full["n"] - collections) / measured,
            "requests_per_interval": requests_per_interval,
            "latency_max_s": max(latencies) if len(latencies) == len(probes) else None,
            "memory_per_wait_b": (rss_warm - rss_before) / count,
        }

    out.send(asyncio.run(run()))


def measure(
    variant: str, mode: str, count: int, interval: float, measured: int, triggerers: int = 1
) -> list[dict[str, Any]]:
    """One pass: ``triggerers`` processes of ``count`` waits each, against one fake Livepeer."""
    server = FakeLivepeer(count * triggerers, mode)
    try:
        shares = ([f"task-{n:05d}" for n in range(i * count, (i + 1) * count)] for i in range(triggerers))
        return _in_processes(
            _pass, ((variant, server.url, server.env(), ids, interval, measured) for ids in shares)
        )
    finally:
        server.close()


def _in_processes(target: Callable[..., None], each_args: Iterable[tuple[Any, ...]]) -> list[Any]:
    """Run ``target(*args, send)`` in a forked process for each ``args``; what each sends, in order.

    Each process starts before the next ``args`` are taken, so ``each_args`` may make each one's tasks just
    before its process starts.
    """
    context = multiprocessing.get_context("fork")
    pipes, processes = [], []
    for args in each_args:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=target, args=(*args, send))
        process.start()
        pipes.append(receive)
        processes.append(process)
    results = [pipe.recv() for pipe in pipes]
    for process in processes:
        process.join(30)
    return results


def _emulator_pass(
    env: dict[str, str], ids: list[str], probes: dict[str, float], interval: float, out: Any
) -> None:
    """In a triggerer's process: waits on ``ids`` against the emulator until the ``probes`` complete."""
    os.environ.update(env)

    async def run() -> dict[str, Any]:
        fired, waits = _start_waits("shared", ids, interval)
        await asyncio.sleep(2 * interval)
        gc.collect()  # the setup's garbage, once
        cpu, started = time.process_time(), time.time()
        deadline = max(probes.values()) + 4 * interval + 10
        while not all(p in fired for p in probes) and time.time() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.time() - started
        cpu_per_interval = (time.process_time() - cpu) / (elapsed / interval)
        for waiting in waits:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        latencies = [fired[p] - at for p, at in probes.items() if p in fired]
        return {
            "cpu_ms_per_interval": cpu_per_interval * 1000,
            "latency_max_s": max(latencies) if len(latencies) == len(probes) else None,
            "started": started,
            "ended": time.time(),
        }

    out.send(asyncio.run(run()))


def two_triggerers_on_the_emulator(count: int, interval: float, lead: float) -> dict[str, Any]:
    """Two triggerer processes of ``count`` waits each against one emulator; ten tasks of each complete.

    The other tasks run for ever (their progress steps, then nothing); the probes complete ``lead``
    seconds after they are made, at times the emulator reports.
    """
    with tempfile.TemporaryFile("w+") as log:
        emulator = EmulatorProcess(log)
        try:

            def triggerer_args() -> tuple[Any, ...]:
                stalled = [
                    task["id"] for task in emulator.create(count - PROBES, stall=True, min_s=1, max_s=2)
                ]
                made = emulator.create(PROBES, min_s=lead, max_s=lead + 1)
                probes = {task["id"]: task["completes_ms"] / 1000 for task in made}
                return (emulator.connection_env(), stalled + list(probes), probes, interval)

            results = _in_processes(_emulator_pass, (triggerer_args() for _ in range(2)))
            window = emulator.requests(min(r["started"] for r in results), max(r["ended"] for r in results))
            seconds = max(r["ended"] for r in results) - min(r["started"] for r in results)
            lists = window["by_kind"]["list"] / (seconds / interval)
            return {"waits_each": count, "results": results, "list_requests_per_interval": lists}
        finally:
            emulator.close()


def run(quick: bool) -> dict[str, Any]:
    """Every pass of the run; the raw figures."""
    interval, measured = (2.0, 2) if quick else (5.0, 4)
    sizes = (100, 1000) if quick else (100, 1000, 5000, 10_000)
    baseline_sizes = (100,) if quick else (100, 1000, 5000)
    passes: dict[str, Any] = {
        "interval_s": interval,
        "measured_intervals": measured,
        "shared": {},
        "baseline": {},
    }
    for mode in ("idle", "busy"):
        for count in sizes:
            print(f"shared, {mode}, {count} waits", file=sys.stderr, flush=True)
            passes["shared"][f"{mode}-{count}"] = measure("shared", mode, count, interval, measured)[0]
    for count in baseline_sizes:
        print(f"baseline, busy, {count} waits", file=sys.stderr, flush=True)
        passes["baseline"][f"busy-{count}"] = measure("baseline", "busy", count, interval, measured)[0]
    pair = 1000 if quick else 5000
    print(f"two triggerers of {pair} waits, on the emulator", file=sys.stderr, flush=True)
    passes["two_triggerers"] = two_triggerers_on_the_emulator(pair, interval, lead=6 * interval)
    return passes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: small N, short intervals")
    args = parser.parse_args()
    data = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": ", ".join(f"{k} {v}" for k, v in machine().items()),
        "source": source_state(),
        "versions": versions(),
        "passes": run(args.quick),
    }
    name = "scale-quick" if args.quick else "scale"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(render(data))
    print(render(data))


if __name__ == "__main__":
    main()
