"""Sensors in each mode on a stalled task (timeout, soft_fail) and on a failed one (run by tests/system)."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

with DAG(
    "livepeer_sensor_failures",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"stalled_task_id": "", "failed_task_id": ""},
) as dag:
    for mode in ("poke", "reschedule", "deferrable"):
        common = {
            "poke_interval": 0.2,
            "mode": "reschedule" if mode == "reschedule" else "poke",
            "deferrable": mode == "deferrable",
            "retries": 2,
        }
        for soft_fail in (False, True):
            LivepeerTaskSensor(
                task_id=f"stalled_{mode}_{'soft' if soft_fail else 'hard'}",
                livepeer_task_id="{{ params.stalled_task_id }}",
                timeout=1,
                soft_fail=soft_fail,
                **common,
            )
        LivepeerTaskSensor(
            task_id=f"failed_{mode}", livepeer_task_id="{{ params.failed_task_id }}", timeout=30, **common
        )
