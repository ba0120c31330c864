"""The scale benchmark's report (``scale.py``): its table, and the verdict of each target."""

from __future__ import annotations

from typing import Any


def _ms(result: dict[str, Any] | None) -> str:
    return "not run" if result is None else f"{result['cpu_ms_per_interval']:.1f} ms"


def _latency(result: dict[str, Any] | None) -> str:
    latency = None if result is None else result["latency_max_s"]
    return "not all fired" if latency is None else f"{latency:.2f} s"


def _ratio(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> float | None:
    if ours is None or theirs is None:
        return None
    return float(ours["cpu_ms_per_interval"]) / float(theirs["cpu_ms_per_interval"])


def verdicts(passes: dict[str, Any]) -> list[str]:
    """Each target of the triggerer's cost, with its figure and whether it is met."""
    shared, baseline, interval = passes["shared"], passes["baseline"], passes["interval_s"]
    found = []
    for count in (1000, 5000):
        ratio = _ratio(shared.get(f"busy-{count}"), baseline.get(f"busy-{count}"))
        if ratio is not None:
            met = "met" if ratio <= 0.1 else "missed"
            found.append(
                f"CPU per interval at {count:,} busy waits: {ratio:.3f}x the baseline (<= 0.1x): {met}"
            )
    idle_few, idle_many = shared.get("idle-100"), shared.get("idle-10000")
    if idle_few and idle_many:
        growth = _ratio(idle_many, idle_few) or 0.0
        met = "met" if growth <= 2 else "missed"
        found.append(f"idle CPU per interval, 10,000 waits against 100: {growth:.2f}x (<= 2x): {met}")
    for mode in ("idle", "busy"):
        result = shared.get(f"{mode}-5000")
        if result:
            count = result["full_collections_per_interval"]
            met = "met" if count == 0 else "missed"
            found.append(f"full collections per interval at 5000 {mode} waits: {count:.2f} (none): {met}")
    pair = passes["two_triggerers"]["results"]
    for label, results in (("5000 busy waits", [shared.get("busy-5000")]), ("two triggerers", pair)):
        latencies = [r["latency_max_s"] for r in results if r is not None]
        if latencies:
            worst = None if None in latencies else max(latencies)
            met = "met" if worst is not None and worst <= interval + 1 else "missed"
            shown = "some waits never fired" if worst is None else f"{worst:.2f} s"
            found.append(f"detection latency max, {label}: {shown} (<= {interval + 1:g} s): {met}")
    busy = shared.get("busy-5000")
    if busy:
        total = sum(busy["requests_per_interval"].values())
        met = "met" if total <= 6 else "missed"
        found.append(f"requests per interval at 5000 busy waits: {total:.1f} (<= 6): {met}")
    return found


def render(data: dict[str, Any]) -> str:
    """The Markdown report of a run."""
    passes = data["passes"]
    shared, baseline, interval = passes["shared"], passes["baseline"], passes["interval_s"]
    lines = [
        "# Triggerer cost as waits grow",
        "",
        f"{data['when']}; {data['machine']}; source {data['source']}. Deferred waits polled every "
        f"{interval:g} s, measured over {passes['measured_intervals']} intervals after two of warm-up, "
        "against a fake Livepeer that answers in milliseconds (`bench/fake_livepeer.py`), each pass in a "
        "fresh process. Idle: no task changes; busy: every task's `updatedAt` moves every 3 s. Baseline: "
        "`HttpSensorTrigger` with the phase check `HttpSensor` would make, one per wait (busy or idle cost "
        "it the same).",
        "",
        "| waits | idle CPU/interval | busy CPU/interval | baseline CPU/interval | busy ratio | full GCs per "
        "interval (idle, busy) | requests per interval, busy (list + reads) | latency max, busy | memory "
        "per wait |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for count in sorted({int(key.split("-")[1]) for key in shared}):
        idle, busy = shared[f"idle-{count}"], shared[f"busy-{count}"]
        base = baseline.get(f"busy-{count}")
        ratio = _ratio(busy, base)
        made = busy["requests_per_interval"]
        lines.append(
            f"| {count:,} | {_ms(idle)} | {_ms(busy)} | {_ms(base)} | "
            f"{'n/a' if ratio is None else f'{ratio:.3f}x'} | "
            f"{idle['full_collections_per_interval']:.2f}, {busy['full_collections_per_interval']:.2f} | "
            f"{made.get('list', 0):.1f} + {made.get('read', 0):.1f} | {_latency(busy)} | "
            f"{busy['memory_per_wait_b'] / 1024:.1f} KiB |"
        )
    two = passes["two_triggerers"]
    lines += [
        "",
        f"Two triggerer processes of {two['waits_each']:,} waits each against one emulator (ten tasks of "
        f"each complete; the others run on): {two['list_requests_per_interval']:.1f} list requests per "
        "interval from both, counted by the emulator.",
        "",
    ]
    for number, result in enumerate(two["results"], 1):
        lines.append(f"- triggerer {number}: {_ms(result)} CPU per interval, latency max {_latency(result)}")
    lines += ["", "## Targets", ""] + [f"- {verdict}" for verdict in verdicts(passes)]
    return "\n".join(lines) + "\n"
