"""Airflow Assets for Livepeer work, for data-aware scheduling.

An operator or sensor given ``airflow_asset_alias="NAME"`` declares ``AssetAlias("NAME")`` as an outlet and,
when its Livepeer task completes, attaches to it the Airflow Asset of what Livepeer made:

* ``livepeer://<host>/assets/<asset id>`` for a task that made a Livepeer asset (imports, clips);
* ``livepeer://<host>/tasks/<task id>`` for one that did not (exports, transcodes).

``<host>`` is the connection's API host (``livepeer.studio``, or ``127.0.0.1:3000`` for an emulator). The
asset event's ``extra`` holds ``livepeer_task_id``, ``type``, ``output_asset_id`` and ``playback_id``. A
downstream DAG scheduled on ``AssetAlias("NAME")`` runs once per completed task.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import Asset, AssetAlias, Context

from airflow_provider_livepeer.models import TaskResult

SCHEME = "livepeer"


def livepeer_asset_uri(api_base_url: str, result: TaskResult) -> str:
    """The ``livepeer://`` URI of what a completed task made."""
    host = urlsplit(api_base_url).netloc
    if result.output_asset_id:
        return f"{SCHEME}://{host}/assets/{result.output_asset_id}"
    return f"{SCHEME}://{host}/tasks/{result.livepeer_task_id}"


def emit_asset_event(context: Context, alias: str, api_base_url: str, result: TaskResult) -> None:
    """Attach the Airflow Asset of a completed task's output to the outlet ``AssetAlias(alias)``."""
    playback_id = (result.asset_spec or {}).get("playbackId")
    context["outlet_events"][AssetAlias(alias)].add(
        Asset(livepeer_asset_uri(api_base_url, result)),
        extra={
            "livepeer_task_id": result.livepeer_task_id,
            "type": result.type,
            "output_asset_id": result.output_asset_id,
            "playback_id": playback_id,
        },
    )
