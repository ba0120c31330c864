"""Many imports in one real DAG run under faults: mapped import operators, mapped deferrable sensors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

with DAG(
    "livepeer_soak",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"source_url": "", "count": 1, "report_dir": ""},
) as dag:

    @task
    def sources(**context: Any) -> list[str]:
        params = context["params"]
        return [f"{params['source_url']}?n={n}" for n in range(params["count"])]

    imports = LivepeerImportAssetOperator.partial(
        task_id="import_video", name="soak", wait_for_completion=False
    ).expand(url=sources())
    waits = LivepeerTaskSensor.partial(
        task_id="wait", poke_interval=0.2, timeout=300, deferrable=True
    ).expand(livepeer_task_id=imports.output.map(lambda created: created["livepeer_task_id"]))

    @task
    def report(summaries: list[dict[str, Any]], **context: Any) -> None:
        """Write every sensor's summary for the test to compare with the emulator."""
        (Path(context["params"]["report_dir"]) / "soak.json").write_text(json.dumps(list(summaries)))

    report(waits.output)
