"""Upload throughput against ``curl -T`` of the same file, and the uploading worker's peak RSS growth.

.. code-block:: bash

    .venv/bin/python bench/upload.py            # bench/results/upload.md (+ upload.json), a few minutes
    .venv/bin/python bench/upload.py --quick    # a smoke run on small files: bench/results/upload-quick.md

The emulator runs in a process of its own (``livepeer-emulator``), on 127.0.0.1. Each round uploads the same
sparse file twice, in turn: once with the provider (``LivepeerHook.request_upload`` + ``uploader()``, the
default 8 MiB tus chunks, in a fresh worker process) and once with ``curl -T`` to the request-upload
answer's ``url`` (one ``PUT``). The file is read once before the rounds, so both find it in the page cache:
the disk is not measured. The throughput ratio is curl's best time over ours (1.0: as fast as curl): the
best of several rounds is the run least disturbed by whatever else the machine runs, as ``timeit``
reports; the medians are given too. Between two uploads, the emulator's job that reads the last one's
bytes is waited out, so the two never share the machine. The peak RSS growth is the worker process's
``VmHWM`` after the upload minus its ``VmRSS`` before it (imports done, connection read).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import machine, source_state, versions

RESULTS = Path(__file__).resolve().parent / "results"
API_KEY = "bench-upload-key"
MIB = 1024 * 1024
TARGET_RATIO = 0.7
RSS_LIMIT_MIB = 64


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def emulator() -> Any:
    """The emulator in its own process; yields its URL."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("livepeer-emulator")), "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--api-key", API_KEY, "--speed", "1000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{url}/_emulator/health", timeout=1).raise_for_status()
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def wait_for_jobs(url: str) -> None:
    """Until the emulator's job that reads the last upload's bytes is done."""
    while requests.get(f"{url}/_emulator/health", timeout=10).json()["activeJobs"]:
        time.sleep(0.2)


def sparse_file(folder: Path, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk, read once: the first read of a sparse file costs
    seconds of page-cache set-up, which would fall on whichever upload came first."""
    path = folder / f"upload-{size // MIB}MiB.bin"
    with path.open("wb") as file:
        file.truncate(size)
    with path.open("rb") as file:
        while file.read(8 * MIB):
            pass
    return path


def ours(url: str, path: Path) -> dict[str, float]:
    """One upload by the provider in a fresh worker process: its seconds and peak RSS growth (MiB)."""
    env = {
        **os.environ,
        "AIRFLOW_CONN_LIVEPEER_DEFAULT": f"livepeer://:{API_KEY}@{url.removeprefix('http://')}",
    }
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], env=env, capture_output=True, text=True, check=False
    )
    if child.returncode != 0:
        raise RuntimeError(f"the upload worker failed:\n{child.stderr[-3000:]}")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


def curl(url: str, path: Path) -> float:
    """One ``curl -T`` of the file to a new request-upload's ``url``: its seconds."""
    answer = requests.post(
        f"{url}/api/asset/request-upload",
        json={"name": "curl"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    answer.raise_for_status()
    started = time.perf_counter()
    subprocess.run(
        ["curl", "-sS", "--fail", "-o", "/dev/null", "-T", str(path), answer.json()["url"]], check=True
    )
    return time.perf_counter() - started


def child(path: Path) -> None:
    """The worker: request an upload and send ``path``; prints ``{"seconds", "rss_growth_mib"}``."""
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    def status(field: str) -> int:
        line = next(
            x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(f"{field}:")
        )
        return int(line.split()[1])

    with LivepeerHook() as hook:
        requested = hook.request_upload("bench")
        uploader = hook.uploader()
        before = status("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
        started = time.perf_counter()
        with path.open("rb") as source:
            uploader.send(source, path.stat().st_size, url=requested.url, tus_endpoint=requested.tus_endpoint)
        seconds = time.perf_counter() - started
        growth = (status("VmHWM") - before) / 1024
    print(json.dumps({"seconds": seconds, "rss_growth_mib": growth}))


def measure(quick: bool) -> dict[str, Any]:
    size, rounds, big = (64 * MIB, 2, 128 * MIB) if quick else (512 * MIB, 7, 1024 * MIB)
    with tempfile.TemporaryDirectory(prefix="livepeer-bench-upload-") as folder, emulator() as url:
        path = sparse_file(Path(folder), size)
        runs: list[dict[str, float]] = []
        for index in range(rounds):
            print(f"round {index + 1} of {rounds}: {size // MIB} MiB", file=sys.stderr, flush=True)
            mine = ours(url, path)
            wait_for_jobs(url)
            theirs = curl(url, path)
            wait_for_jobs(url)
            runs.append(
                {"ours_s": mine["seconds"], "curl_s": theirs, "rss_growth_mib": mine["rss_growth_mib"]}
            )
        print(f"peak RSS: {big // MIB} MiB", file=sys.stderr, flush=True)
        large = ours(url, sparse_file(Path(folder), big))
    ours_s, curl_s = min(run["ours_s"] for run in runs), min(run["curl_s"] for run in runs)
    median_ratio = statistics.median(run["curl_s"] for run in runs) / statistics.median(
        run["ours_s"] for run in runs
    )
    return {
        "size_mib": size // MIB,
        "rounds": runs,
        "ours_mib_s": size / MIB / ours_s,
        "curl_mib_s": size / MIB / curl_s,
        "ratio": curl_s / ours_s,
        "median_ratio": median_ratio,
        "load_average": os.getloadavg(),
        "large_mib": big // MIB,
        "large_seconds": large["seconds"],
        "large_rss_growth_mib": large["rss_growth_mib"],
    }


def report(result: dict[str, Any], quick: bool, started: datetime) -> str:
    ratio, growth = result["ratio"], result["large_rss_growth_mib"]
    facts = {**machine(), **versions(), "package source": source_state()}
    lines = [
        "# Benchmark: uploads, the provider against curl",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, {'quick' if quick else 'full'} mode: "
        f"`.venv/bin/python bench/upload.py{' --quick' if quick else ''}`. The emulator on 127.0.0.1, in its "
        "own process; sparse files (read from the page cache); the provider with its default 8 MiB tus "
        "chunks, curl with one `PUT` of the whole file.",
        "",
        "## Machine and versions",
        "",
        "|  |  |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in facts.items()),
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| throughput against `curl -T`, {result['size_mib']} MiB (>= {TARGET_RATIO}x) | "
        f"{result['ours_mib_s']:.0f} MiB/s against {result['curl_mib_s']:.0f} MiB/s: {ratio:.2f}x | "
        f"{'met' if ratio >= TARGET_RATIO else 'missed'} (best of {len(result['rounds'])} rounds each; "
        f"medians: {result['median_ratio']:.2f}x) |",
        f"| worker's peak RSS growth, {result['large_mib']} MiB file (< {RSS_LIMIT_MIB} MiB) | "
        f"{growth:.1f} MiB | {'met' if growth < RSS_LIMIT_MIB else 'missed'} |",
        "",
        "## Rounds",
        "",
        "| round | provider (s) | curl (s) | provider's peak RSS growth (MiB) |",
        "|---|---|---|---|",
        *(
            f"| {index} | {run['ours_s']:.2f} | {run['curl_s']:.2f} | {run['rss_growth_mib']:.1f} |"
            for index, run in enumerate(result["rounds"], 1)
        ),
        "",
        f"The {result['large_mib']} MiB upload took {result['large_seconds']:.1f} s. Load average at the end "
        f"(1, 5, 15 min): {', '.join(f'{load:.1f}' for load in result['load_average'])} on "
        f"{os.cpu_count()} cores: the machine was shared.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small files: a smoke run")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    started = datetime.now(UTC)
    result = measure(args.quick)
    name = "upload-quick" if args.quick else "upload"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(report(result, args.quick, started))
    print(report(result, args.quick, started))


if __name__ == "__main__":
    main()
