"""A transcode whose first try dies while waiting; the retry must re-attach, not transcode again."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_livepeer.operators.livepeer import LivepeerTranscodeOperator

with DAG(
    "livepeer_operator_reattach", schedule=None, start_date=datetime(2026, 1, 1), params={"source_url": ""}
) as dag:
    LivepeerTranscodeOperator(
        task_id="transcode",
        input="{{ params.source_url }}",
        storage={"type": "web3.storage", "credentials": {"proof": "UCAN"}},
        outputs={"mp4": {"path": "/out"}},
        poll_interval=0.1,
        # The first try is killed by its execution timeout while the transcode still runs.
        execution_timeout=timedelta(seconds=1),
        retries=4,
        retry_delay=timedelta(seconds=0),
    )
