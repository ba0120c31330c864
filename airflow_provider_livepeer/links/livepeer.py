"""Extra links from an Airflow task to pages a person can open on the Livepeer work it made or waited for.

Each link reads a URL the task stored in XCom, as official providers' links do. No link points at
Livepeer's API: its URLs answer 401 to a browser, which has no API key.
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, Context, XCom

from airflow_provider_livepeer.models import TaskResult

#: Livepeer Studio's web dashboard, where an asset has a page.
DASHBOARD = "https://livepeer.studio/dashboard"


class _XComLink(BaseOperatorLink):
    """A link whose URL the running task stores in XCom under :attr:`xcom_key`.

    Every run of a Livepeer operator or sensor first stores an empty URL for each of its links
    (:func:`clear_link_urls`), then the URL once it is known. So the key is there whenever Airflow 3's worker
    reads a link as the task ends (it logs a missing one at error level), and a run resumed from deferral
    keeps the URL its first run stored.
    """

    name: ClassVar[str]

    @property
    def xcom_key(self) -> str:
        """The XCom key of the URL (Airflow 3's own choice of key; Airflow 2's links have none)."""
        return f"_link_{type(self).__name__}"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        """The URL the task stored, or an empty string while it has none."""
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")

    @classmethod
    def store(cls, context: Context, url: str) -> None:
        """Keep the URL for the running task instance."""
        context["ti"].xcom_push(key=cls().xcom_key, value=url)


class LivepeerTaskLink(_XComLink):
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
    def store_page(cls, context: Context, api_base_url: str, result: TaskResult) -> None:
        """Keep the page of a finished task, if it has one."""
        ipfs = (result.output.get("export") or {}).get("ipfs") or {}
        url = cls.url(
            api_base_url, result.output_asset_id or result.input_asset_id, ipfs.get("videoFileGatewayUrl")
        )
        if url:
            cls.store(context, url)


class LivepeerAssetLink(_XComLink):
    """The asset's page in the Livepeer Studio dashboard (or under another host, e.g. an emulator's)."""

    name = "Livepeer asset"

    @staticmethod
    def url(api_base_url: str, asset_id: str) -> str:
        """The asset's dashboard page for the connection's host."""
        return f"{dashboard_url(api_base_url)}/assets/{asset_id}"


def clear_link_urls(context: Context) -> None:
    """Store an empty URL for each link: the first thing a run of a Livepeer operator or sensor does."""
    for link in (LivepeerTaskLink, LivepeerAssetLink):
        link.store(context, "")


def dashboard_url(api_base_url: str) -> str:
    """Livepeer Studio's dashboard, or the same path on another host (an emulator serves its own pages)."""
    parts = urlsplit(api_base_url)
    if parts.hostname == "livepeer.studio":
        return DASHBOARD
    return f"{parts.scheme}://{parts.netloc}/dashboard"
