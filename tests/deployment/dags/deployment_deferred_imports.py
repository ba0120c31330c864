"""Scenario b, the triggerer restart: mapped import operators that wait for their work in the triggerer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator

with DAG(
    "deployment_deferred_imports",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"sources": []},
):

    @task
    def sources(**context: Any) -> list[str]:
        return list(context["params"]["sources"])

    LivepeerImportAssetOperator.partial(
        task_id="import_video", name="deferred", poll_interval=2, timeout=900, deferrable=True
    ).expand(url=sources())
