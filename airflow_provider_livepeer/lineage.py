"""OpenLineage: the datasets Livepeer work reads and writes, named as OpenLineage names them.

A dataset's namespace is ``scheme://authority`` and its name the path within it:

* a URL: ``https://host[:port]`` and the path (query strings, which may hold signatures, and
  credentials are left out); ``ipfs://<CID>`` and ``ar://<transaction>`` with the path, ``/`` for none;
* a Livepeer object: ``livepeer://<api host>`` and ``assets/<id>``, ``tasks/<id>``, ``streams/<playback
  id>`` or ``sessions/<id>``;
* an S3 object: ``s3://<bucket>`` and its key.

The operators and the sensor call these only from their ``get_openlineage_facets_on_*`` methods, which
only the OpenLineage provider calls: without it (the ``openlineage`` extra) nothing here is imported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_livepeer.models import TaskResult

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset as Dataset
    from airflow.providers.openlineage.extractors import OperatorLineage

#: The namespace scheme of Livepeer's own objects (also the scheme of the provider's Airflow Assets).
LIVEPEER_SCHEME = "livepeer"


def livepeer_dataset(api_host: str, name: str) -> Dataset:
    """A Livepeer object: ``livepeer://<api host>`` and e.g. ``assets/<id>``."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=f"{LIVEPEER_SCHEME}://{api_host}", name=name)


def url_dataset(url: str) -> Dataset:
    """What a URL names: ``scheme://host[:port]`` (no credentials) and its path (no query)."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    parts = urlsplit(url)
    authority = parts.hostname or ""
    if parts.port is not None:
        authority += f":{parts.port}"
    return Dataset(namespace=f"{parts.scheme.lower()}://{authority}", name=parts.path or "/")


def s3_dataset(bucket: str, key: str) -> Dataset:
    """An S3 object: ``s3://<bucket>`` and its key."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return Dataset(namespace=f"s3://{bucket}", name=key.lstrip("/"))


def result_dataset(api_host: str, result: TaskResult) -> Dataset:
    """What a completed task made: its asset, or the task itself for one that made none.

    The same object as the task's Airflow Asset
    (:func:`~airflow_provider_livepeer.assets.livepeer_asset_uri`).
    """
    if result.output_asset_id:
        return livepeer_dataset(api_host, f"assets/{result.output_asset_id}")
    return livepeer_dataset(api_host, f"tasks/{result.livepeer_task_id}")


def operator_lineage(inputs: Iterable[Dataset], outputs: Iterable[Dataset]) -> OperatorLineage[Dataset, Any]:
    """What an operator reports to OpenLineage."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=list(inputs), outputs=list(outputs))


def ipfs_export_dataset(output: dict[str, Any]) -> Dataset | None:
    """The file an export put on IPFS, from the completed task's ``output``, or ``None``."""
    ipfs = (output.get("export") or {}).get("ipfs") or {}
    cid = ipfs.get("videoFileCid")
    return url_dataset(f"ipfs://{cid}") if cid else None
