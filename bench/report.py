"""The results as Markdown (``bench/results/*.md``) and the summary printed at the end of a run."""

from __future__ import annotations

import math
from typing import Any

from common import ratio
from deferred import BASELINE, VARIANT_LABELS

from airflow_provider_livepeer.triggers.watcher import SharedTaskWatcher

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
    busy = run["cpu_per_interval_s"] >= 0.8 * run["interval_s"]
    return (
        f"only {run['detected']}/{run['n']} tasks were detected in the {run['elapsed_s']:.0f} s the wait "
        f"was given; {run['requests_total']} requests reached the emulator"
        + (
            f" while the triggerer's event loop used {run['cpu_per_interval_s']:.2f} CPU s per "
            f"{run['interval_s']:g} s interval (see Findings)"
            if busy
            else ""
        )
    )


def _list_waited(run: dict[str, Any]) -> bool:
    """Whether the shared watcher's first list request came only once every first read was done."""
    first_list = run.get("first_list_s")
    return (
        first_list is not None
        and run["first_reads_s"] > run["interval_s"]
        and first_list >= run["first_reads_s"] - 0.05
    )


def _cpu_split(run: dict[str, Any]) -> str:
    if _nan(run["cpu_per_interval_steady_s"]):
        return "the first reads (one per task, as every trigger starts) took the whole wait"
    share = run["cpu_first_reads_s"] / run["cpu_s"] if run["cpu_s"] else 0.0
    return (
        f"{share:.0%} of the CPU is spent in the first {run['first_reads_s']:.1f} s, while every trigger "
        f"starts and its task is read once; after that {ms(run['cpu_per_interval_steady_s'])} per interval"
    )


def _deferred_targets(settings: Any, runs: list[dict[str, Any]]) -> list[list[str]]:
    by = {(run["variant"], run["n"]): run for run in runs}
    n = max(run["n"] for run in runs)
    ours, base = by.get((OURS, n)), by.get((BASELINE, n))
    rows = []
    if ours and base:
        why = _why_not_detected(ours)
        # 1. requests per interval
        value = ours["req_per_interval_steady"]
        per_round = ours.get("lists_max_per_round", 0)
        if why:
            verdict = f"missed (not measurable), because {why}"
        elif value <= 2 and per_round <= 2:
            verdict = "met"
        elif value <= 2:
            verdict = _missed(
                f"{per_round - 2} request(s) in some intervals",
                f"one polling round took {per_round} list pages (more than 1000 tasks changed since the "
                "last look, its time window included)",
            )
        else:
            verdict = _missed(
                f"{value - 2:.1f} requests per interval",
                f"{ours['requests_by_kind']['list']} list pages and "
                f"{ours['requests_by_kind']['repeat_get']} direct re-reads were made",
            )
        rows.append(
            [
                f"API requests per interval, N={n} (target <= 2)",
                f"{num(value)} on average; at most {per_round} per polling round, "
                f"{ours['req_max_interval']} in the busiest interval; plus one first read per task "
                f"({ours['requests_by_kind']['first_get']} of {n})",
                f"{num(base['req_per_interval_steady'])} on average; {base['req_max_interval']} in the "
                f"busiest interval (ideal: {n})",
                times(ratio(value, base["req_per_interval_steady"])),
                verdict,
            ]
        )
        # 2. CPU per interval, over the whole wait (the target) and after the first reads (informational)
        cpu_ratio = ratio(ours["cpu_per_interval_s"], base["cpu_per_interval_s"])
        excess = f"{cpu_ratio / 0.1:.1f}x the allowed CPU (ratio {times(cpu_ratio)}, target <= 0.1x)"
        if why:
            verdict = _missed(excess, why)
        elif cpu_ratio <= 0.1:
            verdict = "met"
        else:
            verdict = _missed(excess, _cpu_split(ours))
        rows.append(
            [
                f"Triggerer CPU per interval, N={n}, whole wait (target <= 1/10 of baseline)",
                ms(ours["cpu_per_interval_s"]),
                ms(base["cpu_per_interval_s"]),
                times(cpu_ratio),
                verdict,
            ]
        )
        steady, base_steady = ours["cpu_per_interval_steady_s"], base["cpu_per_interval_steady_s"]
        if not _nan(steady) and not _nan(base_steady):
            steady_ratio = ratio(steady, base_steady)
            rows.append(
                [
                    f"(informational) CPU per interval after the first reads, N={n}",
                    ms(steady),
                    ms(base_steady),
                    times(steady_ratio),
                    "would meet 1/10"
                    if steady_ratio <= 0.1
                    else f"would miss 1/10 by {steady_ratio / 0.1:.1f}x",
                ]
            )
        per_request = base.get("cpu_per_request_s")
        if not _nan(steady) and per_request and base["req_max_interval"] < 0.95 * n:
            # The baseline fell behind, so its measured CPU per interval is capped by the machine.
            full_rate = per_request * n
            rows.append(
                [
                    f"(informational) the same against the baseline at full rate, N={n}",
                    ms(steady),
                    f"{ms(full_rate, 0)} = {n} x {ms(per_request, 2)} per request (it managed at most "
                    f"{base['req_max_interval']} per interval)",
                    times(ratio(steady, full_rate)),
                    "would meet 1/10"
                    if steady <= 0.1 * full_rate
                    else f"would miss 1/10 by {steady / (0.1 * full_rate):.1f}x",
                ]
            )
    # 3. latency, every N
    limit = settings.poll_interval + 1.0
    worst = []
    for run in runs:
        if run["variant"] != OURS:
            continue
        if run["detected"] < run["n"]:
            worst.append(f"N={run['n']}: {_why_not_detected(run)}")
        elif run["latency_max_s"] > limit:
            over = f"N={run['n']}: max {sec(run['latency_max_s'])}, {sec(run['latency_max_s'] - limit)} over"
            if _list_waited(run):
                over += (
                    f" (the watcher's first list request came only at {sec(run['first_list_s'], 1)}, after "
                    f"all first reads, which took {sec(run['first_reads_s'], 1)})"
                )
            worst.append(over)
    ours_latency = ", ".join(
        f"N={run['n']}: {sec(run['latency_max_s'])}"
        + ("" if run["detected"] == run["n"] else f" ({run['detected']}/{run['n']} detected)")
        for run in runs
        if run["variant"] == OURS
    )
    base_latency = ", ".join(
        f"N={run['n']}: {sec(run['latency_max_s'])}" for run in runs if run["variant"] == BASELINE
    )
    rows.append(
        [
            f"Detection latency, max, every N (target <= poll interval + 1 s = {limit:g} s)",
            ours_latency,
            base_latency,
            "",
            "met" if not worst else "missed: " + "; ".join(worst),
        ]
    )
    return rows


def _cost_row(label: str, ours: float, theirs: float, fmt: Any, because: str = "") -> list[str]:
    value = ratio(ours, theirs)
    verdict = "met" if value <= 1.0 else _missed(f"{(value - 1):.0%} ({fmt(ours - theirs)})", because)
    return [label, fmt(ours), fmt(theirs), times(value), verdict]


def _poke_targets(poke: dict[str, Any]) -> list[list[str]]:
    rows = []
    for mode, label in (("warm", "poke mode, same sensor"), ("cold", "new sensor per poke")):
        ours, theirs = poke[f"livepeer_{mode}"], poke[f"http_{mode}"]
        rows.append(
            _cost_row(f"Poke CPU, median ({label})", ours["cpu_median_s"], theirs["cpu_median_s"], ms_fine)
        )
        rows.append(
            _cost_row(
                f"Poke wall time, median ({label})", ours["wall_median_s"], theirs["wall_median_s"], ms_fine
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
            f"DAG parse: provider import + {parse['sensors']} sensors + serialization (median)",
            ours["parse_and_serialize_s"],
            theirs["parse_and_serialize_s"],
            ms,
            gc_note,
        ),
        _cost_row(
            "DAG parse as above, without garbage-collection pauses (median)",
            ours["parse_and_serialize_without_gc_s"],
            theirs["parse_and_serialize_without_gc_s"],
            ms,
        ),
        _cost_row(
            "DAG parse: peak RSS of the process (median)", ours["peak_rss_b"], theirs["peak_rss_b"], mib
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


def _deferred_section(settings: Any, runs: list[dict[str, Any]]) -> list[str]:
    out = [
        "## 1. Deferred waiting (triggerer)",
        "",
        "N tasks complete at random times, uniformly "
        f"{settings.complete_min_s:g}-{settings.complete_max_s:g} s after the triggers start (poll interval "
        f"{settings.poll_interval:g} s); all triggers run in one asyncio event loop in a forked process (a "
        "fresh loop and CPU clock per pass; modules imported and every variant warmed up beforehand). The "
        f"emulator runs in another process. A pass is cut short {settings.grace_s:g} s after the last "
        "planned completion.",
        "",
        "* **req/int** = API requests per poll interval, not counting the one first read per task "
        "(`GET /api/task/{id}`, counted under *first reads*); **max/int**: the most such requests in any one "
        "interval-long window from the start (a polling round's pages can straddle two windows).",
        "* **CPU/int** = the process's CPU time over the wait divided by the intervals. The wait splits "
        "where the last task's first read is answered: **first reads** = how long that took and the CPU "
        "used meanwhile; **steady CPU/int** = CPU per interval after it.",
        "* **latency** = event time - the task's `status.updatedAt` when it became `completed`.",
        f"* **mem/task** = tracemalloc peak over the first {settings.memory_window_s:g} s of N waits (tasks "
        "that never finish; a separate pass, since tracemalloc slows the code) / N; **RSS/task** = peak RSS "
        "growth during the timing pass / N (includes native memory tracemalloc cannot see, e.g. SSL "
        "contexts).",
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
                    str(run["requests_by_kind"]["first_get"]),
                    num(run["req_per_interval_steady"]),
                    str(run["req_max_interval"]),
                    ms(run["cpu_per_interval_s"]),
                    times(ratio(run["cpu_per_interval_s"], ref["cpu_per_interval_s"])) if ref else "n/a",
                    f"{sec(run['first_reads_s'], 1)} / {sec(run['cpu_first_reads_s'])}",
                    ms(run["cpu_per_interval_steady_s"]),
                    ms(run["emulator_cpu_per_interval_s"]),
                    f"{sec(run['latency_p50_s'])} / {sec(run['latency_p95_s'])} / "
                    f"{sec(run['latency_max_s'])}",
                    kib(run["mem_peak_per_task_b"]),
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
                    "first reads",
                    "req/int",
                    "max/int",
                    "CPU/int",
                    "CPU vs baseline",
                    "first reads: time / CPU",
                    "steady CPU/int",
                    "emu CPU/int",
                    "latency p50 / p95 / max",
                    "mem/task",
                    "RSS/task",
                    "other load",
                ],
                rows,
            ),
            "",
        ]
    return out


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
        + "; medians. *import airflow* (`from airflow.sdk import DAG`, then one small DAG serialized to "
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


def _findings(settings: Any, results: dict[str, Any]) -> list[str]:
    notes = []
    runs = results.get("deferred", [])
    by = {(run["variant"], run["n"]): run for run in runs}
    big = max((run["n"] for run in runs), default=0)
    shipped = by.get((OURS, big))
    if shipped and shipped["detected"] < big:
        notes.append(
            "* **Shared polling: the first reads swamp the event loop.** Every newly subscribed task gets "
            "one "
            "direct `GET /api/task/{id}` (`SharedTaskWatcher`) through the watcher's one "
            "`httpx.AsyncClient`. With many requests queued at once, httpcore's pool re-scans the queued "
            "requests against its connections each time one is queued or finishes "
            "(`AsyncConnectionPool._assign_requests_to_connections`), and the event loop does little else: "
            "in "
            f"this run {shipped['requests_total']} requests reached the emulator in "
            f"{sec(shipped['elapsed_s'], 0)} and {shipped['detected']}/{big} tasks were detected, at "
            f"{ms(shipped['cpu_per_interval_s'], 0)} CPU per interval. Suggested change: bound the reads in "
            "flight, and learn new tasks' state from one list request instead of one read each."
        )
    elif shipped and shipped["cpu_s"] and shipped["cpu_first_reads_s"] / shipped["cpu_s"] >= 0.5:
        per_read = shipped["cpu_first_reads_s"] / max(1, shipped["requests_by_kind"]["first_get"])
        in_flight = getattr(SharedTaskWatcher, "reads_in_flight", None)
        at_a_time = f"{in_flight} reads in flight at a time" if in_flight else "all reads at once"
        notes.append(
            f"* **Shared polling: the first reads cost most of the CPU.** At N={big}, one list request per "
            "interval serves every trigger, but first every new trigger's task is read directly once "
            f"(`SharedTaskWatcher`, {at_a_time}): "
            f"{shipped['requests_by_kind']['first_get']} requests taking {sec(shipped['first_reads_s'], 1)} "
            f"and {sec(shipped['cpu_first_reads_s'])} of CPU (about {ms(per_read)} per read), "
            f"{shipped['cpu_first_reads_s'] / shipped['cpu_s']:.0%} of the CPU of the whole wait; after "
            "that, "
            f"{ms(shipped['cpu_per_interval_steady_s'])} per interval. Profiling this case while writing the "
            "benchmark put most of a read's cost in httpx/httpcore (`AsyncConnectionPool."
            "_assign_requests_to_connections` and its per-connection expiry checks, reading and closing the "
            "response), little in the provider's own code."
            + (
                f" The first list request came only at {sec(shipped['first_list_s'], 1)}, after the last "
                "first read, so a task that completed meanwhile was seen late (max latency "
                f"{sec(shipped['latency_max_s'])}); start the list polling without waiting for the first "
                "reads (`SharedTaskWatcher._run`)."
                if _list_waited(shipped)
                else ""
            )
            + " Suggested change: learn new tasks' state from the list request (a page holds 1000 tasks) "
            "and read directly only the tasks it did not return."
        )
    per_task = [run for run in runs if run["variant"] == "per_task"]
    worst = max(per_task, key=lambda run: run["n"]) if per_task else None
    if worst and worst["rss_growth_per_task_b"] > 200 * 1024:
        notes.append(
            "* **`shared_polling=False`: a new HTTP client, and SSL context, per trigger.** Each "
            "`PollingTaskWatcher` has its own `LivepeerHook`, whose first async call creates an "
            "`httpx.AsyncClient` (`LivepeerHook._asend`); httpx builds a certificate-verifying SSL context "
            "for every client (about 30 ms of CPU and several hundred KiB each on this machine), even for "
            f"the emulator's `http://` URL. At N={worst['n']}: {sec(worst['cpu_first_reads_s'])} of CPU "
            f"before the first reads were done, {kib(worst['rss_growth_per_task_b'])} of RSS per task, "
            f"{worst['detected']}/{worst['n']} tasks detected. Suggested change: share one `AsyncClient` per "
            "connection and event loop (as the shared watcher does), or create one SSL context per process "
            "and pass it as `verify=`."
        )
    base = [run for run in runs if run["variant"] == BASELINE]
    if base:
        top = max(base, key=lambda run: run["n"])
        if top["req_max_interval"] < 0.95 * top["n"]:
            notes.append(
                f"* **The baseline could not keep up at N={top['n']}.** `HttpSensorTrigger` opens a new "
                "`aiohttp.ClientSession` (a new TCP connection) per poll; on this machine it reached at most "
                f"{top['req_max_interval']} requests in an interval instead of {top['n']}, at "
                f"{ms(top['cpu_per_interval_s'])} of CPU per {settings.poll_interval:g} s interval, so its "
                "polls drifted apart and its latency grew. Its CPU per interval is a lower bound of what "
                f"polling {top['n']} tasks every interval would cost."
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
        "Everything against the bundled Livepeer emulator on 127.0.0.1, in its own process. Ratios are "
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
                num(run["req_per_interval_steady"]),
                ms(run["cpu_per_interval_s"]),
                sec(run["latency_max_s"]),
                kib(run["mem_peak_per_task_b"]),
            ]
            for run in results["deferred"]
        ]
        summary += [
            "",
            plain_table(
                ["deferred variant", "N", "detected", "req/int", "CPU/int", "max latency", "mem/task"], rows
            ),
        ]
    return "\n".join(md), "\n".join(summary)
