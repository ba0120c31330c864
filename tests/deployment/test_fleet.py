"""Scenario a, the fleet: 100 mapped imports and 100 deferrable sensors share one poller in the triggerer
(40 of each on the older Airflow releases: see :data:`~tests.deployment.harness.FLEET_SIZE`)."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher
from tests.deployment.dags.deployment_fleet import POLL_INTERVAL
from tests.deployment.harness import FLEET_SIZE, Deployment, most_in_window

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAG_ID = "deployment_fleet"
COUNT = FLEET_SIZE
LIST = ("GET", "/api/task")


def test_fleet_of_deferred_sensors_shares_one_list_request_per_interval(
    airflow_deployment: Deployment,
) -> None:
    deployment, rest = airflow_deployment, airflow_deployment.rest
    deployment.forget_requests()
    sources = [deployment.sources.held_url("fleet", f"fleet-{n}") for n in range(COUNT)]
    run_id = rest.trigger(DAG_ID, {"sources": sources})

    # Every import is held at its source, so every sensor pokes once and then defers.
    rest.wait_for_states(DAG_ID, run_id, "wait", "deferred", COUNT, timeout=600)
    all_deferred = time.time()
    deployment.sources.open("fleet")
    state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", rest.states(DAG_ID, run_id)

    log = deployment.emulator_requests()
    counts = Counter((r["method"], r["path"]) for r in log)
    assert counts[("POST", "/api/asset/upload/url")] == COUNT
    listed = [r["at"] for r in log if (r["method"], r["path"]) == LIST]
    assert [at for at in listed if at > all_deferred], "the triggerer polled the list while they waited"
    assert most_in_window(listed, POLL_INTERVAL) <= 2, listed
    reads = {path: n for (method, path), n in counts.items() if method == "GET" and path != LIST[1]}
    # One read per task, by the sensor's first poke in its worker: the trigger starts from what that poke saw
    # (its kwargs), and the shared list does the rest. On top, only the safety net's reads of quiet tasks:
    # at most one batch per poll, however long deferring every sensor took (not one read per task per poll).
    assert len(reads) == COUNT and min(reads.values()) == 1, reads
    assert sum(reads.values()) - COUNT <= SharedTaskWatcher.safety_net_batch * len(listed), reads
    assert set(counts) == {("POST", "/api/asset/upload/url"), LIST, *(("GET", p) for p in reads)}

    for index, source in enumerate(sources):
        livepeer_task_id = rest.xcom(DAG_ID, run_id, "import_video", "livepeer_task_id", index)
        task = deployment.emulator_task(livepeer_task_id)["task"]
        assert task["params"]["upload"]["url"] == source
        assert task["status"]["phase"] == "completed"
        assert rest.xcom(DAG_ID, run_id, "wait", "output_asset_id", index) == task["outputAssetId"]
