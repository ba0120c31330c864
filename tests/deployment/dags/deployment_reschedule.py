"""Scenario d: a sensor in reschedule mode, each poke a separate run scheduled by the scheduler."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

with DAG(
    "deployment_reschedule",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"source_url": ""},
):
    start = LivepeerImportAssetOperator(
        task_id="import_video", url="{{ params.source_url }}", name="reschedule", wait_for_completion=False
    )
    start >> LivepeerTaskSensor(
        task_id="wait",
        livepeer_task_id="{{ ti.xcom_pull(task_ids='import_video', key='livepeer_task_id') }}",
        mode="reschedule",
        # When the executor's "success" of one poke reaches a loaded scheduler after the sensor was queued
        # for its next poke, Airflow fails the sensor as "killed externally": pokes not too close, and a
        # few retries to spare, as the README advises (Airflow 3.1 on a busy machine needed more than two).
        poke_interval=5,
        retries=4,
        retry_delay=timedelta(seconds=1),
        timeout=900,
    )
