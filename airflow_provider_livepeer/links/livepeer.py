"""Extra links from an Airflow task to the Livepeer task and asset it made or waited for."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, Context, XCom

#: Livepeer Studio's web dashboard, where an asset has a page.
DASHBOARD = "https://livepeer.studio/dashboard"


class _PersistedLink(BaseOperatorLink):
    """A link whose URL the running task computes once and keeps in XCom under :attr:`xcom_key`."""

    name: ClassVar[str]

    @property
    def xcom_key(self) -> str:
        """The XCom key of the URL (Airflow 3's own choice of key; Airflow 2's links have none)."""
        return f"_link_{type(self).__name__}"

    def get_link(self, operator: BaseOperator, *, ti_key: Any) -> str:
        """Return the URL the task stored, or an empty string before it stored one."""
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Store the URL for the running task instance."""
        context["ti"].xcom_push(key=cls().xcom_key, value=url)


class LivepeerTaskLink(_PersistedLink):
    """The Livepeer task as the API returns it (``<host>/api/task/<id>``; needs the API key)."""

    name = "Livepeer task"

    @staticmethod
    def url(api_base_url: str, livepeer_task_id: str) -> str:
        """The task's API URL under the connection's host."""
        return f"{api_base_url}/task/{livepeer_task_id}"


class LivepeerAssetLink(_PersistedLink):
    """The asset's page in the Livepeer Studio dashboard (or under another host, e.g. an emulator's)."""

    name = "Livepeer asset"

    @staticmethod
    def url(api_base_url: str, asset_id: str) -> str:
        """The asset's dashboard page for the connection's host."""
        parts = urlsplit(api_base_url)
        if parts.hostname == "livepeer.studio":
            return f"{DASHBOARD}/assets/{asset_id}"
        return f"{parts.scheme}://{parts.netloc}/dashboard/assets/{asset_id}"
