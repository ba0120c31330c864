"""A real Airflow deployment on this machine: metadata database, api-server (webserver on Airflow 2),
scheduler with the LocalExecutor, dag-processor and triggerers as separate processes, plus the Livepeer
emulator (its command) and a loopback source server, all on free ports of 127.0.0.1. The :data:`CELERY`
layout runs the CeleryExecutor instead: two schedulers, two Celery workers and two triggerers, with a
throwaway Redis (Debian's ``redis-server``) as the broker.

The metadata database is a throwaway PostgreSQL cluster (Debian's ``postgresql`` package), unless
``LIVEPEER_DEPLOYMENT_DB_URL`` names an existing, empty database (a SQLAlchemy URL) or is ``sqlite`` (quick
local runs on Airflow 3).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import requests

from tests.deployment.processes import ManagedProcess, start_postgres, start_redis, wait_until
from tests.deployment.rest import AirflowRest
from tests.deployment.servers import CountingProxy, SourceServer
from tests.support.project import PROJECT_ROOT
from tests.support.servers import free_port

AIRFLOW_VERSION = version("apache-airflow")
AIRFLOW_MAJOR, AIRFLOW_MINOR = (int(part) for part in AIRFLOW_VERSION.split(".")[:2])
#: Airflow 3.3 keeps a task's own state across tries (``task_state_store``): what the re-attach needs.
HAS_TASK_STATE_STORE = (AIRFLOW_MAJOR, AIRFLOW_MINOR) >= (3, 3)
#: Waits in each fleet scenario. What they check (one list request per interval per triggerer) does not grow
#: with the count: the full 100 run on the newest Airflow, 40 on the older releases, whose schedulers take
#: minutes longer over 100 mapped tasks.
FLEET_SIZE = 100 if (AIRFLOW_MAJOR, AIRFLOW_MINOR) >= (3, 3) else 40

DAGS = PROJECT_ROOT / "tests" / "deployment" / "dags"
#: The example DAG files the deployment starts with. The uploads example joins only in its own scenario
#: (:meth:`Deployment.add_dag`): its event trigger would share, and speed up, every scenario's list polling.
UPLOADS_EXAMPLE = PROJECT_ROOT / "example_dags" / "example_livepeer_uploads.py"
#: The webhook example polls nothing (its DAGs are asset-scheduled or manual): there from the start, as a
#: file added later waits for the dag-processor's next look at the folder (every 5 minutes).
WEBHOOKS_EXAMPLE = PROJECT_ROOT / "example_dags" / "example_livepeer_webhooks.py"
EXAMPLE_DAGS = [PROJECT_ROOT / "example_dags" / "example_livepeer_import_pipeline.py", WEBHOOKS_EXAMPLE]
#: The example pipeline's deferrable flavour (scenario d covers reschedule mode).
EXAMPLE_DAG_ID = "example_livepeer_import_pipeline_deferrable"
API_KEY = "deployment-key"
#: Emulated tasks run at twice real time: 4 s from creation to the end of a source-less run.
EMULATOR_SPEED = 2.0
#: Every deployment currently running in this test process (their logs are shown when a test fails).
RUNNING: list[Deployment] = []
#: The processes that serve the deployment rather than run Airflow: stopped after Airflow's.
SERVICES = ("postgres", "redis", "emulator")


@dataclass(frozen=True)
class Layout:
    """Which executor runs the tasks, and how many of each Airflow process run side by side."""

    executor: str = "LocalExecutor"
    schedulers: int = 1
    triggerers: int = 1
    #: Each triggerer runs at most this many triggers (``None``: Airflow's default).
    triggerer_capacity: int | None = None
    #: Celery workers (the CeleryExecutor's), each running this many tasks at a time: half Airflow's
    #: default of 16, as each is a pool process held from the start, on a machine others share.
    celery_workers: int = 0
    celery_concurrency: int = 8


#: One of each, on the LocalExecutor: the session's deployment, every other scenario's.
LOCAL = Layout()
#: Scale-out: tasks queued through Redis to two workers, two schedulers, two triggerers of 12 triggers each
#: (so a fleet of more than 12 waits is split between them).
CELERY = Layout(
    executor="CeleryExecutor", schedulers=2, triggerers=2, triggerer_capacity=12, celery_workers=2
)


def airflow_command(*args: str) -> list[str]:
    """The ``airflow`` command of the Python running the tests."""
    return [str(Path(sys.executable).parent / "airflow"), *args]


def most_in_window(times: list[float], window: float) -> int:
    """The most of ``times`` that fall within any ``window`` seconds (a sliding window)."""
    ordered = sorted(times)
    most, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def triggerer_command(capacity: int | None) -> list[str]:
    """``airflow triggerer``, serving no logs (that would need a port of its own)."""
    return airflow_command(
        "triggerer", "--skip-serve-logs", *(["--capacity", str(capacity)] if capacity else [])
    )


class Triggerer:
    """A triggerer process and the proxy through which it (alone) reaches the emulator."""

    def __init__(self, process: ManagedProcess, proxy: CountingProxy) -> None:
        self.process = process
        self.proxy = proxy

    def list_requests(self) -> list[float]:
        """When this triggerer asked for the task list (``GET /api/task``)."""
        return [r.at for r in self.proxy.requests("GET", "/api/task")]


class Deployment:
    """The running deployment; build it with :func:`deployment`."""

    def __init__(self, home: Path, video: Path, stack: ExitStack, layout: Layout = LOCAL) -> None:
        self.home = home
        self.layout = layout
        self.logs = home / "process-logs"
        self.logs.mkdir()
        self.stack = stack
        self.processes: dict[str, ManagedProcess] = {}
        self.triggerers: list[Triggerer] = []
        self.celery_workers: list[ManagedProcess] = []
        self.sources = SourceServer(video)
        stack.callback(self.sources.close)
        self.env = self._airflow_env()
        self.emulator_url = ""
        self.rest: AirflowRest

    # ---------------------------------------------------------------------------------------- set-up

    def _airflow_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LIVEPEER"))}
        dags = self.home / "dags"
        dags.mkdir()
        for dag_file in [*sorted(DAGS.glob("*.py")), *EXAMPLE_DAGS]:
            (dags / dag_file.name).symlink_to(dag_file)
        self.api_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__EXECUTOR": self.layout.executor,
                "AIRFLOW__CORE__PARALLELISM": "16",
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "16",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                # The REST API's connection test is off by default; the scenarios use it.
                "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self._database(),
                # A task whose executor "success" reaches a loaded scheduler after the task was queued again
                # (a reschedule, or a deferral that ended within seconds) is failed by Airflow as "killed
                # externally": retries, as the README advises; the operators re-attach, not duplicate.
                "AIRFLOW__CORE__DEFAULT_TASK_RETRIES": "2",
                "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
                "LIVEPEER_EXAMPLE_POLL_INTERVAL": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.layout.celery_workers:
            env.update(self._celery_env())
        secret = secrets.token_urlsafe(32)
        if AIRFLOW_MAJOR >= 3:
            env.update(
                {
                    "AIRFLOW__API__BASE_URL": self.base_url,
                    "AIRFLOW__API__SECRET_KEY": secret,
                    "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
                    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
                    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                }
            )
        else:
            env.update(
                {
                    "AIRFLOW__WEBSERVER__SECRET_KEY": secret,
                    "AIRFLOW__WEBSERVER__BASE_URL": self.base_url,
                    # Basic auth for the scenarios' REST client, the session for the UI's own calls
                    # (the connection form's Test button).
                    "AIRFLOW__API__AUTH_BACKENDS": (
                        "airflow.api.auth.backend.basic_auth,airflow.api.auth.backend.session"
                    ),
                    "AIRFLOW__API__ENABLE_XCOM_DESERIALIZE_SUPPORT": "True",
                    "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR": "True",
                }
            )
        return env

    def _celery_env(self) -> dict[str, str]:
        base = Path(tempfile.mkdtemp(prefix="lp-redis-"))
        self.stack.callback(shutil.rmtree, base, ignore_errors=True)
        server, url = start_redis(base, self.logs)
        self.processes["redis"] = server
        self.stack.callback(server.stop)
        return {
            "AIRFLOW__CELERY__BROKER_URL": url,
            "AIRFLOW__CELERY__RESULT_BACKEND": url.removesuffix("/0") + "/1",
            # A task whose worker was lost stops heartbeating; the scheduler fails it (to retry) after
            # this many seconds, 300 by default: the worker-kill scenario waits for it. Four missed
            # heartbeats (one each 5 s), so a busy machine's late one does not fail a live task.
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        }

    def _database(self) -> str:
        choice = os.environ.get("LIVEPEER_DEPLOYMENT_DB_URL", "")
        if choice == "sqlite":
            if AIRFLOW_MAJOR < 3 or self.layout.schedulers > 1:
                raise RuntimeError(
                    "SQLite cannot back the LocalExecutor on Airflow 2, nor two schedulers: use PostgreSQL"
                )
            return f"sqlite:///{self.home / 'airflow.db'}"
        if choice:
            return choice
        # Not under the home: pytest's temporary folders are closed to the postgres user.
        base = Path(tempfile.mkdtemp(prefix="lp-pg-"))
        self.stack.callback(shutil.rmtree, base, ignore_errors=True)
        server, url = start_postgres(base, self.logs)
        self.processes["postgres"] = server
        self.stack.callback(server.stop)
        return url

    def _process(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str] | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> ManagedProcess:
        process = ManagedProcess(name, argv, env or self.env, self.logs, stop_signal=stop_signal)
        self.processes[name] = process
        self.stack.callback(process.stop)
        return process.start()

    def _run(self, *args: str) -> None:
        """Run an ``airflow`` command to its end (its output goes to ``setup.log``)."""
        with (self.logs / "setup.log").open("ab") as log:
            log.write(f"\n===== airflow {' '.join(args)}\n".encode())
            log.flush()
            result = subprocess.run(
                airflow_command(*args), env=self.env, stdout=log, stderr=subprocess.STDOUT, timeout=600
            )
        if result.returncode != 0:
            tail = "\n".join((self.logs / "setup.log").read_text().splitlines()[-40:])
            raise RuntimeError(f"airflow {' '.join(args)} failed ({result.returncode}):\n{tail}")

    def start(self) -> None:
        """Migrate the database, start every process and wait until the scenario DAGs are parsed."""
        emulator = self._process(
            "emulator",
            [
                sys.executable,
                "-m",
                "livepeer_studio_emulator",
                "--port",
                "0",
                "--api-key",
                API_KEY,
                "--speed",
                str(EMULATOR_SPEED),
                "--max-queued-tasks",
                "1000",
                "--fetch-timeout",
                "900",
            ],
        )
        self._run("db", "migrate")
        if AIRFLOW_MAJOR < 3:
            self._run(
                "users", "create", "--role", "Admin", "--username", "admin", "--password", "admin",
                "--email", "admin@example.com", "--firstname", "Ad", "--lastname", "Min",
            )  # fmt: skip
            server = ["webserver", "--hostname", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        else:
            server = ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"]
        self._process("api-server", airflow_command(*server))
        for n in range(1, self.layout.schedulers + 1):
            name = "scheduler" if self.layout.schedulers == 1 else f"scheduler-{n}"
            self._process(name, airflow_command("scheduler", "--skip-serve-logs"))
        for n in range(1, self.layout.celery_workers + 1):
            # A name each (two workers of one machine would both be celery@<host>); no mingle or gossip:
            # nothing to synchronise at start-up, and less chatter through Redis.
            worker = airflow_command(
                "celery", "worker", "--celery-hostname", f"worker-{n}", "--skip-serve-logs",
                "--concurrency", str(self.layout.celery_concurrency), "--without-mingle", "--without-gossip",
            )  # fmt: skip
            # SIGQUIT, Celery's cold shutdown: its warm one (SIGTERM) sat out the whole stop timeout here.
            self.celery_workers.append(
                self._process(f"celery-worker-{n}", worker, stop_signal=signal.SIGQUIT)
            )
        self._process("dag-processor", airflow_command("dag-processor"))
        self.emulator_url = str(
            wait_until(lambda: self._announced_url(emulator), 60, "the emulator to listen")
        )
        for _ in range(self.layout.triggerers):
            self.add_triggerer(self.layout.triggerer_capacity)
        health = "monitor/health" if AIRFLOW_MAJOR >= 3 else "health"
        self.rest = AirflowRest(self.base_url, AIRFLOW_MAJOR)
        wait_until(lambda: self._answers(f"{self.rest.api}/{health}"), 180, "the api-server to answer")
        self.rest.login()
        self.rest.create_connection("livepeer_default", "livepeer", self.emulator_url, API_KEY)
        dag_ids = [path.stem for path in sorted(DAGS.glob("*.py"))] + [EXAMPLE_DAG_ID]
        for dag_id in dag_ids:
            wait_until(functools.partial(self.rest.dag_ready, dag_id), 180, f"DAG {dag_id} to be parsed")

    def _answers(self, url: str) -> bool:
        for process in self.processes.values():
            process.check_running()
        try:
            return requests.get(url, timeout=10).status_code == 200
        except requests.RequestException:
            return False

    @staticmethod
    def _announced_url(emulator: ManagedProcess) -> str | None:
        emulator.check_running()
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", emulator.log_path.read_text())
        return found.group(1) if found else None

    # ------------------------------------------------------------------------------------ triggerers

    def add_triggerer(self, capacity: int | None = None) -> Triggerer:
        """Start one more triggerer (running at most ``capacity`` triggers), with a proxy of its own."""
        proxy = CountingProxy(self.emulator_url)
        self.stack.callback(proxy.close)
        connection = {"conn_type": "livepeer", "host": proxy.url, "password": API_KEY}
        env = {**self.env, "AIRFLOW_CONN_LIVEPEER_DEFAULT": json.dumps(connection)}
        name = f"triggerer-{len(self.triggerers) + 1}"
        triggerer = Triggerer(self._process(name, triggerer_command(capacity), env), proxy)
        self.triggerers.append(triggerer)
        return triggerer

    def restart_triggerer(self, triggerer: Triggerer, capacity: int | None = None) -> None:
        """Stop a triggerer (SIGTERM) and start it again, running at most ``capacity`` triggers."""
        triggerer.process.stop()
        triggerer.process.argv = triggerer_command(capacity)
        triggerer.process.start()

    def remove_triggerer(self, triggerer: Triggerer) -> None:
        """Stop a triggerer for good."""
        triggerer.process.stop()
        self.triggerers.remove(triggerer)

    # -------------------------------------------------------------------------------------- emulator

    def emulator(self, method: str, path: str, body: Any = None) -> Any:
        """Call the emulator: its admin API (``/_emulator/...``) or Livepeer's API (``/api/...``, keyed)."""
        headers = {"Authorization": f"Bearer {API_KEY}"} if path.startswith("/api/") else {}
        answer = requests.request(
            method, f"{self.emulator_url}{path}", json=body, headers=headers, timeout=60
        )
        assert answer.ok, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def emulator_requests(self) -> list[dict[str, Any]]:
        """The Livepeer API requests the emulator saw since the last :meth:`forget_requests`."""
        return list(self.emulator("GET", "/_emulator/requests")["requests"])

    def add_dag(self, dag_file: Path, dag_id: str) -> None:
        """Put a DAG file in the running deployment's DAG folder and wait until Airflow has parsed it."""
        (self.home / "dags" / dag_file.name).symlink_to(dag_file)
        wait_until(functools.partial(self.rest.dag_ready, dag_id), 300, f"DAG {dag_id} to be parsed")

    def task_process(self, ti: dict[str, Any], dag_id: str, task_id: str, run_id: str) -> int | None:
        """The pid of the process running a task instance, among the scheduler's (LocalExecutor's) children.

        Airflow 3 titles it ``airflow worker -- <task instance id>`` (its supervisor, the executor's worker
        process, is ``airflow worker -- LocalExecutor: <task instance id>``); Airflow 2 titles it
        ``airflow task runner: <dag id> <task id> <run id> ...``.
        """
        for process in self.processes["scheduler"].descendants():
            try:
                title = " ".join(part for part in process.cmdline() if part)  # a title is padded with ""
            except Exception:  # the process ended meanwhile
                continue
            if AIRFLOW_MAJOR >= 3 and title == f"airflow worker -- {ti['id']}":
                return int(process.pid)
            if AIRFLOW_MAJOR < 3 and "task runner:" in title and f"{dag_id} {task_id} {run_id}" in title:
                return int(process.pid)
        return None

    def forget_requests(self) -> None:
        """Start the emulator's request log afresh."""
        self.emulator("DELETE", "/_emulator/requests")

    def emulator_task(self, livepeer_task_id: str) -> dict[str, Any]:
        """A task as the emulator holds it (its admin view: no API request is logged)."""
        return dict(self.emulator("GET", f"/_emulator/tasks/{livepeer_task_id}"))

    def stop_airflow(self) -> None:
        """Let every held import through, then stop the Airflow processes side by side."""
        self.sources.open_all()
        airflow = [p for name, p in self.processes.items() if name not in SERVICES]
        with ThreadPoolExecutor(max_workers=len(airflow) or 1) as pool:
            list(pool.map(ManagedProcess.stop, airflow))

    # ------------------------------------------------------------------------------------------ logs

    def log_tails(self, lines: int = 30) -> str:
        """The end of every process's log, for a failed scenario's report."""
        parts = []
        for process in self.processes.values():
            state = "running" if process.running else f"exited {process.popen and process.popen.returncode}"
            parts.append(f"----- {process.name} ({state}) {process.log_path}\n{process.tail(lines)}")
        return "\n".join(parts)


@contextmanager
def deployment(home: Path, video: Path, layout: Layout = LOCAL) -> Iterator[Deployment]:
    """Start a deployment in ``home``; everything is stopped and every port freed on exit."""
    with ExitStack() as stack:
        running = Deployment(home, video, stack, layout)
        RUNNING.append(running)
        stack.callback(RUNNING.remove, running)
        started = time.monotonic()
        # Registered last, so it runs first: release held imports, then stop the Airflow processes at once.
        stack.callback(running.stop_airflow)
        running.start()
        print(
            f"\nDeployment of Airflow {AIRFLOW_VERSION} ({layout.executor}) ready in "
            f"{time.monotonic() - started:.0f} s"
        )
        yield running
