"""The Livepeer hook: the ``livepeer`` connection and every call to Livepeer Studio's API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
import requests
from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.common.compat.sdk import BaseHook, Connection, mask_secret
from tenacity import AsyncRetrying, Retrying

from airflow_provider_livepeer.api import (
    ApiRequest,
    RetrySettings,
    api_base_url,
    decode_response,
    list_params,
    next_page_params,
    request_headers,
    retry_policy,
    validate_livepeer_id,
)
from airflow_provider_livepeer.exceptions import (
    LivepeerBadResponseError,
    LivepeerConnectionError,
    LivepeerError,
)
from airflow_provider_livepeer.models import Asset, Task, parse


class ApiResponse(NamedTuple):
    """A decoded answer: its JSON value and its headers."""

    data: Any
    headers: httpx.Headers | requests.structures.CaseInsensitiveDict[str]


@dataclass(frozen=True)
class _Endpoint:
    """Where and how to send requests, as read from the connection."""

    base_url: str
    headers: dict[str, str] = field(repr=False)  # holds the API key
    connect_timeout: float
    read_timeout: float

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def api_path(self, path: str) -> str:
        return f"{urlsplit(self.base_url).path}{path}"


class LivepeerHook(BaseHook):
    """Calls Livepeer Studio's API with the API key of a ``livepeer`` connection.

    The connection's password is the API key, sent as ``Authorization: Bearer``; its host defaults to
    ``https://livepeer.studio`` and the API lives under ``/api``. Plain ``http://`` is accepted only for
    loopback hosts, such as the bundled emulator.

    Every call goes through one request method that builds the request, maps error statuses to
    :mod:`~airflow_provider_livepeer.exceptions` and retries 429, 5xx, timeouts and dropped connections
    with exponential backoff (honouring ``Retry-After``); 400, 401, 403, 404 and 422 are never retried.
    The synchronous methods use one keep-alive ``requests`` session per hook; the ``a``-prefixed
    coroutines (for triggers) use ``httpx`` with the same rules.

    :param livepeer_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param read_timeout: seconds to wait for an answer; defaults to the connection's ``read_timeout``
        extra, else 30.
    :param max_attempts: tries per call for transient failures, the first included.
    :param retry_max_seconds: the longest a call may take, retries and waits included.
    :param backoff_initial: the first wait between tries, in seconds (doubling, with jitter).
    :param backoff_max: the longest single wait, ``Retry-After`` included.
    """

    conn_name_attr = "livepeer_conn_id"
    default_conn_name = "livepeer_default"
    conn_type = "livepeer"
    hook_name = "Livepeer"

    def __init__(
        self,
        livepeer_conn_id: str = default_conn_name,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float | None = None,
        max_attempts: int = 5,
        retry_max_seconds: float = 120.0,
        backoff_initial: float = 1.0,
        backoff_max: float = 30.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.livepeer_conn_id = livepeer_conn_id
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retry_settings = RetrySettings(
            max_attempts=max_attempts,
            max_seconds=retry_max_seconds,
            backoff_initial=backoff_initial,
            backoff_max=backoff_max,
        )
        self._endpoint: _Endpoint | None = None
        self._async_client: httpx.AsyncClient | None = None

    # -- connection ---------------------------------------------------------------------------------

    def _endpoint_from(self, conn: Connection) -> _Endpoint:
        api_key = (conn.password or "").strip()
        if not api_key:
            raise LivepeerError(
                f"Connection {self.livepeer_conn_id!r} has no Livepeer API key: set its password "
                "(the 'API key' field) to a key from Livepeer Studio's developer settings."
            )
        mask_secret(api_key)
        read_timeout = self.read_timeout
        if read_timeout is None:
            extra_timeout = conn.extra_dejson.get("read_timeout")
            read_timeout = float(extra_timeout) if extra_timeout not in (None, "") else 30.0
        return _Endpoint(
            api_base_url(conn.host), request_headers(api_key), self.connect_timeout, read_timeout
        )

    def _get_endpoint(self) -> _Endpoint:
        if self._endpoint is None:
            self._endpoint = self._endpoint_from(self.get_connection(self.livepeer_conn_id))
        return self._endpoint

    async def _aget_endpoint(self) -> _Endpoint:
        if self._endpoint is None:
            conn = await get_async_connection(self.livepeer_conn_id, hook=self)
            self._endpoint = self._endpoint_from(conn)
        return self._endpoint

    @cached_property
    def session(self) -> requests.Session:
        """The keep-alive session of the synchronous calls."""
        return requests.Session()

    def get_conn(self) -> requests.Session:
        """Return the ``requests`` session, as Airflow hooks do."""
        return self.session

    # -- the one request method, sync and async -----------------------------------------------------

    def _send(self, request: ApiRequest) -> ApiResponse:
        endpoint = self._get_endpoint()
        api_path = endpoint.api_path(request.path)
        label = f"{request.method} {api_path}"
        for attempt in Retrying(**retry_policy(self.retry_settings, self.log, label)):
            with attempt:
                try:
                    response = self.session.request(
                        request.method,
                        endpoint.url(request.path),
                        params=request.params,
                        json=request.body,
                        headers=endpoint.headers,
                        timeout=(endpoint.connect_timeout, endpoint.read_timeout),
                    )
                except requests.RequestException as err:
                    raise LivepeerConnectionError(f"Livepeer {label} got no answer: {err}") from None
                data = decode_response(
                    request.method, api_path, response.status_code, response.headers, response.content
                )
                return ApiResponse(data, response.headers)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _asend(self, request: ApiRequest) -> ApiResponse:
        endpoint = await self._aget_endpoint()
        api_path = endpoint.api_path(request.path)
        label = f"{request.method} {api_path}"
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(
                timeout=httpx.Timeout(endpoint.read_timeout, connect=endpoint.connect_timeout),
                follow_redirects=True,
            )
        async for attempt in AsyncRetrying(**retry_policy(self.retry_settings, self.log, label)):
            with attempt:
                try:
                    response = await self._async_client.request(
                        request.method,
                        endpoint.url(request.path),
                        params=request.params,
                        json=request.body,
                        headers=endpoint.headers,
                    )
                except httpx.TransportError as err:
                    raise LivepeerConnectionError(
                        f"Livepeer {label} got no answer: {type(err).__name__}: {err}"
                    ) from None
                data = decode_response(
                    request.method, api_path, response.status_code, response.headers, response.content
                )
                return ApiResponse(data, response.headers)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the async HTTP client, if one was opened."""
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    # -- tasks ------------------------------------------------------------------------------------------

    def get_task(self, livepeer_task_id: str) -> Task:
        """Read one task.

        :param livepeer_task_id: the Livepeer task id.
        :raises ValueError: the id is malformed (nothing is sent).
        :raises LivepeerNotFoundError: no such task.
        """
        request = _task_request(livepeer_task_id)
        return parse(Task, self._send(request).data, f"GET /api/task/{livepeer_task_id}")

    async def aget_task(self, livepeer_task_id: str) -> Task:
        """Read one task, asynchronously; see :meth:`get_task`."""
        request = _task_request(livepeer_task_id)
        return parse(Task, (await self._asend(request)).data, f"GET /api/task/{livepeer_task_id}")

    def list_tasks(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
        max_items: int | None = None,
    ) -> Iterator[Task]:
        """Iterate over the account's tasks, newest first, page by page.

        Pages are fetched as the iterator is consumed, following Livepeer's ``Link: rel="next"`` header,
        and stop at an empty page or at the real server's ``cursor=undefined`` last link.

        :param limit: tasks per page, 1 to 1000.
        :param filters: Livepeer filters, e.g. ``[{"id": "updatedAt", "value": {"gt": 1700000000000}}]``.
        :param order: Livepeer order; ``None`` for the server's default (``updatedAt`` descending).
        :param max_items: stop after this many tasks.
        """
        params: dict[str, str] | None = list_params(limit, filters, order)
        seen = 0
        while params is not None:
            response = self._send(ApiRequest("GET", "/task", params))
            tasks = _page_of_tasks(response.data)
            for task in tasks:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield task
            params = next_page_params(response.headers.get("Link")) if tasks else None

    async def alist_tasks(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
        max_items: int | None = None,
    ) -> AsyncIterator[Task]:
        """Iterate over the account's tasks asynchronously; see :meth:`list_tasks`."""
        params: dict[str, str] | None = list_params(limit, filters, order)
        seen = 0
        while params is not None:
            response = await self._asend(ApiRequest("GET", "/task", params))
            tasks = _page_of_tasks(response.data)
            for task in tasks:
                if max_items is not None and seen >= max_items:
                    return
                seen += 1
                yield task
            params = next_page_params(response.headers.get("Link")) if tasks else None

    # -- assets -----------------------------------------------------------------------------------------

    def get_asset(self, asset_id: str) -> Asset:
        """Read one asset.

        :param asset_id: the Livepeer asset id.
        :raises ValueError: the id is malformed (nothing is sent).
        """
        path = f"/asset/{validate_livepeer_id(asset_id, 'Livepeer asset id')}"
        return parse(Asset, self._send(ApiRequest("GET", path)).data, f"GET /api{path}")

    def delete_asset(self, asset_id: str) -> None:
        """Delete an asset.

        :param asset_id: the Livepeer asset id.
        :raises LivepeerInvalidRequestError: the asset is already deleted.
        """
        path = f"/asset/{validate_livepeer_id(asset_id, 'Livepeer asset id')}"
        self._send(ApiRequest("DELETE", path))

    # -- connection test ----------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the host and the key with one cheap authenticated call (the newest task)."""
        try:
            self._send(ApiRequest("GET", "/task", list_params(1, None, None)))
        except (LivepeerError, ValueError) as err:
            return False, str(err)
        return True, f"Connected to Livepeer Studio at {self._get_endpoint().base_url}"


def _task_request(livepeer_task_id: str) -> ApiRequest:
    return ApiRequest("GET", f"/task/{validate_livepeer_id(livepeer_task_id)}")


def _page_of_tasks(data: Any) -> list[Task]:
    if not isinstance(data, list):
        raise LivepeerBadResponseError(
            f"Livepeer answered GET /api/task with {type(data).__name__}, expected a JSON array of tasks"
        )
    return [parse(Task, item, "GET /api/task") for item in data]
