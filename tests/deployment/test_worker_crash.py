"""Scenario c: the process of an import operator waiting in its worker is killed (SIGKILL) mid-wait."""

from __future__ import annotations

import os
import signal
from collections import Counter

import pytest

from tests.deployment.harness import HAS_TASK_STATE_STORE, Deployment
from tests.deployment.processes import wait_until

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAG_ID = "deployment_worker_crash"
TASK_ID = "import_video"
IMPORT = ("POST", "/api/asset/upload/url")


def test_killed_worker_is_retried_without_duplicate_work(airflow_deployment: Deployment) -> None:
    deployment, rest = airflow_deployment, airflow_deployment.rest
    deployment.forget_requests()
    source = deployment.sources.held_url("crash", "crash")
    run_id = rest.trigger(DAG_ID, {"source_url": source})

    # Mid-wait: the import was created and the operator is polling it from its worker.
    [ti] = rest.wait_for_states(DAG_ID, run_id, TASK_ID, "running", 1, timeout=300)
    first_id = wait_until(
        lambda: rest.xcom(DAG_ID, run_id, TASK_ID, "livepeer_task_id"),
        120,
        "the operator to push its Livepeer task id",
    )
    wait_until(
        lambda: any(r["path"] == f"/api/task/{first_id}" for r in deployment.emulator_requests()),
        60,
        "the operator to poll its Livepeer task",
    )
    pid = wait_until(lambda: deployment.task_process(ti, DAG_ID, TASK_ID, run_id), 30, "the task's process")
    assert isinstance(pid, int)
    os.kill(pid, signal.SIGKILL)

    # Airflow notices the dead process and retries the task.
    wait_until(
        lambda: rest.task_instances(DAG_ID, run_id, TASK_ID)[0]["try_number"] == 2,
        120,
        "the second try",
    )
    deployment.sources.open("crash")
    state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
    [ti] = rest.task_instances(DAG_ID, run_id, TASK_ID)
    assert (state, ti["state"], ti["try_number"]) == ("success", "success", 2)

    imports = Counter((r["method"], r["path"]) for r in deployment.emulator_requests())[IMPORT]
    final_id = rest.xcom(DAG_ID, run_id, TASK_ID, "livepeer_task_id")
    if HAS_TASK_STATE_STORE:
        # The retry read the first try's Livepeer task id from task_state_store and re-attached to it.
        assert (imports, final_id) == (1, first_id)
    else:
        # No task_state_store before Airflow 3.3: the retry imports again (the documented behaviour; Livepeer
        # may answer a URL whose import is still in flight with that task), and waits for what it got.
        assert imports == 2
    task = deployment.emulator_task(str(final_id))["task"]
    assert task["status"]["phase"] == "completed"
    assert rest.xcom(DAG_ID, run_id, TASK_ID, "output_asset_id") == task["outputAssetId"]
