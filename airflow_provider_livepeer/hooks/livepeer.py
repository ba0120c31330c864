"""The Livepeer hook: the ``livepeer`` connection and every call to Livepeer Studio's API."""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import os
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import aiohttp
import certifi
import requests
from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.common.compat.sdk import BaseHook, Connection, mask_secret
from tenacity import AsyncRetrying, Retrying
from urllib3.exceptions import NewConnectionError

from airflow_provider_livepeer import connection_form
from airflow_provider_livepeer.api import (
    ApiRequest,
    RetrySettings,
    api_base_url,
    compact,
    decode_response,
    list_params,
    next_page_params,
    request_headers,
    retry_policy,
    server_time,
    validate_livepeer_id,
    validate_url,
)
from airflow_provider_livepeer.exceptions import (
    LivepeerBadResponseError,
    LivepeerConnectionError,
    LivepeerError,
)
from airflow_provider_livepeer.models import Asset, CreatedWork, Task, TaskPage, parse


class ApiResponse(NamedTuple):
    """A decoded answer: its JSON value, its headers and the server's clock when it answered."""

    data: Any
    headers: Mapping[str, str]
    #: The server's ``Date`` header as Unix seconds, or ``None`` without one.
    answered_at: float | None


@dataclass(frozen=True)
class _Endpoint:
    """Where and how to send requests, as read from the connection."""

    base_url: str
    headers: dict[str, str] = field(repr=False)  # holds the API key
    connect_timeout: float
    read_timeout: float
    #: The proxy the environment sets for the API's URL, or ``None``: read once, used by both clients.
    proxy: str | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def api_path(self, path: str) -> str:
        return f"{urlsplit(self.base_url).path}{path}"


class LivepeerHook(BaseHook):
    """Calls Livepeer Studio's API with the API key of a ``livepeer`` connection.

    The connection's password is the API key, sent as ``Authorization: Bearer``; its host defaults to
    ``https://livepeer.studio`` and the API lives under ``/api``. Plain ``http://`` is accepted only for
    loopback hosts, such as the bundled emulator; a host without a scheme gets ``https://``, or
    ``http://`` when it is a loopback address. The connection's port is honoured (URI form
    ``livepeer://:KEY@127.0.0.1:3000``), and its schema, if any, is a path before ``/api``.

    Every call goes through one request method that builds the request, maps error statuses to
    :mod:`~airflow_provider_livepeer.exceptions` and retries 429, 5xx, timeouts and dropped connections
    with exponential backoff (honouring ``Retry-After``); 400, 401, 403, 404 and 422 are never retried.
    The synchronous methods use one keep-alive ``requests`` session per hook; the ``a``-prefixed
    coroutines (for triggers) use one ``aiohttp`` session per hook, with the same rules and one client
    configuration: the certificate authorities (``REQUESTS_CA_BUNDLE``, else certifi's), the proxy the
    environment sets for the API's host (read once per hook), and the timeouts.

    :param livepeer_conn_id: the Airflow connection id.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param read_timeout: seconds to wait for an answer; defaults to the connection's ``read_timeout``
        extra, else 30.
    :param max_attempts: tries per call for transient failures, the first included.
    :param retry_max_seconds: the longest a call may take, retries and waits included.
    :param backoff_initial: the first wait between tries, in seconds (doubling, with jitter).
    :param backoff_max: the longest single backoff wait; a ``Retry-After`` is honoured up to
        ``retry_max_seconds`` instead.
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
        self._endpoint_lock = asyncio.Lock()
        self._async_client: aiohttp.ClientSession | None = None

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
            read_timeout = 30.0
            if extra_timeout not in (None, ""):
                read_timeout = _finite(
                    extra_timeout, f"read_timeout of connection {self.livepeer_conn_id!r}", 0.001
                )
        base_url = api_base_url(conn.host, conn.port, conn.schema)
        return _Endpoint(
            base_url, request_headers(api_key), self.connect_timeout, read_timeout, _proxy_for(base_url)
        )

    def _get_endpoint(self) -> _Endpoint:
        if self._endpoint is None:
            self._endpoint = self._endpoint_from(self.get_connection(self.livepeer_conn_id))
        return self._endpoint

    @property
    def base_url(self) -> str:
        """The API's base URL for this connection, e.g. ``https://livepeer.studio/api``."""
        return self._get_endpoint().base_url

    async def _aget_endpoint(self) -> _Endpoint:
        if self._endpoint is None:
            # Many coroutines may share this hook (the shared watcher): one connection lookup serves all.
            async with self._endpoint_lock:
                if self._endpoint is None:
                    conn = await get_async_connection(self.livepeer_conn_id, hook=self)
                    self._endpoint = self._endpoint_from(conn)
        return self._endpoint

    @cached_property
    def session(self) -> requests.Session:
        """The keep-alive session of the synchronous calls."""
        session = requests.Session()
        session.verify = _ca_bundle()
        # The environment is read once, in the endpoint (proxies) and _ca_bundle(): requests would read
        # it again on every request (a sixth of a poke's CPU), and could swap in .netrc credentials.
        session.trust_env = False
        return session

    def get_conn(self) -> requests.Session:
        """Return the ``requests`` session, as Airflow hooks do."""
        return self.session

    # -- the one request method, sync and async -----------------------------------------------------

    def _send(self, request: ApiRequest) -> ApiResponse:
        endpoint = self._get_endpoint()
        api_path = endpoint.api_path(request.path)
        label = f"{request.method} {api_path}"
        for attempt in Retrying(**retry_policy(self.retry_settings, self.log, label, request.idempotent)):
            with attempt:
                try:
                    response = self.session.request(
                        request.method,
                        endpoint.url(request.path),
                        params=request.params,
                        json=request.body,
                        headers=endpoint.headers,
                        proxies={"http": endpoint.proxy, "https": endpoint.proxy} if endpoint.proxy else None,
                        timeout=(endpoint.connect_timeout, endpoint.read_timeout),
                        allow_redirects=request.follows_redirects,
                    )
                except requests.RequestException as err:
                    raise LivepeerConnectionError(
                        f"Livepeer {label} got no answer: {err}", request_sent=not _never_connected(err)
                    ) from None
                return self._decode(
                    request, api_path, response.status_code, response.headers, response.content
                )
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _asend(self, request: ApiRequest) -> ApiResponse:
        endpoint = await self._aget_endpoint()
        api_path = endpoint.api_path(request.path)
        label = f"{request.method} {api_path}"
        if self._async_client is None:
            # aiohttp rather than httpx: about half the CPU per request (bench/results/latest.md).
            self._async_client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=_tls_context()),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=endpoint.connect_timeout, sock_read=endpoint.read_timeout
                ),
            )
        async for attempt in AsyncRetrying(
            **retry_policy(self.retry_settings, self.log, label, request.idempotent)
        ):
            with attempt:
                try:
                    async with self._async_client.request(
                        request.method,
                        endpoint.url(request.path),
                        params=request.params,
                        json=request.body,
                        headers=endpoint.headers,
                        proxy=endpoint.proxy,
                        allow_redirects=request.follows_redirects,
                    ) as response:
                        body = await response.read()
                except (TimeoutError, aiohttp.ClientError) as err:
                    raise LivepeerConnectionError(
                        f"Livepeer {label} got no answer: {type(err).__name__}: {err}",
                        request_sent=not isinstance(
                            err, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
                        ),
                    ) from None
                return self._decode(request, api_path, response.status, response.headers, body)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _decode(
        self, request: ApiRequest, api_path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> ApiResponse:
        data = decode_response(request.method, api_path, status, headers, body)
        return ApiResponse(data, headers, server_time(headers))

    async def aclose(self) -> None:
        """Close the async HTTP session, if one was opened."""
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None

    # -- tasks ------------------------------------------------------------------------------------------

    def get_task(self, livepeer_task_id: str) -> Task:
        """Read one task.

        :param livepeer_task_id: the Livepeer task id.
        :raises ValueError: the id is malformed (nothing is sent).
        :raises LivepeerNotFoundError: no such task.
        """
        response = self._send(_task_request(livepeer_task_id))
        return parse(Task, response.data, f"GET /api/task/{livepeer_task_id}", response.answered_at)

    async def aget_task(self, livepeer_task_id: str) -> Task:
        """Read one task, asynchronously; see :meth:`get_task`."""
        response = await self._asend(_task_request(livepeer_task_id))
        return parse(Task, response.data, f"GET /api/task/{livepeer_task_id}", response.answered_at)

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
        return itertools.islice(self._pages(list_params(limit, filters, order)), max_items)

    def _pages(self, params: dict[str, str] | None) -> Iterator[Task]:
        while params is not None:
            page, params = _page(self._send(ApiRequest("GET", "/task", params)))
            yield from page.tasks()

    async def alist_tasks(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
        max_items: int | None = None,
    ) -> AsyncIterator[Task]:
        """Iterate over the account's tasks asynchronously; see :meth:`list_tasks`."""
        left = max_items
        async for page in self.alist_task_pages(limit=limit, filters=filters, order=order):
            for task in page.tasks()[:left]:
                yield task
            left = None if left is None else max(0, left - len(page))
            if left == 0:
                return

    async def alist_task_pages(
        self,
        *,
        limit: int = 100,
        filters: list[dict[str, Any]] | None = None,
        order: str | None = "createdAt-true",
    ) -> AsyncGenerator[TaskPage, None]:
        """Iterate over the pages of the account's tasks asynchronously, each with the server's clock.

        A page's tasks are parsed when asked for (:class:`~airflow_provider_livepeer.models.TaskPage`);
        the next page is requested only when the iteration goes on; see :meth:`list_tasks`.
        """
        params: dict[str, str] | None = list_params(limit, filters, order)
        while params is not None:
            page, params = _page(await self._asend(ApiRequest("GET", "/task", params)))
            yield page
            del page  # not kept while the next page is awaited

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

    # -- work that creates tasks ----------------------------------------------------------------------

    def import_asset(
        self,
        url: str,
        name: str,
        *,
        static_mp4: bool | None = None,
        playback_policy: dict[str, Any] | None = None,
        storage: dict[str, Any] | None = None,
        profiles: list[dict[str, Any]] | None = None,
        creator_id: str | dict[str, Any] | None = None,
        encryption: dict[str, Any] | None = None,
        c2pa: bool | None = None,
        target_segment_size_secs: float | None = None,
    ) -> CreatedWork:
        """Import a video from a URL (``POST /api/asset/upload/url``).

        Livepeer answers an import of the same URL with the existing asset and task while that first
        import is still in flight (its asset ``waiting`` or ``processing``, as its read replica sees it),
        so this request is retried like a read: a retry seconds later usually finds the first import.
        Once the first import is over, importing the URL again makes a new asset.

        :param url: where Livepeer fetches the video: ``http(s)://``, ``ipfs://`` or ``ar://``.
        :param name: the asset's name.
        :param static_mp4: also make MP4 renditions.
        :param playback_policy: e.g. ``{"type": "jwt"}``.
        :param storage: e.g. ``{"ipfs": True}``.
        :param profiles: transcode profiles, Livepeer's ``transcode-profile`` objects.
        :param creator_id: an unverified creator id, or Livepeer's creator-id object.
        :param encryption: ``{"encryptedKey": ...}`` for an encrypted source.
        :param c2pa: sign the output with C2PA.
        :param target_segment_size_secs: the HLS segment length.
        :returns: the new asset and its task.
        :raises ValueError: the URL or name is invalid (nothing is sent).
        """
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"Invalid asset name {name!r}: expected a non-empty string.")
        body = compact(
            {
                "url": validate_url(url, "import URL"),
                "name": name,
                "staticMp4": static_mp4,
                "playbackPolicy": playback_policy,
                "storage": storage,
                "profiles": profiles,
                "creatorId": creator_id,
                "encryption": encryption,
                "c2pa": c2pa,
                "targetSegmentSizeSecs": _segment_size(target_segment_size_secs),
            }
        )
        return self._create(ApiRequest("POST", "/asset/upload/url", body=body, idempotent=True))

    def export_asset(
        self,
        asset_id: str,
        *,
        ipfs: dict[str, Any] | bool | None = None,
        custom_url: str | None = None,
        custom_method: str | None = None,
        custom_headers: dict[str, str] | None = None,
    ) -> CreatedWork:
        """Export an asset to IPFS or to a URL of yours (``POST /api/asset/{id}/export``).

        :param asset_id: the asset; it must be ``ready``.
        :param ipfs: ``True`` or Livepeer's IPFS export parameters (``{"pinata": {...}}``).
        :param custom_url: an http(s) URL the video is sent to instead.
        :param custom_method: the method of that request (Livepeer's default: ``PUT``).
        :param custom_headers: headers of that request.
        :returns: the export task.
        :raises ValueError: a bad asset id, neither or both destinations, or a bad URL (nothing is sent).
        """
        path = f"/asset/{validate_livepeer_id(asset_id, 'Livepeer asset id')}/export"
        if ipfs is not None and not isinstance(ipfs, (bool, dict)):
            raise ValueError(
                f"Invalid export ipfs {ipfs!r}: expected True, or Livepeer's IPFS export parameters."
            )
        if (ipfs in (None, False)) == (custom_url is None):
            raise ValueError(
                f"Export of asset {asset_id!r} needs exactly one destination: ipfs or custom_url "
                f"(got ipfs={ipfs!r}, custom_url={custom_url!r})."
            )
        if custom_url is not None:
            custom = {"url": validate_url(custom_url, "export URL", ("http", "https"))}
            body: dict[str, Any] = {
                "custom": compact({**custom, "method": custom_method, "headers": custom_headers})
            }
        else:
            body = {"ipfs": ipfs if isinstance(ipfs, dict) else {}}
        return self._create(ApiRequest("POST", path, body=body, idempotent=False))

    def transcode(
        self,
        input: str | dict[str, Any],
        storage: dict[str, Any],
        outputs: dict[str, Any],
        *,
        profiles: list[dict[str, Any]] | None = None,
        target_segment_size_secs: float | None = None,
        creator_id: str | dict[str, Any] | None = None,
        c2pa: bool | None = None,
    ) -> CreatedWork:
        """Transcode a file into your own storage (``POST /api/transcode``).

        :param input: the source URL, or Livepeer's S3 input object.
        :param storage: where outputs go: Livepeer's ``s3`` or ``web3.storage`` storage object.
        :param outputs: which outputs, e.g. ``{"hls": {"path": "/out/hls"}, "mp4": {"path": "/out/mp4"}}``.
        :param profiles: transcode profiles.
        :param target_segment_size_secs: the HLS segment length.
        :param creator_id: an unverified creator id, or Livepeer's creator-id object.
        :param c2pa: sign the output with C2PA.
        :returns: the ``transcode-file`` task (it makes no Livepeer asset).
        :raises ValueError: a bad input, storage or outputs (nothing is sent).
        """
        if isinstance(input, str):
            input = {"url": validate_url(input, "transcode input URL")}
        elif not isinstance(input, dict) or not ("url" in input or input.get("type") == "s3"):
            raise ValueError(f"Invalid transcode input {input!r}: expected a URL, or an S3 input object.")
        elif "url" in input:
            validate_url(input["url"], "transcode input URL")
        if not isinstance(storage, dict) or "type" not in storage:
            raise ValueError(f"Invalid transcode storage {storage!r}: expected an object with a 'type'.")
        if not isinstance(outputs, dict) or not outputs or not set(outputs) <= {"hls", "mp4", "fmp4"}:
            raise ValueError(f"Invalid transcode outputs {outputs!r}: expected some of hls, mp4, fmp4.")
        body = compact(
            {
                "input": input,
                "storage": storage,
                "outputs": outputs,
                "profiles": profiles,
                "targetSegmentSizeSecs": _segment_size(target_segment_size_secs),
                "creatorId": creator_id,
                "c2pa": c2pa,
            }
        )
        return self._create(ApiRequest("POST", "/transcode", body=body, idempotent=False))

    def create_clip(
        self,
        playback_id: str,
        start_time: float,
        end_time: float | None = None,
        *,
        name: str | None = None,
        session_id: str | None = None,
    ) -> CreatedWork:
        """Clip a livestream or its recording (``POST /api/clip``).

        :param playback_id: the stream's playback id (Livepeer does not clip assets yet).
        :param start_time: the clip's start, Unix milliseconds.
        :param end_time: the clip's end, Unix milliseconds, after ``start_time``.
        :param name: the clip asset's name.
        :param session_id: the recorded session to clip, instead of the live stream.
        :returns: the clip's asset and task.
        :raises ValueError: a bad playback id, or times out of order (nothing is sent).
        """
        validate_livepeer_id(playback_id, "Livepeer playback id")
        start = _milliseconds(start_time, "clip start_time")
        end = None if end_time is None else _milliseconds(end_time, "clip end_time")
        if end is not None and end <= start:
            raise ValueError(
                f"Invalid clip end_time {end_time!r}: expected it after start_time {start_time!r}."
            )
        body = compact(
            {
                "playbackId": playback_id,
                "startTime": start,
                "endTime": end,
                "name": name,
                "sessionId": session_id,
            }
        )
        return self._create(ApiRequest("POST", "/clip", body=body, idempotent=False))

    def _create(self, request: ApiRequest) -> CreatedWork:
        response = self._send(request)
        data, what = response.data, f"{request.method} /api{request.path}"
        # /transcode answers the whole task rather than {task: {id}}.
        if isinstance(data, dict) and "task" not in data and "status" in data:
            data = {"task": {"id": parse(Task, data, what).id}}
        return parse(CreatedWork, data, what, response.answered_at)

    # -- connection form (Airflow before 3.2; later versions read the provider info) ---------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Which standard fields the ``livepeer`` connection form shows, and their labels."""
        return connection_form.ui_field_behaviour()

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """The form's extra fields (``read_timeout``)."""
        return connection_form.form_widgets()

    # -- connection test ----------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the host and the key with one cheap authenticated call (the newest task)."""
        try:
            self._send(ApiRequest("GET", "/task", list_params(1, None, None)))
        except (LivepeerError, ValueError) as err:
            return False, str(err)
        return True, f"Connected to Livepeer Studio at {self._get_endpoint().base_url}"


@functools.cache
def _ca_bundle() -> str:
    """The certificate authorities both clients trust, by requests' rule.

    ``REQUESTS_CA_BUNDLE``, else ``CURL_CA_BUNDLE``, else certifi's bundle.
    """
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()


def _proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url``, by requests' rules.

    ``HTTPS_PROXY`` / ``HTTP_PROXY`` (by the URL's scheme), else ``ALL_PROXY``; none when ``NO_PROXY``
    matches the host.
    """
    proxies = requests.utils.get_environ_proxies(url)
    return proxies.get(urlsplit(url).scheme) or proxies.get("all")


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One certificate-checking TLS context per process: building one costs ~30 ms of CPU, per client."""
    return ssl.create_default_context(cafile=_ca_bundle())


def _finite(value: object, what: str, minimum: float, unit: str = "seconds") -> float:
    """A finite number of at least ``minimum`` (a numeric string too, as templates render them)."""
    try:
        number = (
            float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
        )
    except ValueError:
        number = None
    if number is None or not math.isfinite(number) or number < minimum:
        raise ValueError(f"Invalid {what} {value!r}: expected {unit}, a finite number >= {minimum:g}.")
    return number


def _segment_size(value: float | None) -> float | None:
    return None if value is None else _finite(value, "target_segment_size_secs", 0.001)


def _milliseconds(value: object, what: str) -> float:
    if isinstance(value, str):
        raise ValueError(f"Invalid {what} {value!r}: expected Unix milliseconds, a finite number >= 0.")
    return _finite(value, what, 0, "Unix milliseconds")


def _never_connected(err: requests.RequestException) -> bool:
    """Whether ``requests`` failed before a connection was open, so the request cannot have arrived."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return isinstance(err, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _task_request(livepeer_task_id: str) -> ApiRequest:
    return ApiRequest("GET", f"/task/{validate_livepeer_id(livepeer_task_id)}")


def _page(response: ApiResponse) -> tuple[TaskPage, dict[str, str] | None]:
    """The tasks of one page of ``GET /api/task``, and the query of the next page (``None``: the end)."""
    if not isinstance(response.data, list):
        raise LivepeerBadResponseError(
            f"Livepeer answered GET /api/task with {type(response.data).__name__}, "
            "expected a JSON array of tasks"
        )
    page = TaskPage(response.data, response.answered_at)
    return page, next_page_params(response.headers.get("Link")) if len(page) else None
