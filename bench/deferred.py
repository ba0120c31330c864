"""Benchmark 1: N deferred waits in one asyncio event loop, as in Airflow's triggerer.

Variants (all poll every ``poll_interval`` seconds against the emulator, which runs in its own process so
that ``time.process_time()`` here is the triggerer's CPU only):

* ``shared``: ``LivepeerTaskTrigger`` with shared polling (the default): one ``SharedTaskWatcher`` per
  connection, one list request per interval for every waiting trigger; each trigger starts from what the
  deferring sensor last saw (its kwargs ``last_phase``, ``last_updated_at``, ``last_seen_at``).
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
memory pass (RSS growth over a short window of N waits on tasks that never complete). A restart run is a
timing pass whose triggers are rebuilt from their kwargs after a downtime during which the tasks went on.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import time
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

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.watcher import LastSeen

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


def trigger_factory(
    variant: str, interval: float, timeout: float, seeds: dict[str, LastSeen] | None = None
) -> Callable[[str], BaseTrigger]:
    """How each variant's trigger is made. ``seeds``: what the deferring sensor last saw of each task,
    as ``LivepeerTaskSensor`` puts it in the trigger's kwargs (the HTTP provider's triggers have no such
    thing)."""
    end_time = time.time() + timeout
    seeds = seeds or {}

    def livepeer(task_id: str, shared: bool) -> BaseTrigger:
        seen = seeds.get(task_id)
        return LivepeerTaskTrigger(
            livepeer_task_id=task_id,
            livepeer_conn_id=LIVEPEER_CONN_ID,
            poll_interval=interval,
            end_time=end_time,
            shared_polling=shared,
            last_phase=seen.phase if seen else None,
            last_updated_at=seen.updated_at if seen else None,
            last_seen_at=seen.at if seen else None,
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
    # CPU spent in Python's cyclic garbage collector, which runs in whichever code allocates.
    collector = {"cpu_s": 0.0, "began": 0.0, "full": 0, "full_cpu_s": 0.0}

    def on_collect(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collector["began"] = time.process_time()
        else:
            spent = time.process_time() - collector["began"]
            collector["cpu_s"] += spent
            if info["generation"] == 2:
                collector["full"] += 1
                collector["full_cpu_s"] += spent

    gc.callbacks.append(on_collect)
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
            "gc_cpu_s": collector["cpu_s"],
            "gc_full_collections": collector["full"],
            "gc_full_cpu_s": collector["full_cpu_s"],
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
    """In the forked child: RSS growth over the first ``window`` s of N waits on tasks that never end."""
    reset_peak_rss()
    rss_start = memory_status().get("VmRSS", 0)
    waits: list[asyncio.Future[Any]] = []

    def result() -> dict[str, Any]:
        status = memory_status()
        return {
            "rss_held_b": status.get("VmRSS", 0) - rss_start,
            "rss_peak_b": status.get("VmHWM", 0) - rss_start,
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


def last_looks(emulator: EmulatorProcess) -> dict[str, LastSeen]:
    """What each deferring sensor saw of its task just before it deferred (its poke's answer).

    Read here with the list (1000 tasks a request) rather than one read per task: the worker's pokes are
    not the triggerer's cost, and the answer (phase, ``updatedAt``, the server's clock) is the same. The
    requests are left out of the counts (the emulator's request log is reset after).
    """
    hook = LivepeerHook(LIVEPEER_CONN_ID)
    seeds = {}
    for task in hook.list_tasks(limit=1000, order=None):
        seen = LastSeen.of(task)
        if seen is not None:
            seeds[task.id] = seen
    return seeds


def run_one(
    emulator: EmulatorProcess, settings: Settings, variant: str, n: int, downtime: float | None = None
) -> dict[str, Any]:
    """One variant at N: the wait from deferral to completion, or (``downtime``) a triggerer restart.

    With ``downtime``, the sensors deferred when the tasks started, then no triggerer ran for ``downtime``
    seconds (tasks went on running, some completed) and the triggers are rebuilt from their kwargs.
    """
    interval = settings.poll_interval
    limit = settings.complete_max_s + settings.grace_s - (downtime or 0.0)
    livepeer = variant in ("shared", "per_task")

    # ---- timing pass
    within = (settings.complete_min_s, settings.complete_max_s)
    tasks = start_tasks(emulator, settings, n, settings.seed + n, stall=False, within=within)
    ids = [task["id"] for task in tasks]
    make = trigger_factory(variant, interval, limit + 60, last_looks(emulator) if livepeer else None)
    if downtime:
        time.sleep(downtime)
    emulator.reset_requests()
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
    buckets = [0] * (int(intervals) + 1)
    for at in traffic["all_at"]:
        buckets[min(len(buckets) - 1, max(0, int((at - started) / interval)))] += 1
    latencies, undetected, wrong_event, mismatched = [], [], 0, 0
    downtime_latencies = []
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
        latencies.append(fired_at - max(completes_at, started))
        if completes_at < started:
            downtime_latencies.append(fired_at - started)
    completes = [task["completes_ms"] / 1000 - started for task in tasks]
    result: dict[str, Any] = {
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
        "direct_reads": kinds["first_get"] + kinds["repeat_get"],
        "req_per_interval": traffic["total"] / intervals,
        "req_max_interval": max(buckets),
        "lists_max_per_round": _max_per_round(traffic["list_at"], interval),
        "list_at_s": [at - started for at in sorted(traffic["list_at"])],
        "cpu_s": timing["cpu_s"],
        "cpu_per_interval_s": timing["cpu_s"] / intervals,
        "gc_cpu_s": timing["gc_cpu_s"],
        "gc_full_collections": timing["gc_full_collections"],
        "gc_full_cpu_s": timing["gc_full_cpu_s"],
        "emulator_cpu_per_interval_s": emulator_cpu / intervals,
        "cpu_per_request_s": timing["cpu_s"] / traffic["total"] if traffic["total"] else None,
        "other_processes_cores": background["others_cores"],
        "latency_p50_s": median(latencies),
        "latency_p95_s": percentile(latencies, 0.95),
        "latency_max_s": max(latencies, default=float("nan")),
        "completions_from_s": min(completes),
        "completions_to_s": max(completes),
        "rss_growth_per_task_b": (timing["rss_peak_b"] - timing["rss_start_b"]) / n,
    }
    if downtime:
        # The resume: what the first interval (and a second of slack) after the restart cost.
        window_end = started + interval + 1.0
        resume = emulator.requests(since=started, until=window_end)
        cpu_at_window = [cpu for at, cpu in timing["cpu_samples"] if at <= window_end]
        result.update(
            downtime_s=downtime,
            changed_in_downtime=len(downtime_latencies),
            resume_requests=resume["total"],
            resume_by_kind=resume["by_kind"],
            resume_cpu_s=cpu_at_window[-1] if cpu_at_window else timing["cpu_s"],
            downtime_latency_max_s=max(downtime_latencies, default=float("nan")),
            downtime_latency_p50_s=median(downtime_latencies),
        )
        return result

    # ---- memory pass
    tasks = start_tasks(emulator, settings, n, settings.seed + n + 1, stall=True)
    ids = [task["id"] for task in tasks]
    make = trigger_factory(variant, interval, limit + 60, last_looks(emulator) if livepeer else None)
    window = settings.memory_window_s
    memory = run_forked(lambda reporter: _memory_pass(make, ids, window, reporter), window + 30)
    if "error" in memory:
        raise RuntimeError(f"{variant}, N={n}, memory: {memory['error']}")
    result.update(
        mem_rss_per_task_b=memory["rss_held_b"] / n,
        mem_rss_peak_per_task_b=memory["rss_peak_b"] / n,
        mem_finished_early=memory["finished_early"],
    )
    return result


def _max_per_round(times: list[float], interval: float) -> int:
    """The most list requests in one polling round (its pages come less than half an interval apart)."""
    most, current, last = 0, 0, None
    for at in sorted(times):
        current = current + 1 if last is not None and at - last < interval / 2 else 1
        most, last = max(most, current), at
    return most


def run(emulator: EmulatorProcess, settings: Settings) -> dict[str, list[dict[str, Any]]]:
    waits, restarts = [], []
    for n, variants in settings.deferred_plan:
        for variant in variants:
            progress(f"deferred: {VARIANT_LABELS[variant]}, N={n}")
            result = run_one(emulator, settings, variant, n)
            progress(
                f"  {result['elapsed_s']:.1f} s, detected {result['detected']}/{n}, "
                f"{result['req_per_interval']:.1f} req/interval, {result['direct_reads']} direct reads, "
                f"CPU {result['cpu_per_interval_s'] * 1000:.1f} ms/interval, "
                f"latency max {result['latency_max_s']:.2f} s, "
                f"{result['mem_rss_per_task_b'] / 1024:.1f} KiB RSS/task"
            )
            waits.append(result)
    for variant in settings.restart_variants:
        n = settings.restart_n
        progress(f"restart: {VARIANT_LABELS[variant]}, N={n}, {settings.restart_downtime_s:g} s down")
        result = run_one(emulator, settings, variant, n, downtime=settings.restart_downtime_s)
        progress(
            f"  resume: {result['resume_requests']} requests, CPU {result['resume_cpu_s'] * 1000:.0f} ms in "
            f"the first interval + 1 s; {result['changed_in_downtime']} completed while down, detected "
            f"within {result['downtime_latency_max_s']:.2f} s"
        )
        restarts.append(result)
    return {"waits": waits, "restarts": restarts}


def warm_up(emulator: EmulatorProcess, settings: Settings) -> None:
    """Run every variant once on two tasks in this process, so the measured (forked) passes do not pay
    for lazy imports and first-use caches."""
    quick = Settings.quick()
    variants = {v for _, vs in settings.deferred_plan for v in vs} | set(settings.restart_variants)
    for variant in sorted(variants):
        tasks = start_tasks(emulator, quick, 2, 1, stall=False, within=(0.3, 0.6))
        seeds = last_looks(emulator) if variant in ("shared", "per_task") else None
        make = trigger_factory(variant, 0.2, 60, seeds)
        asyncio.run(_wait_all(make, [task["id"] for task in tasks], 30))


async def _wait_all(make: Callable[[str], BaseTrigger], ids: list[str], limit: float) -> None:
    await asyncio.wait_for(asyncio.gather(*(_fire_once(make(task_id)) for task_id in ids)), limit)
