"""Livepeer pushes, Airflow listens: a run for each finished upload, within a second, with no polling.

Livepeer calls the provider's receiver on the api-server (Airflow 3.1+),
``<public api-server URL>/livepeer/webhooks/<conn_id>``, for each event its webhook lists; the receiver
checks the signature against the connection's ``webhook_secret`` extra and writes Airflow Asset events.
The connection's ``webhook_uploads_asset`` extra names the Asset that hears of every completed upload:
``livepeer_webhook_uploads`` here.

* ``example_livepeer_webhook_setup`` (run once, by hand) registers the webhook with Livepeer, signed with
  the connection's ``webhook_secret``: give it the api-server's public URL (``public_url``). Run again, it
  replaces the webhook it made before (the same URL) rather than adding a second one.
* ``example_livepeer_webhook_uploads``, scheduled on ``Asset("livepeer_webhook_uploads")``, runs once per
  upload and reads it from the Asset event's ``extra`` (the event's ``payload`` is Livepeer's own).

On Airflow before 3.1 (no plugin apps on an api-server) this file defines no DAG.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_1_PLUS

#: The Asset the connection's ``webhook_uploads_asset`` extra names.
UPLOADS_ASSET = "livepeer_webhook_uploads"
#: The events the webhook asks for: the four the receiver turns into Asset events.
EVENTS = ["task.completed", "task.failed", "asset.ready", "asset.failed"]


def receiver_url(public_url: str, conn_id: str) -> str:
    """Where Livepeer calls: the receiver's path on the api-server's public URL."""
    return f"{public_url.rstrip('/')}/livepeer/webhooks/{conn_id}"


def describe_upload(extra: dict[str, Any]) -> dict[str, Any]:
    """What a pipeline would act on: the uploaded asset, from the Asset event's ``extra``."""
    spec = ((extra["payload"]["task"]["snapshot"].get("output") or {}).get("upload") or {}).get(
        "assetSpec"
    ) or {}
    return {
        "livepeer_event_id": extra["livepeer_event_id"],
        "livepeer_task_id": extra["livepeer_task_id"],
        "asset_id": extra["output_asset_id"],
        "playback_id": extra["playback_id"],
        "name": spec.get("name"),
        "size": spec.get("size"),
    }


if AIRFLOW_V_3_1_PLUS:
    from airflow.sdk import DAG, Asset, Param, task

    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    with DAG(
        "example_livepeer_webhook_setup",
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        params={
            "livepeer_conn_id": Param("livepeer_default", type="string"),
            "public_url": Param("https://airflow.example.com", type="string"),
        },
        tags=["livepeer", "example"],
    ) as setup:
        # [START howto_webhook_register]
        @task
        def register_webhook(params: Any = None) -> str:
            """Register (or replace) the webhook that calls this Airflow; returns its id."""
            conn_id = params["livepeer_conn_id"]
            url = receiver_url(params["public_url"], conn_id)
            with LivepeerHook(conn_id) as hook:
                secret = hook.get_connection(conn_id).extra_dejson.get("webhook_secret")
                if not secret:
                    raise ValueError(f"Connection {conn_id!r} has no 'webhook_secret' extra to sign with")
                for earlier in hook.list_webhooks():
                    if earlier.url == url:
                        hook.delete_webhook(earlier.id)
                webhook = hook.create_webhook("airflow", url, EVENTS, shared_secret=secret)
            print(f"Livepeer calls {url} for {', '.join(EVENTS)} (webhook {webhook.id})")
            return webhook.id

        # [END howto_webhook_register]

        register_webhook()

    # [START howto_webhook_uploads_dag]
    with DAG(
        "example_livepeer_webhook_uploads",
        schedule=[Asset(UPLOADS_ASSET)],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["livepeer", "example"],
    ) as dag:

        @task
        def process_upload(triggering_asset_events: Any = None) -> list[dict[str, Any]]:
            """Process each upload that triggered this run (one, unless events were batched)."""
            events = [event for batch in (triggering_asset_events or {}).values() for event in batch]
            processed = [describe_upload(event.extra) for event in events]
            for upload in processed:
                print(f"Uploaded to Livepeer: {upload}")
            return processed

        process_upload()
    # [END howto_webhook_uploads_dag]
