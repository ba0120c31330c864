"""Benchmark 3: parsing a DAG of 100 sensors, ``LivepeerTaskSensor`` vs ``HttpSensor``, in fresh processes.

Each repetition runs ``bench/parse_child.py`` once per kind (alternating which goes first). The children
get both connections pointing at the running emulator, so any request made while parsing would be
counted there; they also record every connection attempt they make. Both must stay at zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from common import BENCH_DIR, PROJECT_ROOT, WORK_DIR, EmulatorProcess, Settings, median, progress

KINDS = ("livepeer", "http")
PYCACHE = WORK_DIR / "pycache"
#: The phases of parse_child.py that make up parsing a DAG file (after Airflow itself is imported).
PARSE_PHASES = ("import provider", "build DAG", "serialize DAG")
FIELDS = (
    "import_airflow_s",
    "import_provider_s",
    "build_s",
    "serialize_s",
    "cpu_s",
    "peak_rss_after_airflow_b",
    "peak_rss_after_build_b",
    "peak_rss_b",
    "serialized_bytes",
)


def _child_env() -> dict[str, str]:
    """The children's environment: bytecode cached under bench/.work for every module.

    An installed package comes with its bytecode; a source checkout run with PYTHONDONTWRITEBYTECODE (as
    here) would compile the provider afresh in every child while the HTTP provider's bytecode is
    installed. One shared cache outside the source tree treats both alike.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _parse_once(kind: str, count: int) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(BENCH_DIR / "parse_child.py"), kind, str(count)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=_child_env(),
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"parse child ({kind}) failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(emulator: EmulatorProcess, settings: Settings) -> dict[str, Any]:
    count = settings.parse_sensors
    progress(f"parse: DAG of {count} sensors, {settings.parse_repetitions} fresh process(es) per kind")
    emulator.reset()
    if settings.parse_warm_up or not PYCACHE.exists():
        for kind in KINDS:  # fill the bytecode and file caches; not counted
            _parse_once(kind, count)
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for repetition in range(settings.parse_repetitions):
        order = KINDS if repetition % 2 == 0 else tuple(reversed(KINDS))
        for kind in order:
            runs[kind].append(_parse_once(kind, count))
    requests = emulator.requests()["total"]
    results: dict[str, Any] = {
        "sensors": count,
        "repetitions": settings.parse_repetitions,
        "warm_up": True,
    }
    results["emulator_requests"] = requests
    for kind in KINDS:
        summary = {field: median([run[field] for run in runs[kind]]) for field in FIELDS}
        summary["parse_s"] = median([run["import_provider_s"] + run["build_s"] for run in runs[kind]])
        summary["parse_and_serialize_s"] = median(
            [run["import_provider_s"] + run["build_s"] + run["serialize_s"] for run in runs[kind]]
        )
        # Where a full garbage collection lands is a matter of allocation counts, not of either package:
        # the same work, also shown without the collector's pauses.
        summary["gc_in_parse_and_serialize_s"] = median(
            [sum(run["gc_s"].get(phase, 0.0) for phase in PARSE_PHASES) for run in runs[kind]]
        )
        summary["parse_and_serialize_without_gc_s"] = median(
            [
                run["import_provider_s"]
                + run["build_s"]
                + run["serialize_s"]
                - sum(run["gc_s"].get(phase, 0.0) for phase in PARSE_PHASES)
                for run in runs[kind]
            ]
        )
        for phase, field in zip(
            PARSE_PHASES, ("gc_import_provider_s", "gc_build_s", "gc_serialize_s"), strict=True
        ):
            summary[field] = median([run["gc_s"].get(phase, 0.0) for run in runs[kind]])
        summary["total_s"] = median(
            [run["import_airflow_s"] + run["import_provider_s"] + run["build_s"] for run in runs[kind]]
        )
        summary["tasks"] = runs[kind][0]["tasks"]
        network = [attempt for run in runs[kind] for attempt in run["network"]]
        summary["network_attempts"] = len(network)
        summary["network_attempts_outside_airflow_import"] = [
            attempt for attempt in network if attempt["phase"] != "import airflow"
        ]
        results[kind] = summary
        progress(
            f"  {kind}: provider import {summary['import_provider_s'] * 1000:.0f} ms, "
            f"build {summary['build_s'] * 1000:.0f} ms, serialize {summary['serialize_s'] * 1000:.0f} ms "
            f"(GC in these {summary['gc_in_parse_and_serialize_s'] * 1000:.0f} ms), "
            f"peak RSS {summary['peak_rss_b'] / 2**20:.0f} MiB, network attempts {len(network)}"
        )
    return results
