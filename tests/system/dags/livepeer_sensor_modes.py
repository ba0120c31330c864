"""
In each mode: start an import, gate a task on the sensor, and record the XComs the task reads.

Run by tests/system; each mode imports its own copy of the source, so each sensor really waits.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

with DAG(
    "livepeer_sensor_modes",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"source_url": "", "report_dir": ""},
) as dag:
    previous = None
    for mode in ("poke", "reschedule", "deferrable"):
        start = LivepeerImportAssetOperator(
            task_id=f"import_{mode}",
            url="{{ params.source_url }}?" + mode,
            name=mode,
            wait_for_completion=False,
        )
        wait = LivepeerTaskSensor(
            task_id=f"wait_{mode}",
            livepeer_task_id=start.output["livepeer_task_id"],
            poke_interval=0.2,
            timeout=60,
            mode="reschedule" if mode == "reschedule" else "poke",
            deferrable=mode == "deferrable",
            airflow_asset_alias="livepeer-test-sensor" if mode == "deferrable" else None,
        )

        @task(task_id=f"downstream_{mode}")
        def record(
            summary: dict[str, Any], output_asset_id: str, asset_spec: dict[str, Any], **context: Any
        ) -> None:
            """Write what downstream sees to a file the test compares with the emulator's asset."""
            report = {"summary": summary, "output_asset_id": output_asset_id, "asset_spec": asset_spec}
            path = Path(context["params"]["report_dir"]) / f"{context['ti'].task_id}.json"
            path.write_text(json.dumps(report))

        downstream = record(wait.output, wait.output["output_asset_id"], wait.output["asset_spec"])
        # One mode after the other, so each import starts only when its sensor is about to wait for it.
        if previous is not None:
            previous >> start
        previous = downstream
