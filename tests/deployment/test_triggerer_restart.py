"""Scenario b: the triggerer stops (SIGTERM) while import operators wait in it, and starts again."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tests.deployment.harness import Deployment
from tests.deployment.processes import wait_until

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAG_ID = "deployment_deferred_imports"
COUNT = 20


def test_deferred_operators_complete_after_a_triggerer_restart(airflow_deployment: Deployment) -> None:
    deployment, rest = airflow_deployment, airflow_deployment.rest
    deployment.forget_requests()
    sources = [deployment.sources.held_url("restart", f"restart-{n}") for n in range(COUNT)]
    run_id = rest.trigger(DAG_ID, {"sources": sources})
    rest.wait_for_states(DAG_ID, run_id, "import_video", "deferred", COUNT, timeout=300)
    created = [rest.xcom(DAG_ID, run_id, "import_video", "livepeer_task_id", n) for n in range(COUNT)]

    [triggerer] = deployment.triggerers
    assert triggerer.process.stop_signal == signal.SIGTERM
    triggerer.process.stop()
    # With no triggerer, nothing resumes them: the work finishes at Livepeer while they stay deferred.
    deployment.sources.open("restart")
    wait_until(
        lambda: all(deployment.emulator_task(t)["task"]["status"]["phase"] == "completed" for t in created),
        120,
        "the Livepeer imports to complete",
    )
    assert rest.states(DAG_ID, run_id, "import_video") == {"deferred": COUNT}
    triggerer.process.start()

    state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", rest.states(DAG_ID, run_id)
    counts = Counter((r["method"], r["path"]) for r in deployment.emulator_requests())
    assert counts[("POST", "/api/asset/upload/url")] == COUNT  # no work created twice
    assert len(set(created)) == COUNT
    for index, livepeer_task_id in enumerate(created):
        task = deployment.emulator_task(livepeer_task_id)["task"]
        assert task["params"]["upload"]["url"] == sources[index]
        assert rest.xcom(DAG_ID, run_id, "import_video", "livepeer_task_id", index) == livepeer_task_id
        assert rest.xcom(DAG_ID, run_id, "import_video", "output_asset_id", index) == task["outputAssetId"]
