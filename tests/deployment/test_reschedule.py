"""Scenario d: a sensor in reschedule mode, each poke a run of its own through the real scheduler."""

from __future__ import annotations

import pytest

from tests.deployment.harness import Deployment
from tests.deployment.processes import wait_until

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAG_ID = "deployment_reschedule"


def test_reschedule_sensor_pokes_in_separate_runs_then_succeeds(airflow_deployment: Deployment) -> None:
    deployment, rest = airflow_deployment, airflow_deployment.rest
    run_id = rest.trigger(DAG_ID, {"source_url": deployment.sources.held_url("reschedule", "reschedule")})
    rest.wait_for_states(DAG_ID, run_id, "import_video", "success", 1, timeout=300)
    livepeer_task_id = rest.xcom(DAG_ID, run_id, "import_video", "livepeer_task_id")
    read = ("GET", f"/api/task/{livepeer_task_id}")
    states_seen: set[str] = set()

    def pokes() -> int:
        states_seen.add(rest.task_instances(DAG_ID, run_id, "wait")[0]["state"])
        return sum((r["method"], r["path"]) == read for r in deployment.emulator_requests())

    # Three pokes of a task still running: two reschedules.
    wait_until(lambda: pokes() >= 3, 180, "three pokes of the sensor", interval=0.3)
    deployment.sources.open("reschedule")
    state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", rest.states(DAG_ID, run_id)

    assert "up_for_reschedule" in states_seen, states_seen
    assert pokes() >= 4  # the pokes that found it running, then the one that found it completed
    task = deployment.emulator_task(livepeer_task_id)["task"]
    assert rest.xcom(DAG_ID, run_id, "wait", "output_asset_id") == task["outputAssetId"]
    assert rest.xcom(DAG_ID, run_id, "wait", "return_value") == {
        "livepeer_task_id": livepeer_task_id,
        "type": "upload",
        "phase": "completed",
        "output_asset_id": task["outputAssetId"],
    }
