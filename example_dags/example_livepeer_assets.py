"""Data-aware scheduling on Livepeer imports: one DAG imports, the other runs on each imported asset.

``example_livepeer_asset_producer`` imports a video and waits for it; on completion it publishes the new
asset as the Airflow Asset ``livepeer://<host>/assets/<asset id>`` through ``AssetAlias("livepeer-imports")``.
``example_livepeer_asset_consumer`` is scheduled on that alias, so it runs once per imported asset, and
reads the asset id and playback id from the asset event's ``extra``.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AssetAlias, Param, task

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator

ALIAS = "livepeer-imports"
POLL_INTERVAL = float(os.environ.get("LIVEPEER_EXAMPLE_POLL_INTERVAL", "10"))

with DAG(
    "example_livepeer_asset_producer",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "livepeer_conn_id": Param("livepeer_default", type="string"),
        "source_url": Param(
            "https://storage.googleapis.com/gtv-videos-bucket/sample/ForBiggerJoyrides.mp4", type="string"
        ),
    },
    tags=["livepeer", "example"],
) as producer:
    # [START howto_operator_livepeer_import_asset_alias]
    LivepeerImportAssetOperator(
        task_id="import_video",
        livepeer_conn_id="{{ params.livepeer_conn_id }}",
        url="{{ params.source_url }}",
        name="{{ dag.dag_id }} {{ run_id }}",
        poll_interval=POLL_INTERVAL,
        airflow_asset_alias=ALIAS,
    )
    # [END howto_operator_livepeer_import_asset_alias]


with DAG(
    "example_livepeer_asset_consumer",
    schedule=[AssetAlias(ALIAS)],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["livepeer", "example"],
) as consumer:
    # [START howto_asset_alias_consumer]
    @task(inlets=[AssetAlias(ALIAS)])
    def use_imported_asset(
        triggering_asset_events: Any = None,
        triggering_dataset_events: Any = None,  # the same, on Airflow 2
        inlet_events: Any = None,
    ) -> dict[str, Any]:
        """Act on the asset that triggered the run (or, run by hand, the latest one imported)."""
        triggering = triggering_asset_events or triggering_dataset_events or {}
        events = [e for batch in triggering.values() for e in batch]
        event = events[-1] if events else inlet_events[AssetAlias(ALIAS)][-1]
        asset = getattr(event, "asset", None) or event.dataset  # Airflow 2 calls it a Dataset
        print(f"New Livepeer asset {asset.uri}: {event.extra}")
        return {"uri": asset.uri, **event.extra}

    # [END howto_asset_alias_consumer]

    use_imported_asset()
