"""Scenario a, the fleet: mapped imports that do not wait, then one deferrable sensor per import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

#: Seconds between the shared watcher's list requests (the sensors' poke interval). Long enough that the
#: watcher's safety net (a direct read of a task the list has not mentioned for ten intervals) stays out of
#: the way while a slow machine takes minutes to defer the last sensor: the held imports do not change.
POLL_INTERVAL = 30.0

with DAG(
    "deployment_fleet", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, params={"sources": []}
):

    @task
    def sources(**context: Any) -> list[str]:
        return list(context["params"]["sources"])

    imports = LivepeerImportAssetOperator.partial(
        task_id="import_video", name="fleet", wait_for_completion=False
    ).expand(url=sources())
    LivepeerTaskSensor.partial(
        task_id="wait", poke_interval=POLL_INTERVAL, timeout=900, deferrable=True
    ).expand(livepeer_task_id=imports.output.map(lambda created: created["livepeer_task_id"]))
