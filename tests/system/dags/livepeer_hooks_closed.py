"""
Tasks that keep every hook they make, so a test can see that each task closed its hook's session.

Run by tests/system/test_hooks_closed.py: an import waiting in the worker, a deferred import, and a
sensor in poke and in deferrable mode, and the delete of the deferred import's asset.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import ClassVar

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerDeleteAssetOperator,
    LivepeerImportAssetOperator,
)
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

#: Every hook the tasks made, with its task id: kept past the run, so a session left open stays visible.
HOOKS: list[tuple[str, LivepeerHook]] = []


class KeepsItsHooks:
    """Keeps every hook the task makes in :data:`HOOKS` (before the operator class in the bases)."""

    hooks: ClassVar[list[tuple[str, LivepeerHook]]] = HOOKS

    @cached_property
    def hook(self) -> LivepeerHook:
        hook: LivepeerHook = super().hook  # type: ignore[misc]
        HOOKS.append((self.task_id, hook))  # type: ignore[attr-defined]
        return hook


class ImportKeepingItsHooks(KeepsItsHooks, LivepeerImportAssetOperator):
    pass


class DeleteKeepingItsHooks(KeepsItsHooks, LivepeerDeleteAssetOperator):
    pass


class SensorKeepingItsHooks(KeepsItsHooks, LivepeerTaskSensor):
    pass


with DAG(
    "livepeer_hooks_closed", schedule=None, start_date=datetime(2026, 1, 1), params={"source_url": ""}
) as dag:
    waited = ImportKeepingItsHooks(
        task_id="import_waiting", url="{{ params.source_url }}", name="waited", poll_interval=0.1
    )
    deferred = ImportKeepingItsHooks(
        task_id="import_deferred",
        url="{{ params.source_url }}?deferred",
        name="deferred",
        poll_interval=0.1,
        deferrable=True,
    )
    for mode in ("poke", "deferrable"):
        waited >> SensorKeepingItsHooks(
            task_id=f"sensor_{mode}",
            livepeer_task_id=waited.output["livepeer_task_id"],
            poke_interval=0.1,
            timeout=60,
            deferrable=mode == "deferrable",
        )
    delete = DeleteKeepingItsHooks(task_id="delete_asset", asset_id=deferred.output["output_asset_id"])
    waited >> deferred >> delete
