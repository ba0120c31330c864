"""Listing ``GET /api/task`` page by page: one routine for the hook's synchronous and asynchronous lists.

:class:`TaskPages` holds where a listing stands: the hook asks it for the next request, sends that request
(with or without ``await``), and hands the answer back for the page's tasks and the next page's query.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests.utils

from airflow_provider_livepeer.exceptions import LivepeerBadResponseError
from airflow_provider_livepeer.http import ApiRequest, ApiResponse
from airflow_provider_livepeer.models import TaskPage

# The real server sends this cursor on the link of its last page; following it would start over.
_END_CURSORS = frozenset({"", "undefined", "null"})


class TaskPages:
    """The pages of one listing of the account's tasks, requested one at a time.

    :param limit: tasks per page, 1 to 1000.
    :param filters: Livepeer filters, e.g. ``[{"id": "type", "value": "upload"}]``.
    :param order: Livepeer order, e.g. ``"createdAt-true"`` (newest first); ``None``: the server's.
    :raises ValueError: the limit is out of range (nothing is sent).
    """

    def __init__(self, limit: int, filters: list[dict[str, Any]] | None, order: str | None) -> None:
        self._first = list_params(limit, filters, order)
        self._params: dict[str, str] | None = self._first

    def first_request(self) -> ApiRequest:
        """The request of the first page (for one page alone, e.g. the newest tasks)."""
        return ApiRequest("GET", "/task", self._first)

    def request(self) -> ApiRequest | None:
        """The request of the next page, or ``None`` after the last one."""
        return None if self._params is None else ApiRequest("GET", "/task", self._params)

    def take(self, response: ApiResponse) -> TaskPage:
        """The tasks of the answer to :meth:`request`; the next request follows its ``Link`` header.

        The listing ends at an empty page, or at the real server's ``cursor=undefined`` last link.

        :raises LivepeerBadResponseError: the answer is not a JSON array.
        """
        if not isinstance(response.data, list):
            raise LivepeerBadResponseError(
                f"Livepeer answered {response.label} with {type(response.data).__name__}, "
                "expected a JSON array of tasks"
            )
        page = TaskPage(response.data, response.answered_at, response.label)
        self._params = next_page_params(response.headers.get("Link")) if len(page) else None
        return page


def list_params(limit: int, filters: list[dict[str, Any]] | None, order: str | None) -> dict[str, str]:
    """The query of the first page of ``GET /api/task``.

    :param limit: page size, 1 to 1000.
    :param filters: Livepeer filters, e.g. ``[{"id": "type", "value": "upload"}]``.
    :param order: Livepeer order, e.g. ``"createdAt-true"`` (newest first).
    :raises ValueError: the limit is out of range.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise ValueError(f"Invalid page size limit={limit!r}: expected an integer from 1 to 1000.")
    params = {"limit": str(limit)}
    if filters:
        params["filters"] = json.dumps(filters, separators=(",", ":"))
    if order:
        params["order"] = order
    return params


def next_page_params(link_header: str | None) -> dict[str, str] | None:
    """The query of the next page, from a ``Link: <url>; rel="next"`` header, or ``None`` at the end.

    Only the query of the link is used: the next request goes to the same host and path as the first,
    so a link cannot send the key elsewhere. A ``cursor`` of ``undefined`` (the real server's last page)
    means the end.
    """
    if not link_header:
        return None
    for link in requests.utils.parse_header_links(link_header):
        if link.get("rel") == "next":
            params = dict(parse_qsl(urlsplit(link.get("url", "")).query, keep_blank_values=True))
            if params.get("cursor", "") in _END_CURSORS:
                return None
            return params
    return None
