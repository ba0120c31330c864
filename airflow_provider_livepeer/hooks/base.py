"""The HTTP side of the Livepeer hook: the connection, read once, and the hook's two sessions.

:class:`LivepeerBaseHook` turns a ``livepeer`` connection into the HTTP configuration of
:mod:`~airflow_provider_livepeer.transport`, opens one keep-alive ``requests`` session for the
synchronous calls and one ``aiohttp`` session for the coroutines, sends every request through one retry
policy, and closes what it opened (:meth:`~LivepeerBaseHook.close`, :meth:`~LivepeerBaseHook.aclose`,
``with`` and ``async with``). :class:`~airflow_provider_livepeer.hooks.livepeer.LivepeerHook` adds
Livepeer's API calls; :class:`ClosesHookWhenDone` has the operators and the sensor close their hook.
"""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, Self

import requests
from airflow.providers.common.compat.connection import get_async_connection
from airflow.providers.common.compat.sdk import BaseHook, Connection
from tenacity import AsyncRetrying, Retrying

from airflow_provider_livepeer.api import ApiRequest, RetrySettings, retry_policy
from airflow_provider_livepeer.transport import ApiResponse, HttpConfig, http_config

if TYPE_CHECKING:
    import aiohttp
    from airflow.providers.common.compat.sdk import BaseOperator as _OperatorBase
else:
    _OperatorBase = object


class LivepeerBaseHook(BaseHook):
    """The connection and HTTP sessions of :class:`~airflow_provider_livepeer.hooks.livepeer.LivepeerHook`.

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
        self._config: HttpConfig | None = None
        self._config_lock = asyncio.Lock()
        self._async_client: aiohttp.ClientSession | None = None

    # -- connection ---------------------------------------------------------------------------------

    def _config_from(self, conn: Connection) -> HttpConfig:
        return http_config(conn, self.livepeer_conn_id, self.connect_timeout, self.read_timeout, self.log)

    def _get_config(self) -> HttpConfig:
        if self._config is None:
            self._config = self._config_from(self.get_connection(self.livepeer_conn_id))
        return self._config

    @property
    def base_url(self) -> str:
        """The API's base URL for this connection, e.g. ``https://livepeer.studio/api``."""
        return self._get_config().base_url

    async def _aget_config(self) -> HttpConfig:
        if self._config is None:
            # Many coroutines may share this hook (the shared watcher): one connection lookup serves all.
            async with self._config_lock:
                if self._config is None:
                    conn = await get_async_connection(self.livepeer_conn_id, hook=self)
                    self._config = self._config_from(conn)
        return self._config

    @cached_property
    def session(self) -> requests.Session:
        """The keep-alive session of the synchronous calls."""
        return self._get_config().requests_session()

    def get_conn(self) -> requests.Session:
        """Return the ``requests`` session, as Airflow hooks do."""
        return self.session

    # -- closing ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the ``requests`` session, if one was opened (a later call opens a new one)."""
        session = self.__dict__.pop("session", None)
        if session is not None:
            session.close()

    async def aclose(self) -> None:
        """Close both sessions, the ``aiohttp`` one and the ``requests`` one, if they were opened."""
        if self._async_client is not None:
            await self._async_client.close()
            self._async_client = None
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- the one request method, sync and async -----------------------------------------------------

    def _send(self, request: ApiRequest) -> ApiResponse:
        config = self._get_config()
        policy = retry_policy(self.retry_settings, self.log, config.label(request), request.idempotent)
        for attempt in Retrying(**policy):
            with attempt:
                return config.send(self.session, request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _asend(self, request: ApiRequest) -> ApiResponse:
        config = await self._aget_config()
        if self._async_client is None:
            self._async_client = config.aiohttp_session()
        policy = retry_policy(self.retry_settings, self.log, config.label(request), request.idempotent)
        async for attempt in AsyncRetrying(**policy):
            with attempt:
                return await config.asend(self._async_client, request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover


class ClosesHookWhenDone(_OperatorBase):
    """Mixin of the operators and the sensor: close the task's ``hook`` session when the task is done with it.

    After ``execute`` or ``execute_complete`` (``post_execute``), and before deferring: the trigger waits
    with a session of its own, and a resumed task opens a new one if it needs one.
    """

    if TYPE_CHECKING:

        @property
        def hook(self) -> LivepeerBaseHook: ...

    def post_execute(self, context: Any, result: Any = None) -> None:
        """Close the hook's session, then run the base class's ``post_execute``."""
        self.hook.close()
        super().post_execute(context, result)

    def defer(self, **kwargs: Any) -> NoReturn:
        """Close the hook's session, then defer."""
        self.hook.close()
        super().defer(**kwargs)
