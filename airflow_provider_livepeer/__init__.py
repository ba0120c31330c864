"""Apache Airflow provider for Livepeer Studio's video API."""

from __future__ import annotations

from typing import Any

from airflow_provider_livepeer.connection_form import EXTRA_FIELDS, FIELD_BEHAVIOUR

__version__ = "0.1.0"

#: The ``livepeer`` scheme of Airflow Asset URIs: how Airflow validates them and maps them to OpenLineage.
URI_SCHEMES = [
    {
        "schemes": ["livepeer"],
        "handler": "airflow_provider_livepeer.assets.normalize_livepeer_uri",
        "to_openlineage_converter": "airflow_provider_livepeer.assets.livepeer_uri_to_openlineage",
    }
]


#: The documentation's how-to pages, one for each operator, the sensor, the triggers and the webhook receiver.
HOW_TO_GUIDES = [
    f"/docs/howto/{page}.md"
    for page in (
        "import",
        "export",
        "transcode",
        "clip",
        "delete",
        "upload",
        "sensor",
        "trigger",
        "event-trigger",
        "webhooks",
    )
]


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's ProvidersManager (the ``apache_airflow_provider`` entry point)."""
    return {
        "package-name": "airflow-provider-livepeer",
        "name": "Livepeer",
        "description": "Livepeer Studio's video API: import, export, transcode and clip videos.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Livepeer",
                "external-doc-url": "https://docs.livepeer.org/api-reference",
                "how-to-guide": HOW_TO_GUIDES,
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "Livepeer",
                "python-modules": [
                    "airflow_provider_livepeer.operators.livepeer",
                    "airflow_provider_livepeer.operators.upload",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Livepeer",
                "python-modules": ["airflow_provider_livepeer.sensors.livepeer"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Livepeer",
                "python-modules": ["airflow_provider_livepeer.hooks.livepeer"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Livepeer",
                "python-modules": ["airflow_provider_livepeer.triggers.livepeer"],
            }
        ],
        # The livepeer:// Airflow Assets the operators emit: validated, and made OpenLineage datasets.
        # Airflow 3 reads "asset-uris", Airflow 2 "dataset-uris" (Assets were Datasets there).
        "asset-uris": URI_SCHEMES,
        "dataset-uris": URI_SCHEMES,
        # The receiver of Livepeer's webhooks, a FastAPI app on the api-server (Airflow 3.1+).
        "plugins": [
            {
                "name": "livepeer_webhooks",
                "plugin-class": "airflow_provider_livepeer.plugins.livepeer.LivepeerWebhookPlugin",
            }
        ],
        "extra-links": [
            "airflow_provider_livepeer.links.livepeer.LivepeerTaskLink",
            "airflow_provider_livepeer.links.livepeer.LivepeerAssetLink",
        ],
        "connection-types": [
            {
                "hook-class-name": "airflow_provider_livepeer.hooks.livepeer.LivepeerHook",
                "connection-type": "livepeer",
                "hook-name": "Livepeer",
                "ui-field-behaviour": FIELD_BEHAVIOUR,
                "conn-fields": EXTRA_FIELDS,
            }
        ],
    }
