"""Event-driven: a run for each video uploaded to Livepeer outside Airflow (Airflow 3.0+).

An app or the Livepeer Studio dashboard uploads videos; ``LivepeerTaskEventTrigger``, in an
``AssetWatcher`` of the Asset ``livepeer_uploads``, fires when each upload completes, and
``example_livepeer_uploads``, scheduled on that Asset, runs once per upload. Its task reads the uploaded
asset's spec from the triggering event (the trigger's payload is the event's ``extra["payload"]``).

On Airflow 2 (no event triggers) this file defines no DAG.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS

POLL_INTERVAL = float(os.environ.get("LIVEPEER_EXAMPLE_POLL_INTERVAL", "30"))


def describe_upload(payload: dict[str, Any]) -> dict[str, Any]:
    """What a pipeline would act on: the uploaded asset, from the trigger's payload."""
    spec = payload.get("asset_spec") or {}
    video = spec.get("videoSpec") or {}
    return {
        "livepeer_task_id": payload["livepeer_task_id"],
        "asset_id": payload["output_asset_id"],
        "name": spec.get("name"),
        "playback_id": spec.get("playbackId"),
        "size": spec.get("size"),
        "duration": video.get("duration"),
    }


if AIRFLOW_V_3_0_PLUS:
    from airflow.sdk import DAG, Asset, AssetWatcher, task

    from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskEventTrigger

    # [START howto_trigger_livepeer_task_event]
    uploads = Asset(
        "livepeer_uploads",
        watchers=[
            AssetWatcher(
                name="livepeer_uploads_watcher",
                trigger=LivepeerTaskEventTrigger(
                    livepeer_conn_id="livepeer_default", task_types=["upload"], poll_interval=POLL_INTERVAL
                ),
            )
        ],
    )
    # [END howto_trigger_livepeer_task_event]

    with DAG(
        "example_livepeer_uploads",
        schedule=[uploads],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["livepeer", "example"],
    ) as dag:
        # [START howto_trigger_livepeer_task_event_consumer]
        @task
        def process_upload(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
            """Process each upload that triggered this run (one, unless events were batched)."""
            events = [event for batch in (triggering_asset_events or {}).values() for event in batch]
            processed = [describe_upload(event.extra["payload"]) for event in events]
            for upload in processed:
                print(f"Uploaded to Livepeer: {upload}")
            return processed

        # [END howto_trigger_livepeer_task_event_consumer]

        process_upload()
