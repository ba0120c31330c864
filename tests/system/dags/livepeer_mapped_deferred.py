"""Mapped import operators that wait in the triggerer: each resumes with its own Livepeer task."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator

with DAG(
    "livepeer_mapped_deferred", schedule=None, start_date=datetime(2026, 1, 1), params={"sources": []}
) as dag:

    @task
    def sources(**context: Any) -> list[str]:
        return list(context["params"]["sources"])

    LivepeerImportAssetOperator.partial(
        task_id="import_video", name="mapped", poll_interval=0.2, deferrable=True
    ).expand(url=sources())
