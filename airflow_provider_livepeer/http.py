"""The HTTP layer: every request to Livepeer's API goes through :class:`HttpClient`, sync or async.

One client per hook holds what a ``livepeer`` connection says (:mod:`~airflow_provider_livepeer.connection`
reads it): the API's base URL and key, the timeouts, the TLS and proxy settings, the retry settings. It
sends a request through a keep-alive ``requests`` session (sync) or an ``aiohttp`` session (async, for
the triggers), turns the answer into JSON or the exception its status means, and retries transient
failures with one policy, the same for both paths (:meth:`HttpClient.retry_policy`). A call that needs a
rule of its own (the clip rate limit, an import whose answer was lost) runs that one policy with its own
conditions around :meth:`HttpClient.send_once`: never a retry loop inside another.
"""

from __future__ import annotations

import email.utils
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import urlsplit

import requests
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base

from airflow_provider_livepeer import __version__
from airflow_provider_livepeer.exceptions import (
    LivepeerBadResponseError,
    LivepeerCertificateError,
    LivepeerConnectionError,
    LivepeerRateLimitError,
    LivepeerServerError,
    connection_error,
    describe_body,
    error_for_status,
    is_replica_lag,
    loads,
)
from airflow_provider_livepeer.tls import tls_context

if TYPE_CHECKING:
    import aiohttp

USER_AGENT = f"airflow-provider-livepeer/{__version__}"
#: What a requests session adds to every request (compression, keep-alive); ours override the rest.
_SYNC_DEFAULT_HEADERS = dict(requests.utils.default_headers())


class Logger(Protocol):
    """The part of a logger the provider uses (stdlib and Airflow's structlog loggers both fit)."""

    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


@dataclass(frozen=True)
class RetrySettings:
    """How transient failures (429, 5xx, timeouts, dropped connections) are retried.

    :param max_attempts: tries per call, the first one included.
    :param max_seconds: the time a call may spend, waits included; no wait starts that would end later.
    :param backoff_initial: the first wait, in seconds; each next one doubles, with jitter.
    :param backoff_max: the longest single backoff wait; a ``Retry-After`` of Livepeer's is honoured up
        to ``max_seconds`` instead.
    """

    max_attempts: int = 5
    max_seconds: float = 120.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0


@dataclass(frozen=True)
class ApiRequest:
    """One request to the Livepeer API, before it is sent."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    #: Whether sending it twice does no more than sending it once (see :func:`is_retryable`).
    idempotent: bool = True
    #: For a read: until this Unix time a 404 is retried (:func:`~.exceptions.is_replica_lag`).
    not_found_until: float | None = None

    @property
    def follows_redirects(self) -> bool:
        """Only reads follow redirects.

        A redirected request that carries a body would send that body (storage credentials, export
        headers) to wherever the redirect points; the ``Authorization`` header is dropped on a redirect
        to another host by both HTTP clients, the body is not.
        """
        return self.method == "GET"


class ApiResponse(NamedTuple):
    """A decoded answer: its JSON value, its headers, the server's clock when it answered, and its label."""

    data: Any
    headers: Mapping[str, str]
    #: The server's ``Date`` header as Unix seconds, or ``None`` without one.
    answered_at: float | None
    #: ``METHOD /api/path`` of the request answered (:meth:`HttpClient.label`), for messages.
    label: str


def request_headers(api_key: str) -> dict[str, str]:
    """The headers of every API request."""
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}


def decode_response(method: str, api_path: str, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """Turn a response into its JSON value (``None`` for an empty body), or raise what its status means.

    :param api_path: the request's full path (no host, no query), for messages.
    :raises LivepeerApiError: an error status (:func:`~.exceptions.error_for_status`).
    :raises LivepeerBadResponseError: a redirect, or a success status with a body that is not JSON.
    """
    if 300 <= status < 400:
        raise LivepeerBadResponseError(
            f"Livepeer answered {method} {api_path} with a redirect (HTTP {status}) to "
            f"{headers.get('Location')!r}, which is not followed for a request that is not a read"
        )
    if status >= 400:
        raise error_for_status(status, method, api_path, headers, body)
    if not body.strip():
        return None
    try:
        return loads(body)
    except ValueError:
        raise LivepeerBadResponseError(
            f"Livepeer answered {method} {api_path} with HTTP {status} and a body that is not JSON: "
            f"{describe_body(headers, body)}"
        ) from None


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock when it answered (its ``Date`` header, whole seconds), as Unix seconds."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def is_retryable(error: BaseException, idempotent: bool = True) -> bool:
    """Whether sending a request again after ``error`` is both useful and safe.

    Transient errors are 429, 5xx, timeouts and dropped connections; 4xx and a refused TLS certificate
    never are. A request that is not idempotent (one that creates Livepeer work) is only sent again when
    Livepeer cannot have acted on it: a 429, or a connection that never opened (:func:`may_have_acted`).

    :param error: what the last try raised.
    :param idempotent: whether sending the request twice does no more than sending it once.
    """
    if isinstance(error, LivepeerRateLimitError):
        return True
    if isinstance(error, LivepeerCertificateError):
        return False  # the same certificate is refused again
    if isinstance(error, (LivepeerConnectionError, LivepeerServerError)):
        return idempotent or not may_have_acted(error)
    return False


def may_have_acted(error: BaseException) -> bool:
    """Whether Livepeer may have processed a request although its answer is an error or was lost.

    A 5xx can come after the work was started, and a dropped connection after the request arrived.
    """
    if isinstance(error, LivepeerConnectionError):
        return error.request_sent
    return isinstance(error, LivepeerServerError)


class _WaitRetryAfterOrBackoff:
    """Exponential backoff with jitter, unless Livepeer said how long to wait (``Retry-After``)."""

    def __init__(self, settings: RetrySettings) -> None:
        self._backoff = wait_exponential(multiplier=settings.backoff_initial, max=settings.backoff_max)
        self._jitter = wait_random(0, settings.backoff_initial)
        self._cap = settings.backoff_max
        self._budget = settings.max_seconds

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is None:
            return min(self._backoff(retry_state) + self._jitter(retry_state), self._cap)
        # Livepeer's own answer outranks backoff_max; a wait past the call's time budget stops the retries.
        return float(min(retry_after, self._budget))


@dataclass
class HttpClient:
    """Sends requests to one Livepeer API, as one ``livepeer`` connection describes it.

    :param base_url: the API's base URL, e.g. ``https://livepeer.studio/api``.
    :param headers: the headers of every request (the API key among them).
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param read_timeout: seconds to wait for an answer.
    :param retry_settings: how transient failures are retried.
    :param log: where retries are announced.
    :param ca_bundle: the CA bundle certificates are checked against; ``None``: not checked.
    :param proxy: the proxy for the API's URL, or ``None``.
    """

    base_url: str
    headers: dict[str, str] = field(repr=False)  # holds the API key
    connect_timeout: float
    read_timeout: float
    retry_settings: RetrySettings
    log: Logger = field(repr=False)
    ca_bundle: str | None
    proxy: str | None = field(default=None, repr=False)  # may hold the proxy's user:password
    _session: requests.Session | None = field(default=None, init=False, repr=False)
    _async_session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    def url(self, path: str) -> str:
        """The full URL of an API path such as ``/task``."""
        return f"{self.base_url}{path}"

    @functools.cached_property
    def _base_path(self) -> str:
        # Split once: every request's messages and label need it (a retried call, several times).
        return urlsplit(self.base_url).path

    def api_path(self, path: str) -> str:
        """The URL's path without the host, e.g. ``/api/task``, for messages."""
        return f"{self._base_path}{path}"

    def label(self, request: ApiRequest) -> str:
        """``METHOD /api/path`` of a request, for messages and the log."""
        return f"{request.method} {self.api_path(request.path)}"

    # -- retries --------------------------------------------------------------------------------------

    def retry_policy(
        self,
        request: ApiRequest,
        retry_if: Callable[[BaseException], bool] | None = None,
        stop: stop_base | Callable[[RetryCallState], bool] | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """The tenacity arguments of one call, the same for ``Retrying`` and ``AsyncRetrying``.

        :param retry_if: which errors are retried; by default :func:`is_retryable` for the request.
        :param stop: when to give up; by default after ``max_attempts`` tries or ``max_seconds``.
        :param label: what the retries are announced as; by default the request's :meth:`label` (an
            upload's requests go to the URLs Livepeer gave, not under the API's base URL).
        """
        settings, label = self.retry_settings, label or self.label(request)
        usual_stop = stop_after_attempt(settings.max_attempts) | stop_before_delay(settings.max_seconds)
        # A custom stop (the clip's rate limit) is not bound by max_attempts: no "of N" to print then.
        of_max = "" if stop else f" of {settings.max_attempts}"

        def announce(retry_state: RetryCallState) -> None:
            error = retry_state.outcome.exception() if retry_state.outcome else None
            wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
            self.log.warning(
                "Livepeer %s failed (%s), attempt %d%s; retrying in %.1f s",
                label,
                error,
                retry_state.attempt_number,
                of_max,
                wait,
            )

        return {
            "retry": retry_if_exception(
                retry_if
                or (
                    lambda error: (
                        is_retryable(error, request.idempotent)
                        or is_replica_lag(error, request.not_found_until)
                    )
                )
            ),
            "stop": stop or usual_stop,
            "wait": _WaitRetryAfterOrBackoff(settings),
            "before_sleep": announce,
            "reraise": True,
        }

    def send(self, request: ApiRequest) -> ApiResponse:
        """Send ``request``, retrying transient failures (:meth:`retry_policy`); the decoded answer."""
        for attempt in Retrying(**self.retry_policy(request)):
            with attempt:
                return self.send_once(request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def asend(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` asynchronously; see :meth:`send`."""
        async for attempt in AsyncRetrying(**self.retry_policy(request)):
            with attempt:
                return await self.asend_once(request)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    # -- one try --------------------------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """The keep-alive ``requests`` session of the synchronous calls, opened on first use."""
        if self._session is None:
            self._session = requests.Session()
            self._session.verify = self.ca_bundle if self.ca_bundle is not None else False
            # The environment was read once, into this client (connection.environment_settings, which
            # gives the cost of reading it on every request); nor may .netrc credentials replace the key.
            self._session.trust_env = False
        return self._session

    def send_once(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` once and decode the answer.

        :raises LivepeerConnectionError: no answer (see :func:`~.exceptions.connection_error`).
        :raises LivepeerApiError: an error status (see :func:`decode_response`).
        """
        try:
            # Prepared alone and sent through the session (its pool, redirects), skipping the session's
            # merging of its own settings, which Livepeer's calls do not use: a sixth of a poke's CPU.
            prepared = requests.Request(
                request.method,
                self.url(request.path),
                params=request.params,
                json=request.body,
                headers={**_SYNC_DEFAULT_HEADERS, **self.headers},
            ).prepare()
            response = self.session.send(
                prepared,
                proxies={"http": self.proxy, "https": self.proxy} if self.proxy else {},
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=request.follows_redirects,
            )
        except requests.RequestException as err:
            raise connection_error(err, self.label(request)) from None
        return self._decode(request, response.status_code, response.headers, response.content)

    async def asend_once(self, request: ApiRequest) -> ApiResponse:
        """Send ``request`` once through the ``aiohttp`` session (opened in the running event loop)."""
        import aiohttp

        if self._async_session is None:
            self._async_session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=tls_context(self.ca_bundle) if self.ca_bundle else False),
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=self.connect_timeout, sock_read=self.read_timeout
                ),
            )
        try:
            async with self._async_session.request(
                request.method,
                self.url(request.path),
                params=request.params,
                json=request.body,
                headers=self.headers,
                proxy=self.proxy,
                allow_redirects=request.follows_redirects,
            ) as response:
                body = await response.read()
        except (TimeoutError, aiohttp.ClientError) as err:
            raise connection_error(err, self.label(request)) from None
        return self._decode(request, response.status, response.headers, body)

    def _decode(
        self, request: ApiRequest, status: int, headers: Mapping[str, str], body: bytes
    ) -> ApiResponse:
        if status >= 400 and (key := self.headers["Authorization"].removeprefix("Bearer ").encode()):
            # Livepeer echoes an unknown key in its 401 ("no token <key> found"): kept out of messages.
            body = body.replace(key, b"***")
        data = decode_response(request.method, self.api_path(request.path), status, headers, body)
        return ApiResponse(data, headers, server_time(headers), self.label(request))

    def close(self) -> None:
        """Close the ``requests`` session, if one was opened (a later call opens a new one)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    async def aclose(self) -> None:
        """Close both sessions, if they were opened."""
        session, self._async_session = self._async_session, None
        if session is not None:
            await session.close()
        self.close()
