"""Scenario e: 100 deferred sensors (40 on the older Airflow releases) spread over two triggerers, each
polling the list for its own share."""

from __future__ import annotations

import math
import time
from collections import Counter

import pytest

from airflow_provider_livepeer.triggers.shared_watcher import SharedTaskWatcher
from tests.deployment.dags.deployment_sensors import POLL_INTERVAL
from tests.deployment.harness import FLEET_SIZE, Deployment, most_in_window

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAG_ID = "deployment_sensors"
COUNT = FLEET_SIZE
#: Each triggerer runs at most this many triggers, so they cannot all land on one.
CAPACITY = COUNT * 3 // 5


def test_two_triggerers_share_the_deferred_sensors(airflow_deployment: Deployment) -> None:
    deployment, rest = airflow_deployment, airflow_deployment.rest
    [first] = deployment.triggerers
    deployment.restart_triggerer(first, capacity=CAPACITY)
    second = deployment.add_triggerer(capacity=CAPACITY)
    try:
        deployment.forget_requests()
        first.proxy.forget()
        # Livepeer tasks started outside Airflow, each held at its source until the sensors wait.
        created = [
            deployment.emulator(
                "POST",
                "/api/asset/upload/url",
                {"url": deployment.sources.held_url("two", f"two-{n}"), "name": f"two-{n}"},
            )["task"]["id"]
            for n in range(COUNT)
        ]
        run_id = rest.trigger(DAG_ID, {"livepeer_task_ids": created})
        rest.wait_for_states(DAG_ID, run_id, "wait", "deferred", COUNT, timeout=600)
        time.sleep(POLL_INTERVAL)
        deployment.sources.open("two")
        state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
        assert state == "success", rest.states(DAG_ID, run_id)
    finally:
        deployment.remove_triggerer(second)
        deployment.restart_triggerer(first)

    # A triggerer lists the account only while it holds waiting triggers: each one polled, so each took a
    # share (neither could take them all: CAPACITY < COUNT), at most twice per interval (a sliding window
    # of one interval can hold two polls when one list answered late). Neither read the tasks one by one
    # (the triggers start from what the sensors' pokes saw): its only direct reads are the safety net's, a
    # few quiet tasks per poll once they have been quiet for its number of polls, so at most two batches
    # per window, and each task once per that many polls: a tenth of reading its share at every poll,
    # however long the sensors took to defer.
    for triggerer in (first, second):
        listed = triggerer.list_requests()
        assert listed and most_in_window(listed, POLL_INTERVAL) <= 2, listed
        direct = [r.at for r in triggerer.proxy.seen if r.path.startswith("/api/task/")]
        assert most_in_window(direct, POLL_INTERVAL) <= 2 * SharedTaskWatcher.safety_net_batch, direct
        rounds = math.ceil(len(listed) / SharedTaskWatcher.safety_net_polls)
        assert len(direct) <= rounds * CAPACITY, (len(direct), len(listed))
    counts = Counter((r["method"], r["path"]) for r in deployment.emulator_requests())
    assert counts[("GET", "/api/task")] == len(first.list_requests()) + len(second.list_requests())

    for index, livepeer_task_id in enumerate(created):
        task = deployment.emulator_task(livepeer_task_id)["task"]
        assert task["status"]["phase"] == "completed"
        assert rest.xcom(DAG_ID, run_id, "wait", "output_asset_id", index) == task["outputAssetId"]
