"""The Airflow this provider runs on, read once: every version-dependent choice of the provider reads it here.

What each version lacks, and what the provider does instead:

* below 3.3 there is no ``task_state_store``, so the operators cannot re-attach a retry to the Livepeer task
  of an earlier try (``durable``): every try creates new work (:func:`log_feature_unavailable` says so);
* below 3.2 Airflow's UI does not read the connection form from the provider info, so the hook also
  describes it the older way (:meth:`LivepeerHook.get_connection_form_widgets`);
* below 3.0 Airflow Assets are Datasets: ``airflow.providers.common.compat.sdk`` hands out the right class.
"""

from __future__ import annotations

from airflow import __version__ as AIRFLOW_VERSION_STRING
from packaging.version import Version

from airflow_provider_livepeer.api import Logger


def _base_version(version: str) -> tuple[int, int, int]:
    """``3.1.8rc1`` -> ``(3, 1, 8)``: pre-releases count as the release they lead to."""
    parsed = Version(version)
    return parsed.major, parsed.minor, parsed.micro


AIRFLOW_VERSION = _base_version(AIRFLOW_VERSION_STRING)
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION >= (3, 0, 0)
AIRFLOW_V_3_2_PLUS = AIRFLOW_VERSION >= (3, 2, 0)
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)


def log_feature_unavailable(log: Logger, feature: str, needs: str, instead: str) -> None:
    """The one log line of a feature that this Airflow lacks: what, which version has it, what happens now."""
    log.warning(
        "%s needs Airflow %s or newer; this is Airflow %s, so %s.",
        feature,
        needs,
        AIRFLOW_VERSION_STRING,
        instead,
    )
