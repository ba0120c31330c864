"""Scenario f, scale-out: the fleet and a worker kill on the CeleryExecutor, two of each Airflow process.

Two schedulers queue tasks through Redis to two Celery workers; two triggerers (12 triggers each) share the
fleet's deferred sensors. One deployment, both DAG runs at once, to keep CI short: the fleet defers, then
the Celery worker running the waiting import of ``deployment_worker_crash`` is killed with everything it
started, and the other worker's retry re-attaches to the import the first try created.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped,unused-ignore]
import pytest

from tests.deployment.dags.deployment_fleet import POLL_INTERVAL
from tests.deployment.harness import CELERY, HAS_TASK_STATE_STORE, Deployment, deployment, most_in_window
from tests.deployment.processes import ManagedProcess, wait_until

pytestmark = [
    pytest.mark.deployment,
    pytest.mark.timeout(900),
    # The re-attach needs task_state_store (Airflow 3.3), and only .venv has the Celery provider (the dev
    # group): the version runs, on older releases, leave it out.
    pytest.mark.skipif(
        not HAS_TASK_STATE_STORE or importlib.util.find_spec("airflow.providers.celery") is None,
        reason="the CeleryExecutor scenario runs on the newest Airflow only, with "
        "apache-airflow-providers-celery (the dev dependency group of .venv)",
    ),
]

FLEET, CRASH = "deployment_fleet", "deployment_worker_crash"
#: More than one triggerer's capacity, so both hold some of the sensors.
COUNT = 20
IMPORT = ("POST", "/api/asset/upload/url")
LIST = ("GET", "/api/task")


@pytest.fixture(scope="module")
def celery_deployment(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Iterator[Deployment]:
    """This module's own deployment: stopped before the next module's scenarios start theirs."""
    with deployment(tmp_path_factory.mktemp("airflow-celery"), media_dir / "sample.mp4", CELERY) as running:
        yield running


def worker_running(deployment: Deployment, ti_id: str) -> ManagedProcess | None:
    """The Celery worker whose process tree runs a task instance (its process: ``airflow worker -- <id>``)."""
    for worker in deployment.celery_workers:
        for process in worker.descendants():
            with contextlib.suppress(psutil.Error):  # the process ended meanwhile
                if " ".join(part for part in process.cmdline() if part) == f"airflow worker -- {ti_id}":
                    return worker
    return None


def polled(deployment: Deployment, livepeer_task_id: str, after: float) -> bool:
    """Whether the emulator was asked for a task after a time (seconds since the epoch)."""
    path = f"/api/task/{livepeer_task_id}"
    return any(r["path"] == path and r["at"] > after for r in deployment.emulator_requests())


def test_fleet_and_killed_worker_on_celery(celery_deployment: Deployment) -> None:
    started = time.monotonic()
    deployment, rest = celery_deployment, celery_deployment.rest
    deployment.forget_requests()
    sources = [deployment.sources.held_url("fleet", f"fleet-{n}") for n in range(COUNT)]
    fleet_run = rest.trigger(FLEET, {"sources": sources})
    crash_source = deployment.sources.held_url("crash", "crash")
    crash_run = rest.trigger(CRASH, {"source_url": crash_source})

    rest.wait_for_states(FLEET, fleet_run, "wait", "deferred", COUNT, timeout=600)
    [ti] = rest.wait_for_states(CRASH, crash_run, "import_video", "running", 1, timeout=300)
    first_id = wait_until(
        lambda: rest.xcom(CRASH, crash_run, "import_video", "livepeer_task_id"), 120, "the first import"
    )
    wait_until(lambda: polled(deployment, str(first_id), after=0), 60, "the first try to poll its import")
    killed = wait_until(lambda: worker_running(deployment, ti["id"]), 30, "the crash task's worker")
    assert isinstance(killed, ManagedProcess)
    killed.kill()
    killed_at = time.time()

    # The scheduler fails the task whose heartbeats stopped and retries it: only the other worker is left.
    def second_try() -> str | None:
        [retry] = rest.task_instances(CRASH, crash_run, "import_video")
        return str(retry["id"]) if retry["try_number"] == 2 and retry["state"] == "running" else None

    retry_id = str(wait_until(second_try, 180, "the second try to run"))
    [survivor] = [worker for worker in deployment.celery_workers if worker is not killed]
    assert wait_until(lambda: worker_running(deployment, retry_id) is survivor, 60, "the retry's process")
    wait_until(lambda: polled(deployment, str(first_id), killed_at), 60, "the retry to poll the first import")

    deployment.sources.open("fleet")
    deployment.sources.open("crash")
    assert rest.wait_for_run(FLEET, fleet_run, timeout=300) == "success", rest.states(FLEET, fleet_run)
    assert rest.wait_for_run(CRASH, crash_run, timeout=300) == "success", rest.states(CRASH, crash_run)
    assert rest.states(FLEET, fleet_run) == {"success": 2 * COUNT + 1}
    [crashed] = rest.task_instances(CRASH, crash_run, "import_video")
    assert (crashed["state"], crashed["try_number"]) == ("success", 2)

    # Each Livepeer task was created once: one import per fleet source, and the retry re-attached to the
    # crash task's import rather than creating another.
    log = deployment.emulator_requests()
    assert Counter((r["method"], r["path"]) for r in log)[IMPORT] == COUNT + 1
    assert rest.xcom(CRASH, crash_run, "import_video", "livepeer_task_id") == first_id
    crash_task = deployment.emulator_task(str(first_id))["task"]
    assert crash_task["params"]["upload"]["url"] == crash_source
    assert crash_task["status"]["phase"] == "completed"
    fleet_ids = [rest.xcom(FLEET, fleet_run, "import_video", "livepeer_task_id", n) for n in range(COUNT)]
    assert len(set(fleet_ids)) == COUNT
    for index, (source, livepeer_task_id) in enumerate(zip(sources, fleet_ids, strict=True)):
        task = deployment.emulator_task(livepeer_task_id)["task"]
        assert task["params"]["upload"]["url"] == source
        assert rest.xcom(FLEET, fleet_run, "wait", "output_asset_id", index) == task["outputAssetId"]

    # One list per triggerer per interval (two in a sliding window, when one answered late): both took a
    # share of the sensors (neither can hold all), and nothing else listed the account.
    for triggerer in deployment.triggerers:
        listed = triggerer.list_requests()
        assert listed and most_in_window(listed, POLL_INTERVAL) <= 2, (triggerer.process.name, listed)
    listed_total = sum(len(triggerer.list_requests()) for triggerer in deployment.triggerers)
    assert sum((r["method"], r["path"]) == LIST for r in log) == listed_total
    # Two schedulers sharing one database, and the surviving worker, ran through it all.
    for process in deployment.processes.values():
        if process is not killed:
            process.check_running()
    print(f"\nCeleryExecutor scenario: {time.monotonic() - started:.0f} s after the deployment was ready")
