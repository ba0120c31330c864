"""What the benchmarks share: the run's settings, the emulator process, statistics, machine facts."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import select
import signal
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"  # git-ignored: logs of the last run
RESULTS_DIR = BENCH_DIR / "results"

#: Connection ids the benchmarks define (as ``AIRFLOW_CONN_*`` environment variables).
LIVEPEER_CONN_ID = "livepeer_bench"
HTTP_CONN_ID = "livepeer_http_bench"


@dataclass(frozen=True)
class Settings:
    """How big and how long each benchmark is; ``quick()`` for smoke checks, ``full()`` for results."""

    mode: str
    poll_interval: float
    #: Per N, the deferred variants run at that N.
    deferred_plan: tuple[tuple[int, tuple[str, ...]], ...]
    #: Tasks complete uniformly at random between these many seconds after the triggers start.
    complete_min_s: float
    complete_max_s: float
    #: How long a timing pass may go on after the last planned completion before it is cut short.
    grace_s: float
    #: How long the memory pass lets the triggers wait.
    memory_window_s: float
    #: The restart run: N, how long no triggerer runs, and the variants.
    restart_n: int
    restart_downtime_s: float
    restart_variants: tuple[str, ...]
    #: Requests per series in the async client comparison.
    client_requests: int
    pokes: int
    parse_repetitions: int
    #: One uncounted parse per kind first (file cache, bytecode).
    parse_warm_up: bool
    parse_sensors: int = 100
    seed: int = 20261128

    @classmethod
    def full(cls) -> Settings:
        ours_and_baseline = ("shared", "http_sensor_trigger")
        return cls(
            mode="full",
            poll_interval=1.0,
            deferred_plan=(
                (100, ours_and_baseline),
                (1000, ("shared", "per_task", "http_sensor_trigger", "http_event_trigger")),
                (5000, ours_and_baseline),
            ),
            complete_min_s=2.0,
            complete_max_s=8.0,
            grace_s=12.0,
            memory_window_s=3.0,
            restart_n=1000,
            restart_downtime_s=3.0,
            restart_variants=ours_and_baseline,
            client_requests=400,
            pokes=200,
            parse_repetitions=4,
            parse_warm_up=True,
        )

    @classmethod
    def quick(cls) -> Settings:
        return cls(
            mode="quick",
            poll_interval=0.5,
            deferred_plan=(
                (10, ("shared", "per_task", "http_sensor_trigger")),
                (100, ("shared", "http_sensor_trigger")),
            ),
            complete_min_s=1.0,
            complete_max_s=3.0,
            grace_s=5.0,
            memory_window_s=1.5,
            restart_n=100,
            restart_downtime_s=1.5,
            restart_variants=("shared", "http_sensor_trigger"),
            client_requests=100,
            pokes=40,
            parse_repetitions=1,
            parse_warm_up=False,
        )


def progress(message: str) -> None:
    """A progress line on stderr (stdout is redirected to the log file while benchmarks run)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- emulator


class EmulatorProcess:
    """``bench/emulator_proc.py`` in a subprocess: its URL, its key, and its JSON-line commands."""

    def __init__(self, log: IO[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "emulator_proc.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=PROJECT_ROOT,
            env=env,
        )
        hello = self._read(timeout=60)
        self.url: str = hello["url"]
        self.api_key: str = hello["api_key"]

    def _read(self, timeout: float = 120) -> dict[str, Any]:
        assert self._proc.stdout is not None
        # One command, one answer line: nothing is ever left in the pipe's buffer, so select() is safe.
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        if not ready:
            raise RuntimeError(f"the emulator process did not answer within {timeout} s")
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process ended (exit code {self._proc.poll()})")
        return json.loads(line)  # type: ignore[no-any-return]

    def call(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
        self._proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"emulator command {cmd!r} failed: {answer['error']}")
        return answer

    def create(self, n: int, **fields: Any) -> list[dict[str, Any]]:
        return self.call("create", n=n, **fields)["tasks"]  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.call("reset")

    def reset_requests(self) -> None:
        self.call("reset_requests")

    def requests(self, since: float = 0.0, until: float | None = None) -> dict[str, Any]:
        return self.call("requests", since=since, until=until)

    def views(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self.call("views", ids=list(ids))

    def cpu(self) -> float:
        return float(self.call("cpu")["cpu_s"])

    def close(self) -> None:
        if self._proc.poll() is None:
            with contextlib.suppress(Exception):
                self.call("quit")
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)

    def connection_env(self) -> dict[str, str]:
        """The Livepeer connection, and the HTTP provider's connection to the same API with the same key.

        The HTTP hooks turn the connection's extra (all keys but their own options) into request headers,
        so ``{"Authorization": "Bearer KEY"}`` in the extra authenticates every request.
        """
        return {
            f"AIRFLOW_CONN_{LIVEPEER_CONN_ID.upper()}": json.dumps(
                {"conn_type": "livepeer", "host": self.url, "password": self.api_key}
            ),
            f"AIRFLOW_CONN_{HTTP_CONN_ID.upper()}": json.dumps(
                {"conn_type": "http", "host": self.url, "extra": {"Authorization": f"Bearer {self.api_key}"}}
            ),
        }


@contextlib.contextmanager
def stdout_to(path: Path) -> Iterator[None]:
    """Send file descriptor 1 (where Airflow's log handlers write) to ``path`` for the block.

    The logs are still formatted and written, as in a triggerer or worker, just not to the terminal.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "a", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


# -------------------------------------------------------------------------------------------- statistics


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.95 for p95)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ratio(ours: float, theirs: float) -> float:
    return ours / theirs if theirs else float("inf")


# ---------------------------------------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu_model = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="utf-8") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "CPU": cpu_model,
        "Cores": str(os.cpu_count()),
        "Memory": memory,
        "OS": f"{platform.system()} {platform.release()}",
    }


def source_state() -> str:
    """The commit the package was measured at, and whether it had uncommitted changes (read-only git)."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "unknown (not a git checkout)"
    changed = [
        line for line in git("status", "--porcelain", "--", "airflow_provider_livepeer").splitlines() if line
    ]
    return f"{commit}" + (
        f" + uncommitted changes in {len(changed)} package file(s)" if changed else " (clean)"
    )


def versions() -> dict[str, str]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "Python": platform.python_version(),
        "apache-airflow": version("apache-airflow"),
        "airflow-provider-livepeer": version("airflow-provider-livepeer"),
        "apache-airflow-providers-http": version("apache-airflow-providers-http"),
        "httpx": version("httpx"),
        "aiohttp": version("aiohttp"),
        "requests": version("requests"),
        "uvicorn (emulator)": version("uvicorn"),
    }


# ------------------------------------------------------------------------------------ forked passes


class Reporter:
    """How a forked pass hands its one JSON result to the parent, from whichever thread gets there first."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._sent = False

    def send(self, result: dict[str, Any]) -> None:
        with self._lock:
            if self._sent:
                return
            self._sent = True
            data = memoryview(json.dumps(result).encode())
            while data:
                data = data[os.write(self._fd, data) :]
            os.close(self._fd)

    def send_at(self, seconds: float, result: Callable[[], dict[str, Any]]) -> None:
        """At ``seconds`` from now, send ``result()`` and end the process, even if its event loop is stuck.

        A pass whose event loop is blocked in synchronous code cannot be cancelled from inside; this
        thread still gets the GIL between bytecodes, so the pass's time stays bounded.
        """

        def fire() -> None:
            self.send(result())
            os._exit(0)

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.start()


def run_forked(work: Callable[[Reporter], dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Run ``work`` in a forked child (fresh event loop, own CPU clock, modules already imported).

    ``work`` returns its result or sends it early through the reporter; the child is killed (by its pid)
    if nothing arrives within ``timeout`` seconds.
    """
    read_fd, write_fd = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        _renew_executors()
        reporter = Reporter(write_fd)
        try:
            result = work(reporter)
        except BaseException:  # the parent must always get an answer
            result = {"error": traceback.format_exc()}
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        reporter.send(result)
        os._exit(0)
    os.close(write_fd)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return {"error": f"the forked pass gave no result within {timeout:.0f} s and was killed"}
            chunk = os.read(read_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        os.waitpid(pid, 0)
    if not chunks:
        return {"error": "the forked pass ended without a result"}
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]


def _renew_executors() -> None:
    """Give a forked child executors of its own.

    Airflow reads connections through asgiref's ``sync_to_async``, whose one worker thread the parent
    started during the warm-up; a forked child inherits the executor but not its thread, so work sent
    to it would wait for ever.
    """
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


def memory_status() -> dict[str, int]:
    """This process's ``VmRSS`` and ``VmHWM`` (peak RSS) in bytes, from ``/proc/self/status``."""
    values = {}
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) * 1024
    return values


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS; ``False`` if Linux refuses."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


# -------------------------------------------------------------------------------------- machine load


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (``/proc/stat``), or NaN."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class BackgroundLoad:
    """How much CPU other processes used while a block ran: the noise under the numbers.

    ``others_s`` = the machine's busy CPU seconds - this process tree's (``extra_own`` adds CPU of
    processes not yet waited for, such as the running emulator).
    """

    def __init__(self) -> None:
        self.busy = machine_busy_seconds()
        self.own = own_cpu_seconds()
        self.wall = time.monotonic()

    def others(self, extra_own: float = 0.0) -> dict[str, float]:
        busy = machine_busy_seconds() - self.busy
        own = own_cpu_seconds() - self.own + extra_own
        wall = time.monotonic() - self.wall
        others = max(0.0, busy - own)
        return {"others_cpu_s": others, "others_cores": others / wall if wall else 0.0, "wall_s": wall}
