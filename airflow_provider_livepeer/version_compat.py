"""The Airflow this provider runs on, read once: every version-dependent choice of the provider reads it here.

What each version lacks, and what the provider does instead:

* below 3.3 there is no ``task_state_store``, so the operators cannot re-attach a retry to the Livepeer task
  of an earlier try (``durable``): every try creates new work (:func:`log_reattach_unavailable` says so);
* below 3.2 Airflow's UI does not read the connection form from the provider info, so the hook also
  describes it the older way (:meth:`LivepeerHook.get_connection_form_widgets`);
* below 3.0 Airflow Assets are Datasets: ``airflow.providers.common.compat.sdk`` hands out the right class,
  and the providers manager reads URI schemes from ``dataset-uris`` (the provider info lists both keys);
* below 3.1 the api-server mounts no plugin's FastAPI app (2.x has no api-server), so the receiver of
  Livepeer's webhooks (:mod:`airflow_provider_livepeer.plugins.livepeer`) is not served: its plugin says
  so in one log line when it loads;
* below 3.0 there are no event triggers (``BaseEventTrigger``, ``AssetWatcher``), so
  :class:`~airflow_provider_livepeer.triggers.livepeer.LivepeerTaskEventTrigger` refuses to be made.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from packaging.version import Version

if TYPE_CHECKING:
    from airflow_provider_livepeer.http import Logger

# Read from the installed distribution, not ``airflow.__version__``: the provider info reads this module
# while Airflow itself is still being imported, so importing Airflow here would go round in a circle.
AIRFLOW_VERSION_STRING = version("apache-airflow")


def _base_version(version: str) -> tuple[int, int, int]:
    """``3.1.8rc1`` -> ``(3, 1, 8)``: pre-releases count as the release they lead to."""
    parsed = Version(version)
    return parsed.major, parsed.minor, parsed.micro


AIRFLOW_VERSION = _base_version(AIRFLOW_VERSION_STRING)
AIRFLOW_V_3_0_PLUS = AIRFLOW_VERSION >= (3, 0, 0)
AIRFLOW_V_3_1_PLUS = AIRFLOW_VERSION >= (3, 1, 0)
AIRFLOW_V_3_3_PLUS = AIRFLOW_VERSION >= (3, 3, 0)


def log_feature_unavailable(
    log: Logger, feature: str, needs: str, instead: str, *, asked: bool = True
) -> None:
    """The one log line of a feature that this Airflow lacks: what, which version has it, what happens now.

    :param asked: whether the DAG asked for the feature itself (a warning), rather than meeting it as a
        default it never chose (information only).
    """
    (log.warning if asked else log.info)(
        "%s needs Airflow %s or newer; this is Airflow %s, so %s.",
        feature,
        needs,
        AIRFLOW_VERSION_STRING,
        instead,
    )


def log_reattach_unavailable(log: Logger, durable: bool | None) -> None:
    """Below Airflow 3.3, say in the task's log that a retry will create new Livepeer work.

    :param durable: the operator's ``durable`` argument: ``True`` (asked for) logs a warning, ``None``
        (left at its default) an information line, ``False`` (not wanted) nothing.
    """
    if AIRFLOW_V_3_3_PLUS or durable is False:
        return
    log_feature_unavailable(
        log,
        "Re-attaching a retry to the Livepeer task of an earlier try (durable, task_state_store)",
        "3.3",
        "every try of this task creates new Livepeer work",
        asked=durable is True,
    )


def xcom_push(ti: Any, key: str, value: Any) -> None:
    """Push an XCom, but not a ``None`` on Airflow 3.0, whose execution API refuses one.

    Airflow 3.1 takes ``None`` again; a pull of the key gives ``None`` either way.
    """
    if value is None and AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS:
        return
    ti.xcom_push(key=key, value=value)
