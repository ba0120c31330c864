"""Your own operator that waits in the triggerer: start Livepeer work with the hook, defer on the trigger.

``ImportAndDescribeOperator`` imports a video with ``LivepeerHook``, frees its worker slot by deferring on
``LivepeerTaskTrigger`` (which waits in the triggerer, sharing one list request per interval with every
other Livepeer wait there), and, when the trigger fires, returns what Livepeer made of the video. The
provider's own operators work this way; write one like it when a pipeline needs a step they do not have.

``LIVEPEER_EXAMPLE_POLL_INTERVAL`` (seconds, default 10) sets how often Livepeer is asked; tests against
the local emulator set it low.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.common.compat.sdk import DAG, AirflowException, BaseOperator, Context, Param

# [START howto_trigger_livepeer_task_imports]
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger

# [END howto_trigger_livepeer_task_imports]

POLL_INTERVAL = float(os.environ.get("LIVEPEER_EXAMPLE_POLL_INTERVAL", "10"))


class ImportAndDescribeOperator(BaseOperator):
    """Import ``url`` into a new Livepeer asset, wait in the triggerer, return the asset's id and size.

    :param url: the video to import (templated).
    :param livepeer_conn_id: the ``livepeer`` connection.
    :param poll_interval: seconds between Livepeer's answers while waiting.
    """

    template_fields: Sequence[str] = ("url",)

    def __init__(
        self,
        *,
        url: str,
        livepeer_conn_id: str = "livepeer_default",
        poll_interval: float = 30,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.livepeer_conn_id = livepeer_conn_id
        self.poll_interval = poll_interval

    # [START howto_trigger_livepeer_task]
    def execute(self, context: Context) -> None:
        with LivepeerHook(self.livepeer_conn_id) as hook:
            work = hook.import_asset(self.url, name=f"{self.task_id} {context['run_id']}")
        self.log.info("Livepeer task %s imports %s", work.task.id, self.url)
        self.defer(
            trigger=LivepeerTaskTrigger(
                livepeer_task_id=work.task.id,
                livepeer_conn_id=self.livepeer_conn_id,
                poll_interval=self.poll_interval,
                end_time=datetime.now(UTC) + timedelta(hours=6),  # then a "timeout" event
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        # One event: "success", "failed" (the task failed or was cancelled), "timeout" or "error".
        if event["status"] != "success":
            raise AirflowException(event["message"])
        result = event["result"]  # the task's type, phase, output_asset_id, asset_spec, output
        return {"asset_id": result["output_asset_id"], "size": result["asset_spec"]["size"]}

    # [END howto_trigger_livepeer_task]


with DAG(
    "example_livepeer_custom_operator",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "source_url": Param(
            "https://storage.googleapis.com/gtv-videos-bucket/sample/ForBiggerFun.mp4", type="string"
        ),
    },
    tags=["livepeer", "example"],
    doc_md=__doc__,
) as dag:
    ImportAndDescribeOperator(
        task_id="import_and_describe", url="{{ params.source_url }}", poll_interval=POLL_INTERVAL
    )
