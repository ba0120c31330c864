"""An upload operator's process is killed (SIGKILL) mid-upload; its retry goes on with the same upload."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.deployment.harness import HAS_TASK_STATE_STORE, Deployment
from tests.deployment.processes import wait_until

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(600)]

DAG_ID = "deployment_upload_crash"
TASK_ID = "upload_video"
TUS = "/api/asset/upload/tus"


def test_worker_killed_mid_upload_is_retried_into_the_same_asset(
    airflow_deployment: Deployment, media_dir: Path
) -> None:
    deployment, rest = airflow_deployment, airflow_deployment.rest
    deployment.forget_requests()
    # Each chunk takes half a second to arrive: the kill lands mid-upload, however fast the machine.
    deployment.emulator(
        "POST", "/_emulator/faults", {"latencyMs": 500, "methods": ["PATCH"], "pathPrefix": TUS}
    )
    run_id = rest.trigger(DAG_ID, {"source": str(media_dir / "sample.mp4")})
    [ti] = rest.wait_for_states(DAG_ID, run_id, TASK_ID, "running", 1, timeout=300)
    first_id = wait_until(
        lambda: rest.xcom(DAG_ID, run_id, TASK_ID, "livepeer_task_id"), 120, "the upload's Livepeer task id"
    )
    wait_until(
        lambda: any(r["method"] == "PATCH" and r["status"] == 204 for r in deployment.emulator_requests()),
        60,
        "a first chunk to arrive",
    )
    pid = wait_until(lambda: deployment.task_process(ti, DAG_ID, TASK_ID, run_id), 30, "the task's process")
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)
    deployment.emulator("DELETE", "/_emulator/faults")

    state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
    [ti] = rest.task_instances(DAG_ID, run_id, TASK_ID)
    assert (state, ti["state"], ti["try_number"]) == ("success", "success", 2)
    requests = deployment.emulator_requests()
    requested = [r for r in requests if r["path"] == "/api/asset/request-upload"]
    final_id = rest.xcom(DAG_ID, run_id, TASK_ID, "livepeer_task_id")
    if HAS_TASK_STATE_STORE:
        # The retry read the task and its tus upload from task_state_store, asked the server's offset, and
        # sent the rest into the same asset.
        assert (len(requested), final_id) == (1, first_id)
        assert any(r["method"] == "HEAD" and r["path"].startswith(TUS) for r in requests)
        assert sum(1 for r in requests if r["method"] == "POST" and r["path"] == TUS) == 1
    else:
        assert len(requested) == 2  # no task_state_store before Airflow 3.3: a new upload, a new asset
    task = deployment.emulator_task(str(final_id))["task"]
    assert task["status"]["phase"] == "completed"
    assert task["output"]["upload"]["assetSpec"]["size"] == (media_dir / "sample.mp4").stat().st_size
