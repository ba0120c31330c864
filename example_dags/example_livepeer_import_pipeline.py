"""Import a video into Livepeer, wait until Livepeer is done, check the new asset, then export it to IPFS.

Two DAGs, the same pipeline: ``example_livepeer_import_pipeline`` waits with a sensor in ``reschedule``
mode (the worker slot is freed between pokes); ``example_livepeer_import_pipeline_deferrable`` waits in
the triggerer. Both take the connection id, the source URL and the quality bar from DAG params.

``LIVEPEER_EXAMPLE_POLL_INTERVAL`` (seconds, default 10) sets how often Livepeer is asked; tests against
the local emulator set it low.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_livepeer.operators.livepeer import (
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
)
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

POLL_INTERVAL = float(os.environ.get("LIVEPEER_EXAMPLE_POLL_INTERVAL", "10"))
PARAMS = {
    "livepeer_conn_id": Param("livepeer_default", type="string", description="The livepeer connection."),
    "source_url": Param(
        "https://storage.googleapis.com/gtv-videos-bucket/sample/ForBiggerBlazes.mp4",
        type="string",
        description="The video to import: http(s)://, ipfs:// or ar://.",
    ),
    "min_duration_seconds": Param(1.0, type="number", description="Shorter videos are not exported."),
    "min_height": Param(144, type="integer", description="Lower resolutions are not exported."),
}


# [START howto_operator_livepeer_xcom_asset_spec]
@task.branch
def check_asset(output_asset_id: str, asset_spec: dict[str, Any], params: dict[str, Any]) -> str:
    """Read the new asset's duration and resolution from its assetSpec, and choose the next step."""
    video = asset_spec.get("videoSpec") or {}
    duration = float(video.get("duration") or 0)
    tracks = [t for t in video.get("tracks", []) if t.get("type") == "video"]
    height = int(tracks[0].get("height") or 0) if tracks else 0
    print(f"Asset {output_asset_id}: {duration:.2f} s, {height}p, {asset_spec.get('size')} bytes")
    if duration >= params["min_duration_seconds"] and height >= params["min_height"]:
        return "export_to_ipfs"
    return "report_unsuitable"


# [END howto_operator_livepeer_xcom_asset_spec]


@task
def report_unsuitable(output_asset_id: str) -> None:
    """The video is too short or too small to publish: say so, and do nothing more."""
    print(f"Asset {output_asset_id} is below the quality bar; not exporting it.")


def build(dag_id: str, deferrable: bool) -> DAG:
    """One pipeline; ``deferrable`` chooses how the sensor waits."""
    with DAG(
        dag_id,
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params=PARAMS,
        tags=["livepeer", "example"],
        doc_md=__doc__,
    ) as dag:
        # [START howto_operator_livepeer_import]
        start_import = LivepeerImportAssetOperator(
            task_id="import_video",
            livepeer_conn_id="{{ params.livepeer_conn_id }}",
            url="{{ params.source_url }}",
            name="{{ dag.dag_id }} {{ run_id }}",
            wait_for_completion=False,
        )
        # [END howto_operator_livepeer_import]
        # [START howto_sensor_livepeer_task]
        wait = LivepeerTaskSensor(
            task_id="wait_for_import",
            livepeer_conn_id="{{ params.livepeer_conn_id }}",
            livepeer_task_id=start_import.output["livepeer_task_id"],
            poke_interval=POLL_INTERVAL,
            timeout=3600,
            mode="poke" if deferrable else "reschedule",
            deferrable=deferrable,
        )
        # [END howto_sensor_livepeer_task]
        # [START howto_operator_livepeer_export]
        export = LivepeerExportAssetOperator(
            task_id="export_to_ipfs",
            livepeer_conn_id="{{ params.livepeer_conn_id }}",
            asset_id=wait.output["output_asset_id"],
            ipfs=True,
            poll_interval=POLL_INTERVAL,
            deferrable=deferrable,
        )
        # [END howto_operator_livepeer_export]
        branch = check_asset(wait.output["output_asset_id"], wait.output["asset_spec"])
        branch >> [export, report_unsuitable(wait.output["output_asset_id"])]
    return dag


example_livepeer_import_pipeline = build("example_livepeer_import_pipeline", deferrable=False)
example_livepeer_import_pipeline_deferrable = build(
    "example_livepeer_import_pipeline_deferrable", deferrable=True
)
