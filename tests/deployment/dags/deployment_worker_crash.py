"""Scenario c, the worker crash: one import operator waiting in its worker, with a retry to spare."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator

with DAG(
    "deployment_worker_crash",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"source_url": ""},
):
    LivepeerImportAssetOperator(
        task_id="import_video",
        url="{{ params.source_url }}",
        name="crash",
        poll_interval=1,
        timeout=900,
        deferrable=False,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
