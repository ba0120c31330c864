"""Scenario h: Livepeer's webhooks reach the api-server's receiver and start DAG runs, with no polling.

The emulator calls ``<api-server>/livepeer/webhooks/livepeer_webhooks`` (a webhook made through its API, as
a person makes one in Livepeer's dashboard) for each completed task; the receiver writes Asset events,
and ``example_livepeer_webhook_uploads``, scheduled on the connection's uploads Asset, runs for each:

1. 20 uploads made outside Airflow make exactly 20 runs, each processing its own upload, and no
   ``GET /api/task`` is sent for them (none but what a triggerer's own polling of other scenarios sends);
2. the api-server stopped while two uploads complete: Livepeer's calls fail and are retried, and once it is
   back both events are recorded as Asset events, once each, none lost;
3. a storm of 1000 forged calls (wrong signatures, unknown connections) is refused, makes no run, and the
   api-server keeps answering its health check.

It prints its wall time, and the latency from each upload's completion (the event's time) to its run's
start.
"""

from __future__ import annotations

import functools
import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import pytest
import requests

from tests.deployment.harness import AIRFLOW_MAJOR, AIRFLOW_MINOR, API_KEY, Deployment
from tests.deployment.processes import wait_until
from tests.support.webhooks import raw, task_event

pytestmark = [
    pytest.mark.deployment,
    pytest.mark.timeout(900),
    # The newest Airflow alone, as the CeleryExecutor scenario: CI's time is short, and the receiver's unit
    # tests run on every release from 3.1 on.
    pytest.mark.skipif(
        (AIRFLOW_MAJOR, AIRFLOW_MINOR) < (3, 3), reason="runs on the newest Airflow (3.3) alone"
    ),
]

DAG_ID = "example_livepeer_webhook_uploads"
CONN_ID = "livepeer_webhooks"
UPLOADS = 20


def upload(deployment: Deployment, name: str, held: bool = False) -> dict[str, Any]:
    """An import made by an app, not by Airflow (``held``: its source waits for the gate ``name``)."""
    url = deployment.sources.held_url(name, name) if held else deployment.sources.open_url(name)
    return dict(deployment.emulator("POST", "/api/asset/upload/url", {"name": name, "url": url}))


def runs(deployment: Deployment) -> list[dict[str, Any]]:
    return list(deployment.rest.get(f"dags/{DAG_ID}/dagRuns", limit=100)["dag_runs"])


def finished(deployment: Deployment, count: int) -> bool:
    return sum(run["state"] in ("success", "failed") for run in runs(deployment)) >= count


def processed(deployment: Deployment, run: dict[str, Any]) -> list[dict[str, Any]]:
    return list(deployment.rest.xcom(DAG_ID, run["dag_run_id"], "process_upload", "return_value") or [])


def processed_uploads(deployment: Deployment) -> set[str]:
    """The Livepeer task of every upload a run processed."""
    return {item["livepeer_task_id"] for run in runs(deployment) for item in processed(deployment, run)}


def healthy(deployment: Deployment) -> bool:
    """Whether the api-server answers its health check (``False`` while it starts)."""
    try:
        return requests.get(f"{deployment.rest.api}/monitor/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def asset_events(deployment: Deployment) -> list[int]:
    """The id of every Asset event, as Airflow's REST API lists them."""
    return [event["id"] for event in deployment.rest.get("assets/events", limit=1000)["asset_events"]]


def recorded_uploads(deployment: Deployment) -> list[str]:
    """The Livepeer task of each Asset event of the uploads Asset, as Airflow's REST API lists them."""
    events = deployment.rest.get("assets/events", limit=1000)["asset_events"]
    return [e["extra"]["livepeer_task_id"] for e in events if e.get("name") == "livepeer_webhook_uploads"]


def webhook_calls(deployment: Deployment) -> list[dict[str, Any]]:
    return list(deployment.emulator("GET", "/_emulator/webhooks/calls")["calls"])


def forged_storm(url: str, calls: int) -> list[int]:
    """``calls`` POSTs of well-formed events with wrong signatures, half to connections that do not exist."""
    body = raw(task_event())

    def forge(n: int) -> int:
        target = url if n % 2 else f"{url}_{n}"
        header = f"t={n},v1={secrets.token_hex(32)}"
        return requests.post(
            target, data=body, headers={"Livepeer-Signature": header}, timeout=30
        ).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(forge, range(calls)))


def test_webhooks_start_one_run_per_upload_lose_nothing_across_a_restart_and_refuse_forgeries(
    airflow_deployment: Deployment,
) -> None:
    deployment = airflow_deployment
    started = time.monotonic()
    secret = secrets.token_urlsafe(24)
    extra = {"webhook_secret": secret, "webhook_uploads_asset": "livepeer_webhook_uploads"}
    deployment.rest.create_connection(CONN_ID, "livepeer", deployment.emulator_url, API_KEY, extra=extra)
    wait_until(functools.partial(deployment.rest.dag_ready, DAG_ID), 300, f"DAG {DAG_ID} to be parsed")
    receiver = f"{deployment.base_url}/livepeer/webhooks/{CONN_ID}"
    hook = {"name": "airflow", "url": receiver, "events": ["task.completed"], "sharedSecret": secret}
    deployment.emulator("POST", "/api/webhook", hook)
    deployment.forget_requests()
    polled_before = sum(len(triggerer.list_requests()) for triggerer in deployment.triggerers)

    # 1. Twenty uploads, made at once, each let through once the run of the one before exists: events that
    # reach the scheduler before it made a run would share one run (Airflow batches them).
    uploads = [upload(deployment, f"hooked-{n}", held=True) for n in range(UPLOADS)]
    for n in range(UPLOADS):
        deployment.sources.open(f"hooked-{n}")
        wait_until(lambda n=n: len(runs(deployment)) > n, 120, f"the run of upload {n + 1}")
    wait_until(lambda: finished(deployment, UPLOADS), 300, f"{UPLOADS} runs")
    all_runs = runs(deployment)
    assert [run["state"] for run in all_runs] == ["success"] * UPLOADS, all_runs
    handled = {
        item["livepeer_task_id"]: (run, item) for run in all_runs for item in processed(deployment, run)
    }
    assert sorted(handled) == sorted(u["task"]["id"] for u in uploads)
    latencies = []
    for task_id, (run, _) in handled.items():
        completed_ms = deployment.emulator_task(task_id)["task"]["status"]["updatedAt"]
        latencies.append(datetime.fromisoformat(run["start_date"]).timestamp() - completed_ms / 1000)
    # Nothing listed Livepeer's tasks but the triggerers' own polling (another scenario's event trigger).
    polled = sum(len(triggerer.list_requests()) for triggerer in deployment.triggerers) - polled_before
    listed = [r for r in deployment.emulator_requests() if (r["method"], r["path"]) == ("GET", "/api/task")]
    assert len(listed) == polled, listed
    median = statistics.median(latencies)
    print(
        f"\nLatency from an upload's completion to its run's start: median {median:.2f} s, "
        f"max {max(latencies):.2f} s; GET /api/task requests: {len(listed)} (triggerers' polling)"
    )
    assert median < 5, latencies

    # 2. The api-server stops; two uploads complete meanwhile, and Livepeer retries their calls.
    api_server = deployment.processes["api-server"]
    api_server.stop()
    late = [upload(deployment, f"while-down-{n}") for n in range(2)]
    late_ids = {u["task"]["id"] for u in late}
    wait_until(
        lambda: sum(call["status"] is None for call in webhook_calls(deployment)) >= 2,
        120,
        "Livepeer's calls to fail while the api-server is down",
    )
    api_server.start()
    wait_until(lambda: healthy(deployment), 180, "the api-server to answer again")
    # Their retries arrive together once it is back: both are recorded, once each. (Whether they start one
    # run or two is Airflow's: an event recorded while the scheduler makes the run of the one before waits
    # for the next event to be processed.)
    wait_until(
        lambda: late_ids <= set(recorded_uploads(deployment)), 300, "the uploads made while it was down"
    )
    assert sorted(recorded_uploads(deployment)) == sorted([*handled, *late_ids])  # each once
    before_storm = asset_events(deployment)
    # Every event whose call failed while the api-server was down got through on a retry.
    calls = webhook_calls(deployment)
    failed = {call["eventId"] for call in calls if call["status"] is None}
    assert failed and failed <= {call["eventId"] for call in calls if call["status"] == 200}, calls

    # 3. A storm of forged calls: all refused, no run, and the api-server answers throughout.
    health: list[bool] = []
    storming = threading.Event()

    def check_health() -> None:
        while not storming.is_set():
            health.append(healthy(deployment))  # False: no answer within 5 s, or not a 200
            time.sleep(0.2)

    checker = threading.Thread(target=check_health)
    checker.start()
    try:
        statuses = forged_storm(receiver, 1000)
    finally:
        storming.set()
        checker.join(30)
    assert set(statuses) == {401}
    assert health and all(health), health
    time.sleep(5)  # a run would have been made by now
    # The runs the late uploads make may come at any time (Airflow's batching): what must not change is
    # what was recorded, and no run may process anything but the genuine uploads.
    assert asset_events(deployment) == before_storm
    assert processed_uploads(deployment) <= {*handled, *late_ids}
    print(f"Webhook scenario wall time: {time.monotonic() - started:.0f} s")
