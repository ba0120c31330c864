"""Scenario g: uploads made straight to Livepeer's API each start one run of the event-driven example DAG.

``example_livepeer_uploads`` is scheduled on an Asset watched by ``LivepeerTaskEventTrigger``; three uploads
made outside Airflow (the emulator's API, as an app would) must make exactly three runs, each processing its
own upload, with the triggerer restarted between the second and the third (which completes meanwhile).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.deployment.harness import AIRFLOW_MAJOR, HAS_TASK_STATE_STORE, UPLOADS_EXAMPLE, Deployment
from tests.deployment.processes import wait_until

pytestmark = [
    pytest.mark.deployment,
    pytest.mark.timeout(900),
    pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason="event triggers (AssetWatcher) arrived in Airflow 3.0"),
]

DAG_ID = "example_livepeer_uploads"


def upload(deployment: Deployment, name: str) -> dict[str, Any]:
    """An import made by an app, not by Airflow; returns ``{asset, task}``."""
    body = {"name": name, "url": deployment.sources.open_url(name)}
    return dict(deployment.emulator("POST", "/api/asset/upload/url", body))


def runs(deployment: Deployment) -> list[dict[str, Any]]:
    return list(deployment.rest.get(f"dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"])


def processed(deployment: Deployment, run: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment.rest.xcom(DAG_ID, run["dag_run_id"], "process_upload", "return_value"))


def finished(deployment: Deployment, count: int) -> bool:
    done = [run for run in runs(deployment) if run["state"] in ("success", "failed")]
    return len(done) >= count


def completed(deployment: Deployment, livepeer_task_id: str) -> bool:
    return bool(deployment.emulator_task(livepeer_task_id)["task"]["status"]["phase"] == "completed")


@pytest.mark.skipif(
    not HAS_TASK_STATE_STORE, reason="the watermark survives a restart from Airflow 3.3 (asset state store)"
)
def test_three_uploads_make_three_runs_across_a_triggerer_restart(airflow_deployment: Deployment) -> None:
    deployment = airflow_deployment
    deployment.add_dag(UPLOADS_EXAMPLE, DAG_ID)
    [triggerer] = deployment.triggerers
    # The watcher runs in the triggerer once the DAG is parsed: its list requests say it has started.
    seen = len(triggerer.list_requests())
    wait_until(lambda: len(triggerer.list_requests()) > seen + 1, 120, "the upload watcher to poll")
    assert runs(deployment) == []

    # One at a time: events that arrive before the scheduler makes a run would share one run.
    uploads = [upload(deployment, "app-upload-1")]
    wait_until(lambda: finished(deployment, 1), 300, "a run for the first upload")
    uploads.append(upload(deployment, "app-upload-2"))
    wait_until(lambda: finished(deployment, 2), 300, "a run for the second upload")

    triggerer.process.stop()
    uploads.append(upload(deployment, "app-upload-3"))
    # It completes while no triggerer runs: the restarted trigger must catch up from its watermark.
    wait_until(lambda: completed(deployment, uploads[2]["task"]["id"]), 120, "the third upload to complete")
    triggerer.process.start()
    wait_until(lambda: finished(deployment, 3), 300, "a third run")
    time.sleep(10)  # several more polls: no run for an upload already processed

    all_runs = runs(deployment)
    assert [run["state"] for run in all_runs] == ["success"] * 3, all_runs
    handled = [item for run in all_runs for item in processed(deployment, run)]
    assert sorted(item["asset_id"] for item in handled) == sorted(u["asset"]["id"] for u in uploads)
    assert sorted(item["livepeer_task_id"] for item in handled) == sorted(u["task"]["id"] for u in uploads)
    assert sorted(item["name"] for item in handled) == ["app-upload-1", "app-upload-2", "app-upload-3"]
