"""The base of the Livepeer hook: its ``livepeer`` connection, read once into an HTTP client, and closing.

:class:`LivepeerBaseHook` looks the connection up (synchronously, or asynchronously in a trigger), turns
it into the :class:`~airflow_provider_livepeer.http.HttpClient` that sends every request
(:func:`~airflow_provider_livepeer.connection.http_client`), and closes the sessions that client opened
(:meth:`~LivepeerBaseHook.close`, :meth:`~LivepeerBaseHook.aclose`, ``with`` and ``async with``).
:class:`~airflow_provider_livepeer.hooks.livepeer.LivepeerHook` adds Livepeer's API calls.
"""

from __future__ import annotations

import asyncio
from typing import Any, Self

import requests
from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.common.compat.sdk import BaseHook, Connection

from airflow_provider_livepeer.connection import http_client
from airflow_provider_livepeer.http import ApiRequest, ApiResponse, HttpClient, RetrySettings


class LivepeerBaseHook(BaseHook):
    """The connection and HTTP client of :class:`~airflow_provider_livepeer.hooks.livepeer.LivepeerHook`.

    See that class for the parameters.
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
        self._http: HttpClient | None = None
        self._http_lock = asyncio.Lock()

    def _client_of(self, conn: Connection) -> HttpClient:
        return http_client(
            conn,
            self.livepeer_conn_id,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retry_settings=self.retry_settings,
            log=self.log,
        )

    def _client(self) -> HttpClient:
        if self._http is None:
            self._http = self._client_of(self.get_connection(self.livepeer_conn_id))
        return self._http

    async def _aclient(self) -> HttpClient:
        if self._http is None:
            # Many coroutines may share this hook (the shared watcher): one connection lookup serves all.
            async with self._http_lock:
                if self._http is None:
                    self._http = self._client_of(await get_async_connection(self.livepeer_conn_id, hook=self))
        return self._http

    def _send(self, request: ApiRequest) -> ApiResponse:
        return self._client().send(request)

    async def _asend(self, request: ApiRequest) -> ApiResponse:
        return await (await self._aclient()).asend(request)

    @property
    def base_url(self) -> str:
        """The API's base URL for this connection, e.g. ``https://livepeer.studio/api``."""
        return self._client().base_url

    @property
    def session(self) -> requests.Session:
        """The keep-alive ``requests`` session of the synchronous calls."""
        return self._client().session

    def get_conn(self) -> requests.Session:
        """Return the ``requests`` session, as Airflow hooks do."""
        return self.session

    def close(self) -> None:
        """Close the ``requests`` session, if one was opened (a later call opens a new one)."""
        if self._http is not None:
            self._http.close()

    async def aclose(self) -> None:
        """Close both sessions, the ``aiohttp`` one and the ``requests`` one, if they were opened."""
        if self._http is not None:
            await self._http.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
