"""Airflow Assets for Livepeer work, for data-aware scheduling.

An operator or sensor given ``airflow_asset_alias="NAME"`` declares ``AssetAlias("NAME")`` as an outlet and,
when its Livepeer task completes, attaches to it the Airflow Asset of what Livepeer made:

* ``livepeer://<host>/assets/<asset id>`` for a task that made a Livepeer asset (imports, clips);
* ``livepeer://<host>/tasks/<task id>`` for one that did not (exports, transcodes).

``<host>`` is the connection's API host (``livepeer.studio``, or ``127.0.0.1:3000`` for an emulator). The
asset event's ``extra`` holds ``livepeer_task_id``, ``type``, ``output_asset_id`` and ``playback_id``. A
downstream DAG scheduled on ``AssetAlias("NAME")`` runs once per completed task.

The provider registers the ``livepeer`` scheme with Airflow (``asset-uris``; ``dataset-uris`` before
Airflow 3): :func:`normalize_livepeer_uri` refuses any other shape of URI, and
:func:`livepeer_uri_to_openlineage` makes such an Asset an OpenLineage dataset (see
:mod:`airflow_provider_livepeer.lineage`), so Assets of this scheme appear in lineage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import SplitResult, urlsplit

from airflow.providers.common.compat.sdk import Asset, AssetAlias, Context

from airflow_provider_livepeer.models import TaskResult
from airflow_provider_livepeer.validation import validate_livepeer_id

if TYPE_CHECKING:
    from airflow_provider_livepeer.lineage import Dataset

SCHEME = "livepeer"
#: The kinds of Livepeer objects a ``livepeer://`` URI names, by the first segment of its path.
_KINDS = {"assets": "Livepeer asset id", "tasks": "Livepeer task id"}
_EXPECTED = "livepeer://<api host>/assets/<asset id> or livepeer://<api host>/tasks/<task id>"


def normalize_livepeer_uri(parts: SplitResult) -> SplitResult:
    """Airflow's URI normalizer for the ``livepeer`` scheme: accept only the URIs the provider makes.

    Airflow has already lower-cased the scheme and dropped the fragment and trailing slashes; the host is
    lower-cased here (Airflow 3 keeps its case).

    :raises ValueError: no host, a path other than ``/assets/<id>`` or ``/tasks/<id>``, a bad id, or a
        query string.
    """
    uri = parts.geturl()
    if not parts.netloc:
        raise ValueError(f"Invalid Livepeer URI {uri!r}: it has no API host; expected {_EXPECTED}.")
    if parts.query:
        raise ValueError(f"Invalid Livepeer URI {uri!r}: a query string; expected {_EXPECTED}.")
    kind, _, object_id = parts.path.lstrip("/").partition("/")
    if kind not in _KINDS:
        raise ValueError(f"Invalid Livepeer URI {uri!r}: path {parts.path!r}; expected {_EXPECTED}.")
    try:
        validate_livepeer_id(object_id, _KINDS[kind])
    except ValueError as err:
        raise ValueError(f"Invalid Livepeer URI {uri!r}: {err}") from None
    return parts._replace(netloc=parts.netloc.lower())


def livepeer_uri_to_openlineage(asset: Any, lineage_context: Any = None) -> Dataset:
    """Airflow's converter of a ``livepeer://`` Asset (or Dataset) to an OpenLineage dataset.

    The namespace is ``livepeer://<api host>``, the name the path (``assets/<id>``, ``tasks/<id>``).
    """
    from airflow_provider_livepeer.lineage import livepeer_dataset

    parts = normalize_livepeer_uri(urlsplit(asset.uri))
    return livepeer_dataset(parts.netloc, parts.path.lstrip("/"))


def api_host(api_base_url: str) -> str:
    """The authority of ``livepeer://`` URIs and datasets: the API base URL's host (and port)."""
    return urlsplit(api_base_url).netloc


def livepeer_object_uri(api_base_url: str, kind: Literal["assets", "tasks"], object_id: str) -> str:
    """The ``livepeer://`` URI of a Livepeer asset or task: ``livepeer://<host>/<kind>/<id>``."""
    return f"{SCHEME}://{api_host(api_base_url)}/{kind}/{object_id}"


def livepeer_asset_uri(api_base_url: str, result: TaskResult) -> str:
    """The ``livepeer://`` URI of what a completed task made."""
    if result.output_asset_id:
        return livepeer_object_uri(api_base_url, "assets", result.output_asset_id)
    return livepeer_object_uri(api_base_url, "tasks", result.livepeer_task_id)


def asset_event_extra(result: TaskResult) -> dict[str, Any]:
    """The ``extra`` of the Airflow Asset event of what a task made: which task, and the asset it made."""
    return {
        "livepeer_task_id": result.livepeer_task_id,
        "type": result.type,
        "output_asset_id": result.output_asset_id,
        "playback_id": (result.asset_spec or {}).get("playbackId"),
    }


def emit_asset_event(context: Context, alias: str, api_base_url: str, result: TaskResult) -> None:
    """Attach the Airflow Asset of a completed task's output to the outlet ``AssetAlias(alias)``."""
    context["outlet_events"][AssetAlias(alias)].add(
        Asset(livepeer_asset_uri(api_base_url, result)), extra=asset_event_extra(result)
    )
