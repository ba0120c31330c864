"""Extra links from an Airflow task to pages a person can open on the Livepeer work it made or waited for.

No link points at Livepeer's API: its URLs answer 401 to a browser, which has no API key.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, Context, XCom

from airflow_provider_livepeer.models import TaskResult

#: Livepeer Studio's web dashboard, where an asset has a page.
DASHBOARD = "https://livepeer.studio/dashboard"


#: The URLs the links of each task instance stored in this process, by XCom key (``None``: the URL was
#: stored before the task deferred), until ``get_link`` reads them. Keyed by the task instance, not kept on
#: the operator: Airflow 3.0's worker hands ``get_link`` another copy of the operator than the one that ran.
_STORED: dict[tuple[Any, ...], dict[str, str | None]] = {}
#: The most task instances kept in :data:`_STORED`. Airflow 3 reads each link once, as the task ends, which
#: empties its entry; Airflow 2's workers never read them, so a long-lived process drops the oldest.
_STORED_MAX = 1000


def _identity(ti: Any) -> tuple[Any, ...]:
    return (ti.dag_id, ti.task_id, ti.run_id, getattr(ti, "map_index", -1), getattr(ti, "try_number", None))


class _PersistedLink(BaseOperatorLink):
    """A link whose URL the running task computes once and keeps in XCom under :attr:`xcom_key`."""

    name: ClassVar[str]

    @property
    def xcom_key(self) -> str:
        """The XCom key of the URL (Airflow 3's own choice of key; Airflow 2's links have none)."""
        return f"_link_{type(self).__name__}"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        """Return the URL the task stored, or an empty string before it stored one.

        Airflow 3's worker calls this once the task has run, with the running task instance, to copy the
        link into XCom. Looking up a link the task never stored (no asset yet, a poke that found the task
        still running) is logged by Airflow at error level, so there only a URL this process stored is
        returned, or, after a deferral, the one stored before deferring. Elsewhere the XCom is read.
        """
        if hasattr(ti_key, "xcom_push"):
            identity = _identity(ti_key)
            stored = _STORED.get(identity, {})
            if self.xcom_key not in stored:
                return ""
            url = stored.pop(self.xcom_key)  # read once, as the task ends: nothing is kept after it
            if not stored:
                _STORED.pop(identity, None)
            if url is not None:
                return url
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Store the URL for the running task instance."""
        key = cls().xcom_key
        context["ti"].xcom_push(key=key, value=url)
        _note(context, key, url)

    @classmethod
    def stored_before_deferring(cls, context: Context) -> None:
        """Note, in a run resumed from deferral, that the run which deferred stored this link's URL."""
        _note(context, cls().xcom_key, None)


def _note(context: Context, key: str, url: str | None) -> None:
    """Keep the URL the running task instance stored under ``key`` for ``get_link``."""
    _STORED.setdefault(_identity(context["ti"]), {})[key] = url
    while len(_STORED) > _STORED_MAX:
        del _STORED[next(iter(_STORED))]  # the oldest task instance's, long finished


class LivepeerTaskLink(_PersistedLink):
    """A page a person can open for the Livepeer task's work, never the API (which needs the key).

    For an export to IPFS, the exported file on Livepeer's IPFS gateway once the task gives its URL;
    otherwise the dashboard page of the task's asset: the asset an import or a clip makes, or the one an
    export sends. A transcode makes no asset and has no page, so it has no task link.
    """

    name = "Livepeer task"

    @staticmethod
    def url(api_base_url: str, asset_id: str | None, gateway_url: str | None = None) -> str | None:
        """The task's page, or ``None`` when it has none.

        :param api_base_url: the connection's API base URL.
        :param asset_id: the asset the task makes or exports.
        :param gateway_url: the exported file's gateway URL, when Livepeer gave one.
        """
        if gateway_url:
            return gateway_url
        return LivepeerAssetLink.url(api_base_url, asset_id) if asset_id else None

    @classmethod
    def persist_page(cls, context: Context, api_base_url: str, result: TaskResult) -> None:
        """Store the page of a finished task, if it has one."""
        ipfs = (result.output.get("export") or {}).get("ipfs") or {}
        url = cls.url(
            api_base_url, result.output_asset_id or result.input_asset_id, ipfs.get("videoFileGatewayUrl")
        )
        if url:
            cls.persist(context, url)


class LivepeerAssetLink(_PersistedLink):
    """The asset's page in the Livepeer Studio dashboard (or under another host, e.g. an emulator's)."""

    name = "Livepeer asset"

    @staticmethod
    def url(api_base_url: str, asset_id: str) -> str:
        """The asset's dashboard page for the connection's host."""
        return f"{dashboard_url(api_base_url)}/assets/{asset_id}"


def dashboard_url(api_base_url: str) -> str:
    """Livepeer Studio's dashboard, or the same path on another host (an emulator serves its own pages)."""
    parts = urlsplit(api_base_url)
    if parts.hostname == "livepeer.studio":
        return DASHBOARD
    return f"{parts.scheme}://{parts.netloc}/dashboard"
