"""The upload crash: one upload operator sending its file in small chunks, with a retry to spare."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.operators.upload import LivepeerUploadOperator

with DAG(
    "deployment_upload_crash",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"source": ""},
):
    LivepeerUploadOperator(
        task_id="upload_video",
        source="{{ params.source }}",
        name="upload crash",
        chunk_size=1024,  # the 7 kB sample in eight PATCH requests: the test kills the worker between two
        poll_interval=1,
        timeout=900,
        deferrable=False,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
