"""What the operators and the sensor report to OpenLineage: import, sensor, exports, transcodes, clip."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTranscodeOperator,
)
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

CREDENTIALS = {"accessKeyId": "id", "secretAccessKey": "secret"}
STORAGE = {
    "type": "s3",
    "endpoint": "https://s3.example.invalid",
    "bucket": "out",
    "credentials": CREDENTIALS,
}
S3_INPUT = {
    "type": "s3",
    "endpoint": "https://s3.example.invalid",
    "bucket": "raw",
    "path": "/uploads/talk.mp4",
    "credentials": CREDENTIALS,
}
OUTPUTS = {"hls": {"path": "/talk/hls"}, "mp4": {"path": "/talk/mp4"}}

with DAG(
    "livepeer_lineage",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"source_url": "", "export_url": "", "stream_playback_id": ""},
) as dag:
    common: dict[str, Any] = {"poll_interval": 0.1, "timeout": 60}
    import_video = LivepeerImportAssetOperator(
        task_id="import_video", url="{{ params.source_url }}", name="talk", wait_for_completion=False
    )
    wait = LivepeerTaskSensor(
        task_id="wait", livepeer_task_id=import_video.output["livepeer_task_id"], poke_interval=0.1
    )
    export_ipfs = LivepeerExportAssetOperator(
        task_id="export_ipfs", asset_id=wait.output["output_asset_id"], ipfs=True, **common
    )
    export_custom = LivepeerExportAssetOperator(
        task_id="export_custom",
        asset_id=wait.output["output_asset_id"],
        custom_url="{{ params.export_url }}",
        deferrable=True,
        **common,
    )
    transcode_url = LivepeerTranscodeOperator(
        task_id="transcode_url", input="{{ params.source_url }}", storage=STORAGE, outputs=OUTPUTS, **common
    )
    transcode_s3 = LivepeerTranscodeOperator(
        task_id="transcode_s3",
        input=S3_INPUT,
        storage=STORAGE,
        outputs={"mp4": {"path": "/s3/mp4"}},
        wait_for_completion=False,
    )
    clip = LivepeerClipOperator(
        task_id="clip",
        playback_id="{{ params.stream_playback_id }}",
        start_time=1700000000000,
        end_time=1700000004000,
        **common,
    )
