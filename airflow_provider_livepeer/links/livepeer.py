"""Extra links from an Airflow task to the Livepeer task and asset it made or waited for."""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import BaseOperator, BaseOperatorLink, Context, XCom

#: Livepeer Studio's web dashboard, where an asset has a page.
DASHBOARD = "https://livepeer.studio/dashboard"


#: Attribute of a running operator: the URLs its links stored in this process, by XCom key (``None``: the
#: URL was stored before the task deferred).
_STORED_ATTR = "_livepeer_stored_links"


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
            stored = vars(operator).get(_STORED_ATTR, {})
            if self.xcom_key not in stored:
                return ""
            if stored[self.xcom_key] is not None:
                return str(stored[self.xcom_key])
        return str(XCom.get_value(ti_key=ti_key, key=self.xcom_key) or "")

    @classmethod
    def persist(cls, context: Context, url: str) -> None:
        """Store the URL for the running task instance."""
        key = cls().xcom_key
        context["ti"].xcom_push(key=key, value=url)
        cls._note(context, url)

    @classmethod
    def stored_before_deferring(cls, context: Context) -> None:
        """Note, in a run resumed from deferral, that the run which deferred stored this link's URL."""
        cls._note(context, None)

    @classmethod
    def _note(cls, context: Context, url: str | None) -> None:
        task = context.get("task")  # absent from the hand-made contexts of some unit tests
        if task is not None:
            vars(task).setdefault(_STORED_ATTR, {})[cls().xcom_key] = url


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
