"""Benchmark 1: N deferred waits in one asyncio event loop, as in Airflow's triggerer.

Variants (all poll every ``poll_interval`` seconds against the emulator, which runs in its own process so
that ``time.process_time()`` here is the triggerer's CPU only):

* ``shared``: ``LivepeerTaskTrigger`` with shared polling (the default): one ``SharedTaskWatcher`` per
  connection, one list request per interval for every waiting trigger plus one first read per task.
* ``per_task``: ``LivepeerTaskTrigger(shared_polling=False)``: ``GET /api/task/{id}`` per task per interval.
* ``http_sensor_trigger``: the HTTP provider's ``HttpSensorTrigger`` polling ``GET /api/task/{id}``. As
  shipped it fires on the first non-404 answer (it checks the HTTP status only, and ``HttpSensor`` does not
  defer at all when given a ``response_check``), so it would fire at once on a running task. The
  subclass below keeps its loop and its request (a new ``aiohttp.ClientSession`` and ``HttpAsyncHook.run``
  per poll) and adds the check ``HttpSensor`` would make, ``status.phase`` terminal, sleeping
  ``poke_interval`` between polls. This is the baseline the targets are measured against.
* ``http_event_trigger``: the HTTP provider's ``HttpEventTrigger``, its only trigger with a response check
  (``response_check_path``), as shipped; it re-imports the check's module on every poll.

Two passes per variant and N: a timing pass (requests, CPU, latency; tasks complete at random times) and a
tracemalloc pass (tasks that never complete, a short window), because tracemalloc slows allocation-heavy
code several times over and would distort the CPU figures.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import aiohttp
from airflow.providers.common.compat.sdk import AirflowException
from airflow.providers.http.triggers.http import HttpEventTrigger, HttpSensorTrigger
from airflow.triggers.base import BaseTrigger, TriggerEvent
from common import (
    HTTP_CONN_ID,
    LIVEPEER_CONN_ID,
    BackgroundLoad,
    EmulatorProcess,
    Reporter,
    Settings,
    median,
    memory_status,
    percentile,
    progress,
    reset_peak_rss,
    run_forked,
)
from http_checks import TERMINAL_PHASES

from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger

VARIANT_LABELS = {
    "shared": "LivepeerTaskTrigger, shared polling (default)",
    "per_task": "LivepeerTaskTrigger, shared_polling=False",
    "http_sensor_trigger": "HttpSensorTrigger + phase check (baseline)",
    "http_event_trigger": "HttpEventTrigger + response_check_path",
}
BASELINE = "http_sensor_trigger"
#: How often a timing pass samples its CPU clock.
CPU_SAMPLE_S = 0.1


class HttpSensorTriggerWithCheck(HttpSensorTrigger):
    """``HttpSensorTrigger``'s polling loop with ``HttpSensor``'s response check added.

    Per poll, as the parent: a new ``aiohttp.ClientSession``, ``HttpAsyncHook.run`` (connection from the
    ``http`` connection, headers from its extra), ``404`` means "not yet". Added: the body is read and the
    trigger fires only when ``status.phase`` is terminal; otherwise it sleeps ``poke_interval``.
    """

    async def run(self) -> Any:
        hook = self._get_async_hook()
        while True:
            try:
                async with aiohttp.ClientSession() as session:
                    response = await hook.run(
                        session=session,
                        endpoint=self.endpoint,
                        data=self.data,
                        headers=self.headers,
                        extra_options=self.extra_options,
                    )
                    body = await response.read()
            except AirflowException as exc:
                if not str(exc).startswith("404"):
                    raise
            else:
                phase = json.loads(body).get("status", {}).get("phase")
                if phase in TERMINAL_PHASES:
                    yield TriggerEvent({"status": "success" if phase == "completed" else "failed"})
                    return
            await asyncio.sleep(self.poke_interval)


def trigger_factory(variant: str, interval: float, timeout: float) -> Callable[[str], BaseTrigger]:
    end_time = time.time() + timeout

    def livepeer(task_id: str, shared: bool) -> BaseTrigger:
        return LivepeerTaskTrigger(
            livepeer_task_id=task_id,
            livepeer_conn_id=LIVEPEER_CONN_ID,
            poll_interval=interval,
            end_time=end_time,
            shared_polling=shared,
        )

    factories: dict[str, Callable[[str], BaseTrigger]] = {
        "shared": lambda task_id: livepeer(task_id, True),
        "per_task": lambda task_id: livepeer(task_id, False),
        "http_sensor_trigger": lambda task_id: HttpSensorTriggerWithCheck(
            endpoint=f"/api/task/{task_id}", http_conn_id=HTTP_CONN_ID, method="GET", poke_interval=interval
        ),
        "http_event_trigger": lambda task_id: HttpEventTrigger(
            response_check_path="http_checks.task_is_terminal_async",
            http_conn_id=HTTP_CONN_ID,
            method="GET",
            endpoint=f"/api/task/{task_id}",
            poll_interval=interval,
        ),
    }
    return factories[variant]


def _livepeer_ok(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("status") == "success"


async def _fire_once(trigger: BaseTrigger) -> tuple[float, Any]:
    """Run a trigger until its first event, then close it, as the triggerer does."""
    events = trigger.run()
    try:
        event = await events.__anext__()
        return time.time(), event.payload
    finally:
        await events.aclose()


def _timing_pass(
    make: Callable[[str], BaseTrigger], ids: list[str], interval: float, limit: float, reporter: Reporter
) -> dict[str, Any]:
    """In the forked child: wait for every task; the result as soon as all fired, or at ``limit``."""
    fired: dict[str, tuple[float, bool]] = {}
    reset_peak_rss()
    rss_start = memory_status().get("VmRSS", 0)
    started, cpu_started = time.time(), time.process_time()
    # (wall time, CPU time) every CPU_SAMPLE_S, from a thread: it keeps going while the loop is busy.
    samples: list[tuple[float, float]] = []

    def sample() -> None:
        while True:
            samples.append((time.time(), time.process_time() - cpu_started))
            time.sleep(CPU_SAMPLE_S)

    threading.Thread(target=sample, name="cpu-sampler", daemon=True).start()

    def result() -> dict[str, Any]:
        return {
            "started": started,
            "ended": time.time(),
            "cpu_s": time.process_time() - cpu_started,
            "cpu_samples": list(samples),
            "fired": dict(fired),
            "rss_start_b": rss_start,
            "rss_peak_b": memory_status().get("VmHWM", 0),
        }

    reporter.send_at(limit, lambda: {**result(), "deadline_hit": True})

    async def wait(task_id: str) -> None:
        fired_at, payload = await _fire_once(make(task_id))
        fired[task_id] = (fired_at, _livepeer_ok(payload))

    async def wait_all() -> None:
        await asyncio.gather(*(wait(task_id) for task_id in ids))

    asyncio.run(wait_all())
    return {**result(), "deadline_hit": False}


def _memory_pass(
    make: Callable[[str], BaseTrigger], ids: list[str], window: float, reporter: Reporter
) -> dict[str, Any]:
    """In the forked child: tracemalloc's peak over the first ``window`` seconds of N waits."""
    tracemalloc.start()
    baseline = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    waits: list[asyncio.Future[Any]] = []

    def result() -> dict[str, Any]:
        current, peak = tracemalloc.get_traced_memory()
        return {
            "peak_b": peak - baseline,
            "held_b": current - baseline,
            "finished_early": sum(wait.done() for wait in list(waits)),
        }

    # Taken by a thread at the end of the window, so a blocked event loop cannot stretch the pass.
    reporter.send_at(window, result)

    async def wait_window() -> None:
        waits.extend(asyncio.ensure_future(_fire_once(make(task_id))) for task_id in ids)
        await asyncio.sleep(window + 60)

    asyncio.run(wait_window())
    return {"error": "the memory window did not end"}


def start_tasks(
    emulator: EmulatorProcess,
    settings: Settings,
    n: int,
    seed: int,
    stall: bool,
    within: tuple[float, float] | None = None,
) -> list[dict[str, Any]]:
    """Fresh emulator state and N new tasks; returns once the triggers should start."""
    emulator.reset()
    lead = 0.3 + 0.003 * n  # about how long creating them takes
    start = time.time() + lead
    low, high = within or (settings.complete_min_s, settings.complete_max_s)
    tasks = emulator.create(n, seed=seed, start=start, min_s=low, max_s=high, stall=stall)
    time.sleep(max(0.0, start - time.time()))
    return tasks


def run_one(emulator: EmulatorProcess, settings: Settings, variant: str, n: int) -> dict[str, Any]:
    interval = settings.poll_interval
    limit = settings.complete_max_s + settings.grace_s
    make = trigger_factory(variant, interval, limit + 60)

    # ---- timing pass
    tasks = start_tasks(emulator, settings, n, settings.seed + n, stall=False)
    ids = [task["id"] for task in tasks]
    load = BackgroundLoad()
    emulator_cpu = emulator.cpu()
    timing = run_forked(lambda reporter: _timing_pass(make, ids, interval, limit, reporter), limit + 30)
    if "error" in timing:
        raise RuntimeError(f"{variant}, N={n}: {timing['error']}")
    emulator_cpu = emulator.cpu() - emulator_cpu
    background = load.others(extra_own=emulator_cpu)
    started, ended = timing["started"], timing["ended"]
    traffic = emulator.requests(since=started, until=ended)
    views = emulator.views(ids)
    elapsed = ended - started
    intervals = elapsed / interval
    kinds = traffic["by_kind"]
    after_first_reads = kinds["list"] + kinds["repeat_get"] + kinds["other"]
    # Requests other than first reads, per poll interval of the wait.
    buckets = [0] * (int(intervals) + 1)
    for at in traffic["later_at"]:
        buckets[min(len(buckets) - 1, max(0, int((at - started) / interval)))] += 1
    latencies, undetected, wrong_event, mismatched = [], [], 0, 0
    for task in tasks:
        completes_at = task["completes_ms"] / 1000
        status = views[task["id"]]
        if status.get("phase") != "completed" or status.get("updatedAt") != task["completes_ms"]:
            mismatched += 1
        if task["id"] not in timing["fired"]:
            undetected.append(ended - completes_at)
            continue
        fired_at, ok = timing["fired"][task["id"]]
        wrong_event += not ok
        latencies.append(fired_at - completes_at)
    completes = [task["completes_ms"] / 1000 - started for task in tasks]
    # Split the wait where the last task's first read was answered: before, every trigger starts and
    # reads its task once; after, the steady state (if there is one: all read, two intervals left).
    # (A watcher may skip the first read of a task whose trigger already fired: a pass that ended on its
    # own has its first-read phase over at its last first read.)
    all_read = traffic["by_kind"]["first_get"] >= n or (not timing["deadline_hit"] and len(latencies) == n)
    first_reads_done = (traffic["first_get_last_at"] or started) if all_read else ended
    after = [sample for sample in timing["cpu_samples"] if sample[0] >= first_reads_done]
    if all_read and after and ended - after[0][0] >= 2 * interval:
        first_phase_cpu = after[0][1]
        steady_cpu = (timing["cpu_s"] - after[0][1]) / ((ended - after[0][0]) / interval)
    else:
        first_phase_cpu, steady_cpu = timing["cpu_s"], None

    # ---- memory pass
    tasks = start_tasks(emulator, settings, n, settings.seed + n + 1, stall=True)
    ids = [task["id"] for task in tasks]
    window = settings.memory_window_s
    memory = run_forked(lambda reporter: _memory_pass(make, ids, window, reporter), window + 30)
    if "error" in memory:
        raise RuntimeError(f"{variant}, N={n}, memory: {memory['error']}")

    return {
        "variant": variant,
        "n": n,
        "interval_s": interval,
        "elapsed_s": elapsed,
        "intervals": intervals,
        "deadline_hit": timing["deadline_hit"],
        "detected": len(latencies),
        "undetected_latency_above_s": min(undetected) if undetected else None,
        "wrong_events": wrong_event,
        "mismatched_completions": mismatched,
        "requests_total": traffic["total"],
        "requests_by_kind": kinds,
        "req_per_interval_all": traffic["total"] / intervals,
        "req_per_interval_steady": after_first_reads / intervals,
        "req_max_interval": max(buckets),
        "lists_max_per_round": _max_per_round(traffic["list_at"], interval),
        "cpu_s": timing["cpu_s"],
        "cpu_per_interval_s": timing["cpu_s"] / intervals,
        "first_reads_s": first_reads_done - started,
        "first_list_s": traffic["first_list_at"] - started if traffic["first_list_at"] else None,
        "cpu_first_reads_s": first_phase_cpu,
        "cpu_per_interval_steady_s": steady_cpu,
        "emulator_cpu_per_interval_s": emulator_cpu / intervals,
        "cpu_per_request_s": timing["cpu_s"] / traffic["total"] if traffic["total"] else None,
        "other_processes_cores": background["others_cores"],
        "latency_p50_s": median(latencies),
        "latency_p95_s": percentile(latencies, 0.95),
        "latency_max_s": max(latencies, default=float("nan")),
        "completions_from_s": min(completes),
        "completions_to_s": max(completes),
        "rss_growth_per_task_b": (timing["rss_peak_b"] - timing["rss_start_b"]) / n,
        "mem_peak_per_task_b": memory["peak_b"] / n,
        "mem_held_per_task_b": memory["held_b"] / n,
        "mem_finished_early": memory["finished_early"],
    }


def _max_per_round(times: list[float], interval: float) -> int:
    """The most list requests in one polling round (its pages come less than half an interval apart)."""
    most, current, last = 0, 0, None
    for at in sorted(times):
        current = current + 1 if last is not None and at - last < interval / 2 else 1
        most, last = max(most, current), at
    return most


def run(emulator: EmulatorProcess, settings: Settings) -> list[dict[str, Any]]:
    results = []
    for n in settings.task_counts:
        for variant in settings.deferred_variants:
            progress(f"deferred: {VARIANT_LABELS[variant]}, N={n}")
            result = run_one(emulator, settings, variant, n)
            progress(
                f"  {result['elapsed_s']:.1f} s, detected {result['detected']}/{n}, "
                f"{result['req_per_interval_steady']:.1f} req/interval after first reads, "
                f"CPU {result['cpu_per_interval_s'] * 1000:.1f} ms/interval, "
                f"latency max {result['latency_max_s']:.2f} s, "
                f"{result['mem_peak_per_task_b'] / 1024:.1f} KiB/task"
            )
            results.append(result)
    return results


def warm_up(emulator: EmulatorProcess, settings: Settings) -> None:
    """Run every variant once on two tasks in this process, so the measured (forked) passes do not pay
    for lazy imports and first-use caches."""
    quick = Settings.quick()
    for variant in settings.deferred_variants:
        tasks = start_tasks(emulator, quick, 2, 1, stall=False, within=(0.3, 0.6))
        asyncio.run(_wait_all(trigger_factory(variant, 0.2, 60), [task["id"] for task in tasks], 30))


async def _wait_all(make: Callable[[str], BaseTrigger], ids: list[str], limit: float) -> None:
    await asyncio.wait_for(asyncio.gather(*(_fire_once(make(task_id)) for task_id in ids)), limit)
