"""Scenario e, two triggerers: deferrable sensors on Livepeer tasks started outside Airflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

#: Seconds between each triggerer's list requests (the sensors' poke interval).
POLL_INTERVAL = 3.0

with DAG(
    "deployment_sensors",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"livepeer_task_ids": []},
):

    @task
    def livepeer_task_ids(**context: Any) -> list[str]:
        return list(context["params"]["livepeer_task_ids"])

    LivepeerTaskSensor.partial(
        task_id="wait", poke_interval=POLL_INTERVAL, timeout=900, deferrable=True
    ).expand(livepeer_task_id=livepeer_task_ids())
