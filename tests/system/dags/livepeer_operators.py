"""Every operator, waiting in-process, deferred and not at all; a task records what they published."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerDeleteAssetOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTranscodeOperator,
)

STORAGE = {
    "type": "s3",
    "endpoint": "https://s3.example.invalid",
    "bucket": "out",
    "credentials": {"accessKeyId": "id", "secretAccessKey": "secret"},
}
XCOM_KEYS = (
    "livepeer_task_id",
    "playback_id",
    "output_asset_id",
    "asset_spec",
    "output",
    "return_value",
    "_link_LivepeerTaskLink",
    "_link_LivepeerAssetLink",
)

with DAG(
    "livepeer_operators",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    params={"source_url": "", "export_url": "", "stream_playback_id": "", "report_dir": ""},
) as dag:
    common: dict[str, Any] = {"poll_interval": 0.1, "timeout": 60}
    import_sync = LivepeerImportAssetOperator(
        task_id="import_sync",
        url="{{ params.source_url }}?sync",
        name="sync import",
        static_mp4=True,
        airflow_asset_alias="livepeer-test-imports",
        **common,
    )
    import_deferred = LivepeerImportAssetOperator(
        task_id="import_deferred",
        url="{{ params.source_url }}?deferred",
        name="deferred",
        deferrable=True,
        **common,
    )
    import_nowait = LivepeerImportAssetOperator(
        task_id="import_nowait",
        url="{{ params.source_url }}?nowait",
        name="nowait",
        wait_for_completion=False,
    )
    export_ipfs = LivepeerExportAssetOperator(
        task_id="export_ipfs", asset_id=import_sync.output["output_asset_id"], ipfs=True, **common
    )
    export_custom = LivepeerExportAssetOperator(
        task_id="export_custom",
        asset_id=import_sync.output["output_asset_id"],
        custom_url="{{ params.export_url }}",
        custom_method="PUT",
        deferrable=True,
        **common,
    )
    transcodes = [
        LivepeerTranscodeOperator(
            task_id=f"transcode_{how}",
            input="{{ params.source_url }}",
            storage=STORAGE,
            outputs={"hls": {"path": f"/{how}/hls"}, "mp4": {"path": f"/{how}/mp4"}},
            deferrable=how == "deferred",
            **common,
        )
        for how in ("sync", "deferred")
    ]
    clips = [
        LivepeerClipOperator(
            task_id=f"clip_{how}",
            playback_id="{{ params.stream_playback_id }}",
            start_time="{{ 1700000000000 }}",
            end_time=1700000004000,
            name=f"clip {how}",
            deferrable=how == "deferred",
            **common,
        )
        for how in ("sync", "deferred")
    ]
    delete = LivepeerDeleteAssetOperator(task_id="delete", asset_id=import_deferred.output["output_asset_id"])

    @task(trigger_rule="all_done")
    def record(**context: Any) -> None:
        """Write every XCom of every operator to a file for the test to check."""
        ti = context["ti"]
        report = {
            task_id: {key: ti.xcom_pull(task_ids=task_id, key=key) for key in XCOM_KEYS}
            for task_id in context["dag"].task_ids
            if task_id != "record"
        }
        (Path(context["params"]["report_dir"]) / "operators.json").write_text(json.dumps(report))

    [import_nowait, export_ipfs, export_custom, delete, *transcodes, *clips] >> record()
