"""The results as Markdown (``bench/results/*.md``) and the summary printed at the end of a run."""

from __future__ import annotations

import itertools
import math
from typing import Any

from common import median, ratio
from deferred import BASELINE, VARIANT_LABELS

OURS = "shared"


# ------------------------------------------------------------------------------------------- formatting


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def ms(seconds: Any, digits: int = 1) -> str:
    return "n/a" if _nan(seconds) else f"{seconds * 1000:.{digits}f} ms"


def sec(seconds: Any, digits: int = 2) -> str:
    return "n/a" if _nan(seconds) else f"{seconds:.{digits}f} s"


def kib(size: Any) -> str:
    return "n/a" if _nan(size) else f"{size / 1024:.1f} KiB"


def mib(size: Any) -> str:
    return "n/a" if _nan(size) else f"{size / 2**20:.1f} MiB"


def num(value: Any, digits: int = 1) -> str:
    return "n/a" if _nan(value) else f"{value:.{digits}f}"


def times(value: Any) -> str:
    if _nan(value) or math.isinf(value):
        return "n/a"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3f}x"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plain_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * width for width in widths]), *(line(row) for row in rows)])


# ------------------------------------------------------------------------------------------------ verdicts


def _missed(by: str, because: str) -> str:
    return f"missed by {by}, because {because}" if because else f"missed by {by}"


def _why_not_detected(run: dict[str, Any]) -> str:
    """Why a pass ended with tasks undetected, from what it measured; empty if all were detected."""
    if run["detected"] == run["n"]:
        return ""
    return (
        f"only {run['detected']}/{run['n']} tasks were detected in the {run['elapsed_s']:.0f} s the wait "
        f"was given; {run['requests_total']} requests reached the emulator, the triggerer used "
        f"{run['cpu_per_interval_s']:.2f} CPU s per {run['interval_s']:g} s interval"
    )


def _cpu_reason(ours: dict[str, Any], base: dict[str, Any]) -> str:
    """What the measured CPU of a wait is made of, as far as the run measured it."""
    n = ours["n"]
    full_rate = (base.get("cpu_per_request_s") or 0.0) * n
    parts = [
        f"{ours['gc_cpu_s'] / ours['cpu_s']:.0%} of ours is Python's garbage collector, "
        f"{sec(ours['gc_full_cpu_s'])} of it in {ours['gc_full_collections']} full collections of the "
        "triggerer's whole heap (Airflow's included), which come with the objects a thousand waits leave "
        f"behind (the baseline: {base['gc_cpu_s'] / base['cpu_s']:.0%}, {base['gc_full_collections']} full "
        "collections)"
        if ours["cpu_s"] and base["cpu_s"]
        else "",
        f"the baseline managed at most {base['req_max_interval']} of its {n} polls in an interval (it sleeps "
        "a poll interval after each answer, and the machine was shared), so its CPU per interval is below "
        f"what polling {n} tasks every interval costs: {ms(full_rate, 0)} at its "
        f"{ms(base['cpu_per_request_s'], 2)} "
        f"per request, against which ours is {times(ratio(ours['cpu_per_interval_s'], full_rate))}"
        if base["req_max_interval"] < 0.95 * n and full_rate
        else "",
        f"{ours['n']} completions each wake a trigger that logs the change and fires its event (the "
        "baseline's triggers log nothing)",
    ]
    return "; ".join(part for part in parts if part)


def _cpu_row(ours: dict[str, Any], base: dict[str, Any]) -> list[str]:
    value = ratio(ours["cpu_per_interval_s"], base["cpu_per_interval_s"])
    why = _why_not_detected(ours)
    if why:
        verdict = _missed(f"{value / 0.1:.1f}x the allowed CPU", why)
    elif value <= 0.1:
        verdict = "met"
    else:
        verdict = _missed(
            f"{value / 0.1:.1f}x the allowed CPU (ratio {times(value)})", _cpu_reason(ours, base)
        )
    return [
        f"Triggerer CPU per interval, whole wait, N={ours['n']} (target <= 0.1x)",
        ms(ours["cpu_per_interval_s"]),
        ms(base["cpu_per_interval_s"]),
        times(value),
        verdict,
    ]


def _deferred_targets(settings: Any, deferred: dict[str, Any]) -> list[list[str]]:
    runs, restarts = deferred["waits"], deferred["restarts"]
    by = {(run["variant"], run["n"]): run for run in runs}
    rows = []
    for n in (1000, 5000):
        ours, base = by.get((OURS, n)), by.get((BASELINE, n))
        if ours and base:
            rows.append(_cpu_row(ours, base))
    ours, base = by.get((OURS, 1000)), by.get((BASELINE, 1000))
    if ours and base:
        allowed = ours["n"] // 100
        reads = ours["direct_reads"]
        rows.append(
            [
                f"Direct single-task reads, N={ours['n']} waits from defer to completion (target <= N/100 = "
                f"{allowed})",
                str(reads),
                str(base["direct_reads"]),
                times(ratio(reads, base["direct_reads"])),
                "met" if reads <= allowed else _missed(f"{reads - allowed} reads", "see Findings"),
            ]
        )
    ours, base = by.get((OURS, 5000)), by.get((BASELINE, 5000))
    if ours and base:
        busiest = ours["req_max_interval"]
        rows.append(
            [
                "API requests per interval, N=5000 (target <= 6)",
                f"{num(ours['req_per_interval'])} on average, {busiest} in the busiest interval "
                f"({ours['requests_by_kind']['list']} list pages, {ours['direct_reads']} direct "
                "reads in all)",
                f"{num(base['req_per_interval'])} on average, {base['req_max_interval']} in the busiest "
                "interval (ideal: 5000)",
                times(ratio(ours["req_per_interval"], base["req_per_interval"])),
                "met"
                if busiest <= 6
                else _missed(
                    f"{busiest - 6} request(s) in the busiest interval",
                    f"one polling round took {ours['lists_max_per_round']} list pages",
                ),
            ]
        )
    limit = settings.poll_interval + 1.0
    ours_runs = [run for run in runs if run["variant"] == OURS]
    worst = [
        _why_not_detected(run)
        or f"N={run['n']}: max {sec(run['latency_max_s'])}, list answers "
        + (
            f"{sec(median(_page_gaps(run['list_at_s'])))} apart (median)"
            if len(run.get("list_at_s", [])) > 1
            else "n/a"
        )
        + f", {num(run['other_processes_cores'], 2)} cores busy with other work"
        for run in ours_runs
        if run["detected"] < run["n"] or run["latency_max_s"] > limit
    ]
    rows.append(
        [
            f"Detection latency, max, every N (target <= poll interval + 1 s = {limit:g} s)",
            ", ".join(f"N={run['n']}: {sec(run['latency_max_s'])}" for run in ours_runs),
            ", ".join(
                f"N={run['n']}: {sec(run['latency_max_s'])}" for run in runs if run["variant"] == BASELINE
            ),
            "",
            "met" if not worst else "missed: " + "; ".join(worst),
        ]
    )
    by_restart = {run["variant"]: run for run in restarts}
    ours, base = by_restart.get(OURS), by_restart.get(BASELINE)
    if ours and base:
        kinds = ours["resume_by_kind"]
        requests = ours["resume_requests"]
        rows.append(
            [
                f"Resuming {ours['n']} waits after a restart: requests in the first interval + 1 s "
                "(target <= 5, "
                "list pages)",
                f"{requests} ({kinds['list']} list pages, {kinds['first_get'] + kinds['repeat_get']} direct "
                f"reads; {ours['direct_reads']} direct reads in the whole resumed wait)",
                f"{base['resume_requests']}",
                times(ratio(requests, base["resume_requests"])),
                "met"
                if requests <= 5 and kinds["list"] == requests
                else _missed(f"{requests - 5} requests", "see the restart table"),
            ]
        )
        latency = ours["downtime_latency_max_s"]
        rows.append(
            [
                f"Resuming: detection of the {ours['changed_in_downtime']} completions made while "
                "no triggerer "
                f"ran, max after the resume (target <= {limit:g} s)",
                sec(latency),
                f"{sec(base['downtime_latency_max_s'])} ({base['changed_in_downtime']} completions)",
                "",
                "met"
                if latency <= limit
                else _missed(
                    sec(latency - limit),
                    "the first list page was answered "
                    + (sec(ours["list_at_s"][0]) if ours.get("list_at_s") else "n/a")
                    + " after the rebuild (sent as soon as the rebuilt triggers had subscribed; "
                    f"{num(ours['other_processes_cores'], 2)} of the 2 cores were busy with other work)",
                ),
            ]
        )
        rows.append(
            [
                "(informational) Resuming: triggerer CPU in the first interval + 1 s",
                ms(ours["resume_cpu_s"]),
                ms(base["resume_cpu_s"]),
                times(ratio(ours["resume_cpu_s"], base["resume_cpu_s"])),
                "",
            ]
        )
    for n in (1000, 5000):
        ours, base = by.get((OURS, n)), by.get((BASELINE, n))
        if ours and base:
            rows.append(
                [
                    f"(informational) Memory per waiting trigger, N={n}: RSS growth / N",
                    kib(ours["mem_rss_per_task_b"]),
                    kib(base["mem_rss_per_task_b"]),
                    times(ratio(ours["mem_rss_per_task_b"], base["mem_rss_per_task_b"])),
                    "",
                ]
            )
    return rows


def _cost_row(
    label: str, ours: float, theirs: float, fmt: Any, because: str = "", limit: float = 1.0
) -> list[str]:
    value = ratio(ours, theirs)
    over = f"{value / limit - 1:.0%} (ratio {times(value)}, target <= {limit:g}x)"
    verdict = "met" if value <= limit else _missed(over, because)
    return [label, fmt(ours), fmt(theirs), times(value), verdict]


def _poke_targets(poke: dict[str, Any]) -> list[list[str]]:
    rows = []
    for mode, label in (("warm", "poke mode, same sensor"), ("cold", "new sensor per poke")):
        ours, theirs = poke[f"livepeer_{mode}"], poke[f"http_{mode}"]
        target = mode == "warm"  # the target is poke mode's; a new sensor per poke is shown beside it
        rows.append(
            _cost_row(
                f"Poke CPU, median ({label}; target <= 0.6x)"
                if target
                else f"(informational) Poke CPU, median ({label})",
                ours["cpu_median_s"],
                theirs["cpu_median_s"],
                ms_fine,
                "a new sensor pays what a new HttpSensor pays: the connection lookup, a session, a TCP "
                "connection"
                if not target
                else "",
                limit=0.6 if target else 1.0,
            )
        )
        rows.append(
            _cost_row(
                f"(informational) Poke wall time, median ({label})",
                ours["wall_median_s"],
                theirs["wall_median_s"],
                ms_fine,
            )
        )
    return rows


def ms_fine(seconds: Any) -> str:
    return ms(seconds, 2)


def _parse_targets(parse: dict[str, Any]) -> list[list[str]]:
    ours, theirs = parse["livepeer"], parse["http"]
    gc_note = (
        f"garbage collection: {ms(ours['gc_in_parse_and_serialize_s'])} here vs "
        f"{ms(theirs['gc_in_parse_and_serialize_s'])}"
    )
    rows = [
        _cost_row(
            f"DAG parse: provider import + {parse['sensors']} sensors + serialization (median; target "
            "<= 0.9x)",
            ours["parse_and_serialize_s"],
            theirs["parse_and_serialize_s"],
            ms,
            gc_note,
            limit=0.9,
        ),
        _cost_row(
            "DAG parse as above, without garbage-collection pauses (median)",
            ours["parse_and_serialize_without_gc_s"],
            theirs["parse_and_serialize_without_gc_s"],
            ms,
        ),
        _cost_row(
            "(informational) DAG parse: peak RSS of the process (median)",
            ours["peak_rss_b"],
            theirs["peak_rss_b"],
            mib,
            limit=1.05,
        ),
    ]
    attempts = ours["network_attempts"] + parse["emulator_requests"]
    rows.append(
        [
            "No network call while parsing",
            f"{ours['network_attempts']} connection attempts, {parse['emulator_requests']} API requests "
            "(both kinds)",
            f"{theirs['network_attempts']} connection attempts",
            "",
            "met" if attempts == 0 else f"missed: {attempts} attempts",
        ]
    )
    return rows


# ------------------------------------------------------------------------------------------------ sections


def _deferred_section(settings: Any, deferred: dict[str, Any]) -> list[str]:
    runs = deferred["waits"]
    out = [
        "## 1. Deferred waiting (triggerer)",
        "",
        "N tasks complete at random times, uniformly "
        f"{settings.complete_min_s:g}-{settings.complete_max_s:g} s after the triggers start (poll interval "
        f"{settings.poll_interval:g} s); all triggers run in one asyncio event loop in a forked process (a "
        "fresh loop and CPU clock per pass; modules imported and every variant warmed up beforehand). The "
        f"emulator runs in another process. A pass is cut short {settings.grace_s:g} s after the last "
        "planned completion. The Livepeer triggers start from what the deferring sensor saw (its kwargs "
        "`last_phase`, `last_updated_at`, `last_seen_at`, read here just before the triggers start).",
        "",
        "* **direct reads** = `GET /api/task/{id}` requests; **lists** = `GET /api/task` pages; "
        "**req/int** = "
        "all requests per poll interval; **max/int**: the most in any one interval-long window from the "
        "start.",
        "* **CPU/int** = the process's CPU time over the wait divided by the intervals; **GC** = "
        "the part of it "
        "spent in Python's cyclic garbage collector (full collections in brackets).",
        "* **latency** = event time - the task's `status.updatedAt` when it became `completed`.",
        f"* **RSS/task** = RSS growth over the first {settings.memory_window_s:g} s of N waits on tasks that "
        "never finish (a separate pass) / N; **peak RSS/task (timing)** = peak RSS growth during the timing "
        "pass / N.",
        "* **emu CPU/int**: the emulator's CPU per interval (server-side cost of each polling style); "
        "**other load**: CPU cores used by other processes on the machine during the timing pass, on "
        "average (noise).",
        "",
    ]
    base = {run["n"]: run for run in runs if run["variant"] == BASELINE}
    for n in sorted({run["n"] for run in runs}):
        out += [f"### N = {n}", ""]
        rows = []
        for run in (r for r in runs if r["n"] == n):
            ref = base.get(n)
            rows.append(
                [
                    VARIANT_LABELS.get(run["variant"], run["variant"]),
                    f"{run['detected']}/{run['n']}" + (" (cut short)" if run["deadline_hit"] else ""),
                    sec(run["elapsed_s"], 1),
                    str(run["direct_reads"]),
                    str(run["requests_by_kind"]["list"]),
                    num(run["req_per_interval"]),
                    str(run["req_max_interval"]),
                    ms(run["cpu_per_interval_s"]),
                    times(ratio(run["cpu_per_interval_s"], ref["cpu_per_interval_s"])) if ref else "n/a",
                    f"{sec(run['gc_cpu_s'])} ({run['gc_full_collections']})",
                    ms(run["emulator_cpu_per_interval_s"]),
                    f"{sec(run['latency_p50_s'])} / {sec(run['latency_p95_s'])} / "
                    f"{sec(run['latency_max_s'])}",
                    kib(run["mem_rss_per_task_b"]),
                    kib(run["rss_growth_per_task_b"]),
                    num(run["other_processes_cores"], 2),
                ]
            )
        out += [
            table(
                [
                    "variant",
                    "detected",
                    "wait",
                    "direct reads",
                    "lists",
                    "req/int",
                    "max/int",
                    "CPU/int",
                    "CPU vs baseline",
                    "GC",
                    "emu CPU/int",
                    "latency p50 / p95 / max",
                    "RSS/task",
                    "peak RSS/task (timing)",
                    "other load",
                ],
                rows,
            ),
            "",
        ]
    restarts = deferred["restarts"]
    if restarts:
        first = restarts[0]
        out += [
            "### Restart",
            "",
            f"{first['n']} tasks start as above and the sensors defer at once; then no triggerer runs for "
            f"{first['downtime_s']:g} s (the tasks go on; some complete), and the triggers are rebuilt from "
            "their kwargs in a new event loop. *Resume* = the first interval + 1 s after the rebuild.",
            "",
            table(
                [
                    "variant",
                    "detected",
                    "resume: requests (lists / direct)",
                    "resume: CPU",
                    "completed while down",
                    "their detection after resume, p50 / max",
                    "whole resumed wait: requests / direct reads / CPU per interval",
                ],
                [
                    [
                        VARIANT_LABELS.get(run["variant"], run["variant"]),
                        f"{run['detected']}/{run['n']}",
                        f"{run['resume_requests']} ({run['resume_by_kind']['list']} / "
                        f"{run['resume_by_kind']['first_get'] + run['resume_by_kind']['repeat_get']})",
                        ms(run["resume_cpu_s"]),
                        str(run["changed_in_downtime"]),
                        f"{sec(run['downtime_latency_p50_s'])} / {sec(run['downtime_latency_max_s'])}",
                        f"{run['requests_total']} / {run['direct_reads']} / {ms(run['cpu_per_interval_s'])}",
                    ]
                    for run in restarts
                ],
            ),
            "",
        ]
    return out


def _client_section(client: dict[str, Any]) -> list[str]:
    def row(label: str, httpx_key: str, aiohttp_key: str) -> list[str]:
        return [
            label,
            ms(client[httpx_key], 3),
            ms(client[aiohttp_key], 3),
            times(ratio(client[aiohttp_key], client[httpx_key])),
        ]

    return [
        "## 4. The async client and list parsing",
        "",
        f"CPU per request in this process, {client['requests_per_series']} requests per series, "
        f"{client['rounds']} interleaved rounds, medians. Both clients configured as the hook configures its "
        "one client (certificate-checking TLS context, the API headers, connect/read timeouts); a read's "
        "body is decoded and parsed into a `Task` as the hook does.",
        "",
        table(
            ["request", "httpx", "aiohttp", "aiohttp / httpx"],
            [
                row("`GET /api/task/{id}`, one at a time", "httpx_read_1", "aiohttp_read_1"),
                row(
                    "`GET /api/task/{id}`, 8 in flight (the watcher's direct reads)",
                    "httpx_read_8",
                    "aiohttp_read_8",
                ),
                row(
                    f"`GET /api/task?limit=1000`, one page ({client['page_bytes'] / 1024:.0f} KiB), "
                    "body read",
                    "httpx_page",
                    "aiohttp_page",
                ),
            ],
        ),
        "",
        "aiohttp reading the environment on every request (`trust_env=True`, its proxy variables and "
        f"`.netrc`, in worker threads), 8 in flight: {ms(client['aiohttp_read_8'], 3)} per read; with it off "
        "(the proxy and CA bundle read once per hook, as the hook does): "
        f"{ms(client['aiohttp_read_8_no_env'], 3)}.",
        "",
        f"The hook's own `aget_task` (aiohttp, with its tenacity retry wrapper and the model), 8 in flight: "
        f"{ms(client['hook_read_8'], 3)} per read. Parsing a list page, per task: `json.loads` "
        f"{client['json_per_task_s'] * 1e6:.1f} µs, `parse(Task, ...)` (the pydantic model) "
        f"{client['model_per_task_s'] * 1e6:.1f} µs; the hook's whole page handling (request, JSON, models) "
        f"{client['hook_page_per_task'] * 1e6:.1f} µs per task.",
        "",
    ]


def _poke_section(poke: dict[str, Any]) -> list[str]:
    rows = []
    for name, label in (
        ("livepeer_warm", "LivepeerTaskSensor.poke, same sensor (poke mode)"),
        ("http_warm", "HttpSensor.poke + response_check, same sensor"),
        ("livepeer_cold", "LivepeerTaskSensor.poke, new sensor each poke (reschedule)"),
        ("http_cold", "HttpSensor.poke + response_check, new sensor each poke"),
    ):
        stats = poke[name]
        rows.append(
            [
                label,
                ms_fine(stats["cpu_median_s"]),
                ms_fine(stats["cpu_mean_s"]),
                ms_fine(stats["cpu_p95_s"]),
                ms_fine(stats["wall_median_s"]),
                ms_fine(stats["wall_mean_s"]),
                ms_fine(stats["wall_p95_s"]),
            ]
        )
    return [
        "## 2. Poke mode",
        "",
        f"{poke['pokes']} pokes per series on a task that stays `running`, the four series interleaved, "
        f"after 5 warm-up pokes each; {num(poke['requests_per_poke'], 2)} API requests per poke. CPU is "
        "`time.process_time()` of this process (the emulator runs in another).",
        "",
        table(
            ["series", "CPU median", "CPU mean", "CPU p95", "wall median", "wall mean", "wall p95"],
            rows,
        ),
        "",
    ]


def _parse_section(parse: dict[str, Any]) -> list[str]:
    rows = []
    for kind, label in (("livepeer", "LivepeerTaskSensor"), ("http", "HttpSensor")):
        stats = parse[kind]
        rows.append(
            [
                f"{label} x {stats['tasks']}",
                ms(stats["import_airflow_s"], 0),
                ms(stats["import_provider_s"], 0),
                ms(stats["build_s"], 0),
                ms(stats["serialize_s"], 0),
                ms(stats["parse_and_serialize_s"], 0),
                f"{ms(stats['gc_import_provider_s'], 0)} / {ms(stats['gc_build_s'], 0)} / "
                f"{ms(stats['gc_serialize_s'], 0)}",
                ms(stats["parse_and_serialize_without_gc_s"], 0),
                sec(stats["cpu_s"]),
                mib(stats["peak_rss_after_airflow_b"]),
                mib(stats["peak_rss_b"]),
                kib(stats["serialized_bytes"]),
                str(stats["network_attempts"]),
            ]
        )
    return [
        "## 3. DAG parsing",
        "",
        f"A DAG of {parse['sensors']} sensors built in a fresh interpreter, {parse['repetitions']} "
        f"{'time' if parse['repetitions'] == 1 else 'times'} per kind, alternating which goes first"
        + (", after one uncounted warm-up each" if parse.get("warm_up") else "")
        + "; medians of the child's CPU time (process time: the machine may be shared). *import airflow* "
        "(`from airflow.sdk import DAG`, then one small DAG serialized to "
        "load the serialization code, as a DAG processor has it loaded) is the same for both and not "
        "part of *parse*. A full garbage collection lands in whichever phase crosses the collector's "
        "threshold, so the GC pauses per phase are shown and *parse without GC* subtracts them. Each child "
        "records its own connection attempts, and both connections point at the running "
        f"emulator: it received {parse['emulator_requests']} requests during the parses.",
        "",
        table(
            [
                "DAG",
                "import airflow",
                "import provider",
                "build",
                "serialize",
                "parse (import + build + serialize)",
                "GC in import / build / serialize",
                "parse without GC",
                "CPU (process)",
                "peak RSS after airflow",
                "peak RSS",
                "serialized",
                "connection attempts",
            ],
            rows,
        ),
        "",
    ]


def _page_gaps(list_at: list[float]) -> list[float]:
    """Seconds from one list answer to the next (a round's pages go out one after the other)."""
    return [later - earlier for earlier, later in itertools.pairwise(list_at)]


def _findings(settings: Any, results: dict[str, Any]) -> list[str]:
    notes = []
    deferred = results.get("deferred", {"waits": [], "restarts": []})
    by = {(run["variant"], run["n"]): run for run in deferred["waits"]}
    for n in (1000, 5000):
        ours, base = by.get((OURS, n)), by.get((BASELINE, n))
        if not (ours and base):
            continue
        gaps = _page_gaps(ours.get("list_at_s", []))
        slow = gaps and ours["latency_max_s"] > ours["interval_s"] + 1
        notes.append(
            f"* **N={n}: where the triggerer's CPU goes.** {sec(ours['cpu_s'])} over the "
            f"{sec(ours['elapsed_s'], 1)} wait ({ms(ours['cpu_per_interval_s'])} per interval), of which "
            f"{sec(ours['gc_cpu_s'])} in the garbage collector; {ours['requests_by_kind']['list']} "
            "list pages "
            f"and {ours['direct_reads']} direct reads reached the emulator. The baseline: "
            f"{sec(base['cpu_s'])} ({sec(base['gc_cpu_s'])} in the collector) for {base['requests_total']} "
            f"requests, at most {base['req_max_interval']} in an interval."
            + (
                f" From one list answer to the next: {sec(median(gaps))} (median), {sec(max(gaps))} at most, "
                "for a watcher that asks for the next page as soon as one is read: the emulator, which "
                f"scans every task for every page, set the pace of detection at N={n}, not the triggerer."
                if slow
                else ""
            )
        )
    client = results.get("client")
    if client:
        notes.append(
            "* **aiohttp, not httpx, in the hook's async path.** Per read, 8 in flight: "
            f"{ms(client['httpx_read_8'], 3)} with httpx, {ms(client['aiohttp_read_8'], 3)} with "
            "aiohttp; per "
            f"page of 1000 tasks: {ms(client['httpx_page'], 2)} vs {ms(client['aiohttp_page'], 2)} "
            "(httpx's pool re-scans its connections for every queued request; aiohttp parses HTTP in C)."
        )
    if client:
        cost = client["aiohttp_read_8"] - client["aiohttp_read_8_no_env"]
        shares = [
            f"{VARIANT_LABELS.get(run['variant'], run['variant'])} at N={run['n']}: "
            f"{cost * run['req_per_interval'] / run['cpu_per_interval_s']:.1%}"
            for run in deferred["waits"]
            if run["variant"] in ("shared", "per_task") and run["n"] == 1000 and run["cpu_per_interval_s"]
        ]
        notes.append(
            "* **The triggerer's client reads the environment once per hook, not per request.** aiohttp's "
            f"`trust_env` would add {ms(cost, 3)} of CPU per request; at the requests per interval measured "
            f"above, that is this share of the triggerer's CPU per interval: {'; '.join(shares)}."
        )
    base = [run for run in deferred["waits"] if run["variant"] == BASELINE]
    if base:
        top = max(base, key=lambda run: run["n"])
        if top["req_max_interval"] < 0.95 * top["n"]:
            notes.append(
                f"* **The baseline could not keep up at N={top['n']}.** `HttpSensorTrigger` opens a new "
                "`aiohttp.ClientSession` (a new TCP connection) per poll and sleeps a poll interval "
                "after each "
                f"answer; on this machine it reached at most {top['req_max_interval']} requests in "
                "an interval "
                f"instead of {top['n']}, at {ms(top['cpu_per_interval_s'])} of CPU per "
                f"{settings.poll_interval:g} s interval. Its CPU per interval is a lower bound of "
                "what polling "
                f"{top['n']} tasks every interval would cost."
            )
    notes.append(
        "* **How the HTTP provider was made to do the same job.** `HttpSensor` with a `response_check` never "
        "defers (its `execute` pokes in the worker), and `HttpSensorTrigger` checks only the HTTP status "
        "(any non-404 answer fires it), so on a running task it would fire at once. The baseline is "
        "therefore `HttpSensorTrigger`'s own loop (a new `aiohttp` session and `HttpAsyncHook.run` per "
        "poll) plus the check `HttpSensor` would make (`status.phase` terminal), in a bench-only subclass "
        "(`bench/deferred.py`). `HttpEventTrigger`, the provider's one trigger with a response check, is "
        "shown as shipped; it re-imports the check's module (`importlib.reload`, in a thread) every poll."
    )
    poke = results.get("poke")
    if poke:
        warm = ratio(poke["livepeer_warm"]["cpu_median_s"], poke["http_warm"]["cpu_median_s"])
        cold = ratio(poke["livepeer_cold"]["cpu_median_s"], poke["http_cold"]["cpu_median_s"])
        notes.append(
            "* **Pokes.** In poke mode the Livepeer sensor keeps its hook (`cached_property`), and with it a "
            f"keep-alive `requests` session: {times(warm)} HttpSensor's CPU per poke, as `HttpSensor.poke` "
            "builds a new `HttpHook`, session and connection every time. With a new sensor per poke "
            f"(reschedule mode) both pay for the connection lookup and a new session: {times(cold)}."
        )
    return ["## Findings", "", *notes, ""]


# --------------------------------------------------------------------------------------------------- render


def render(meta: dict[str, Any], results: dict[str, Any]) -> tuple[str, str]:
    """The Markdown document and the plain-text summary."""
    settings = meta["settings"]
    targets: list[list[str]] = []
    if "deferred" in results:
        targets += _deferred_targets(settings, results["deferred"])
    if "poke" in results:
        targets += _poke_targets(results["poke"])
    if "parse" in results:
        targets += _parse_targets(results["parse"])
    header = ["target", "airflow-provider-livepeer", "HTTP provider", "ratio", "verdict"]

    md = [
        "# Benchmarks: airflow-provider-livepeer vs the HTTP provider",
        "",
        f"Run {meta['began']}, {settings.mode} mode, {meta['duration_s']:.0f} s: `{meta['command']}`. "
        "Everything against the local Livepeer emulator on 127.0.0.1, in its own process. Ratios are "
        "ours / theirs.",
        "",
        "## Machine and versions",
        "",
        table(
            ["", ""],
            [
                [key, value]
                for key, value in {
                    **meta["machine"],
                    **meta["versions"],
                    "package source": meta.get("source", "unknown"),
                }.items()
            ],
        ),
        "",
        f"Other processes on the machine used {meta['background']['others_cpu_s']:.0f} CPU seconds during "
        f"the run, {meta['background']['others_cores']:.2f} cores on average"
        + (
            ": the machine was shared, so absolute numbers are noisier (the ratios less so, as every "
            "variant ran under the same conditions, one after the other)."
            if meta["background"]["others_cores"] >= 0.1
            else "."
        ),
        "",
        "## Targets",
        "",
        table(header, targets),
        "",
    ]
    if "deferred" in results:
        md += _deferred_section(settings, results["deferred"])
    if "client" in results:
        md += _client_section(results["client"])
    if "poke" in results:
        md += _poke_section(results["poke"])
    if "parse" in results:
        md += _parse_section(results["parse"])
    md += _findings(settings, results)
    md += [
        "## Reproduce",
        "",
        "```",
        ".venv/bin/python bench/run.py           # this report: bench/results/latest.md (+ .json)",
        ".venv/bin/python bench/run.py --quick   # smoke check: bench/results/quick.md",
        "```",
        "",
    ]

    # The terminal gets the verdicts' first clause; the reasons follow the table as numbered notes.
    summary_rows, reasons = [], []
    for row in targets:
        verdict = row[4]
        for separator in (", because ", ": "):
            if verdict.startswith("missed") and separator in verdict:
                head, reason = verdict.split(separator, 1)
                reasons.append(reason)
                verdict = f"{head} [{len(reasons)}]"
                break
        summary_rows.append([row[0], row[1], row[2], row[3], verdict])
    summary = [
        f"airflow-provider-livepeer benchmarks ({settings.mode}, {meta['duration_s']:.0f} s)",
        "",
        plain_table(header, summary_rows),
        *(f"[{number}] {reason}" for number, reason in enumerate(reasons, start=1)),
    ]
    if "deferred" in results:
        rows = [
            [
                VARIANT_LABELS.get(run["variant"], run["variant"]),
                str(run["n"]),
                f"{run['detected']}/{run['n']}",
                num(run["req_per_interval"]),
                str(run["direct_reads"]),
                ms(run["cpu_per_interval_s"]),
                sec(run["latency_max_s"]),
                kib(run.get("mem_rss_per_task_b")),
            ]
            for run in results["deferred"]["waits"]
        ]
        summary += [
            "",
            plain_table(
                [
                    "deferred variant",
                    "N",
                    "detected",
                    "req/int",
                    "direct",
                    "CPU/int",
                    "max latency",
                    "RSS/task",
                ],
                rows,
            ),
        ]
    return "\n".join(md), "\n".join(summary)
