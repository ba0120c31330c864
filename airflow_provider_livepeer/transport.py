"""One HTTP configuration for the hook's two clients: ``requests`` (sync) and ``aiohttp`` (async).

Read once per hook from its connection and the environment, and used the same way by both clients:

* TLS: the connection's ``verify`` extra: on (the default), off, or the path of a CA bundle (a file, or
  a folder of hashed certificates). When on, the CA bundle is the first of the environment variables
  ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and ``SSL_CERT_FILE`` that is set, else certifi's bundle.
* The proxy the environment sets for the API's URL (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``,
  ``NO_PROXY``, by requests' rules).
* The connect and read timeouts.
* One mapping of a client's failure to :class:`~airflow_provider_livepeer.exceptions.LivepeerConnectionError`.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import certifi
import requests
from airflow.providers.common.compat.sdk import Connection, mask_secret
from urllib3.exceptions import NewConnectionError

from airflow_provider_livepeer.api import (
    ApiRequest,
    Logger,
    api_base_url,
    decode_response,
    request_headers,
    server_time,
)
from airflow_provider_livepeer.connection_form import READ_TIMEOUT_MINIMUM
from airflow_provider_livepeer.exceptions import (
    LivepeerCertificateError,
    LivepeerConnectionError,
    LivepeerError,
)
from airflow_provider_livepeer.validation import finite_number

if TYPE_CHECKING:
    import aiohttp

#: The environment variables naming a CA bundle, in the order they are read.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
DEFAULT_READ_TIMEOUT = 30.0
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
#: What a requests session adds to every request (compression, keep-alive); ours override the rest.
_SYNC_DEFAULT_HEADERS = dict(requests.utils.default_headers())


class ApiResponse(NamedTuple):
    """A decoded answer: its JSON value, its headers, the server's clock when it answered, and its label."""

    data: Any
    headers: Mapping[str, str]
    #: The server's ``Date`` header as Unix seconds, or ``None`` without one.
    answered_at: float | None
    #: ``METHOD /api/path`` of the request answered (:meth:`HttpConfig.label`), for messages.
    label: str


@dataclass(frozen=True)
class HttpConfig:
    """Where and how both clients send requests, as read from the connection and the environment."""

    base_url: str
    headers: dict[str, str] = field(repr=False)  # holds the API key
    connect_timeout: float
    read_timeout: float
    #: The proxy the environment sets for the API's URL, or ``None``.
    proxy: str | None = None
    #: The CA bundle certificates are checked against, or ``None``: not checked (``verify`` false).
    ca_bundle: str | None = field(default_factory=certifi.where)

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

    def requests_session(self) -> requests.Session:
        """A keep-alive ``requests`` session of this configuration."""
        session = requests.Session()
        session.verify = self.ca_bundle if self.ca_bundle is not None else False
        # The environment was read once, here: requests would read it again on every request (a sixth of
        # a poke's CPU), and could swap in .netrc credentials.
        session.trust_env = False
        return session

    def aiohttp_session(self) -> aiohttp.ClientSession:
        """An ``aiohttp`` session of this configuration (open it inside the event loop that uses it)."""
        # Imported here, by the triggers that use it: at import, aiohttp would cost every DAG parse a
        # tenth of a second of CPU. aiohttp rather than httpx: about half the CPU per request.
        import aiohttp

        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=tls_context(self.ca_bundle) if self.ca_bundle else False),
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.connect_timeout, sock_read=self.read_timeout
            ),
        )

    def send(self, session: requests.Session, request: ApiRequest) -> ApiResponse:
        """Send ``request`` once through a session of :meth:`requests_session`, and decode the answer.

        :raises LivepeerConnectionError: no answer (see :func:`connection_error`).
        :raises LivepeerApiError: an error status (see :func:`~.api.decode_response`).
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
            response = session.send(
                prepared,
                proxies={"http": self.proxy, "https": self.proxy} if self.proxy else {},
                timeout=(self.connect_timeout, self.read_timeout),
                allow_redirects=request.follows_redirects,
            )
        except requests.RequestException as err:
            raise connection_error(err, self.label(request)) from None
        return self._decode(request, response.status_code, response.headers, response.content)

    async def asend(self, session: aiohttp.ClientSession, request: ApiRequest) -> ApiResponse:
        """Send ``request`` once through a session of :meth:`aiohttp_session`; see :meth:`send`."""
        import aiohttp

        try:
            async with session.request(
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
        data = decode_response(request.method, self.api_path(request.path), status, headers, body)
        return ApiResponse(data, headers, server_time(headers), self.label(request))

    def label(self, request: ApiRequest) -> str:
        """``METHOD /api/path`` of a request, for messages and the log."""
        return f"{request.method} {self.api_path(request.path)}"


def http_config(
    conn: Connection, conn_id: str, connect_timeout: float, read_timeout: float | None, log: Logger
) -> HttpConfig:
    """Read the configuration of a ``livepeer`` connection (and the environment).

    :param conn: the connection.
    :param conn_id: its id, for messages.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param read_timeout: seconds to wait for an answer; ``None``: the connection's ``read_timeout``
        extra, else 30.
    :param log: where turning certificate checks off is announced.
    :raises LivepeerError: the connection has no API key.
    :raises ValueError: an extra is invalid.
    """
    api_key = (conn.password or "").strip()
    if not api_key:
        raise LivepeerError(
            f"Connection {conn_id!r} has no Livepeer API key: set its password "
            "(the 'API key' field) to a key from Livepeer Studio's developer settings."
        )
    mask_secret(api_key)
    extra = conn.extra_dejson
    if read_timeout is None:
        read_timeout = DEFAULT_READ_TIMEOUT
        if extra.get("read_timeout") not in (None, ""):
            read_timeout = finite_number(
                extra["read_timeout"], f"read_timeout of connection {conn_id!r}", READ_TIMEOUT_MINIMUM
            )
    base_url = api_base_url(conn.host, conn.port, conn.schema)
    verify = verify_setting(extra.get("verify"), conn_id)
    if verify is False:
        log.warning(
            "Connection %s: TLS certificates are not checked (verify is false): anyone on the network "
            "path could read the API key",
            conn_id,
        )
    return HttpConfig(
        base_url,
        request_headers(api_key),
        connect_timeout,
        read_timeout,
        proxy_for(base_url),
        ca_bundle(verify),
    )


def verify_setting(value: object, conn_id: str) -> bool | str:
    """The ``verify`` extra: ``True``, ``False`` or a CA bundle path (the UI and templates give strings).

    Empty or absent means ``True``.

    :raises ValueError: neither a boolean word nor the path of an existing file or folder.
    """
    if value is None or isinstance(value, bool):
        return value is not False
    if isinstance(value, str):
        word = value.strip()
        if not word or word.lower() in _TRUE:
            return True
        if word.lower() in _FALSE:
            return False
        if os.path.exists(os.path.expanduser(word)):
            return os.path.expanduser(word)
    raise ValueError(
        f"Invalid verify of connection {conn_id!r} {value!r}: expected true, false, or the path of a "
        "CA bundle that exists on this machine."
    )


def ca_bundle(verify: bool | str) -> str | None:
    """The CA bundle both clients check certificates against, or ``None`` when they do not check.

    :raises ValueError: the CA environment variable in use names no file or folder (checked here, so
        both clients fail alike and the message names the variable).
    """
    if verify is False:
        return None
    if isinstance(verify, str):
        return verify
    name = next((name for name in CA_BUNDLE_VARIABLES if os.environ.get(name)), None)
    if name is None:
        return certifi.where()
    bundle = os.environ[name]
    if not os.path.exists(bundle):
        raise ValueError(
            f"Invalid {name} {bundle!r} in the environment: expected the path of a CA bundle (a file, or a "
            "folder of hashed certificates) that exists on this machine."
        )
    return bundle


def tls_context(bundle: str) -> ssl.SSLContext:
    """A certificate-checking TLS context of a CA bundle as it is now on disk.

    Contexts are cached (building one costs ~30 ms of CPU, per client), by the bundle's path and its
    file's identity, time and size: a replaced bundle (a rotated CA) is read anew by the next hook of a
    long-running triggerer.
    """
    stat = os.stat(bundle)
    return _tls_context(bundle, stat.st_ino, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _tls_context(bundle: str, *version: int) -> ssl.SSLContext:
    """``version``: the bundle's inode, modification time and size, the cache key beside its path."""
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def proxy_for(url: str) -> str | None:
    """The proxy the environment sets for ``url``, by requests' rules.

    ``HTTPS_PROXY`` / ``HTTP_PROXY`` (by the URL's scheme), else ``ALL_PROXY``; none when ``NO_PROXY``
    matches the host.
    """
    proxies = requests.utils.get_environ_proxies(url)
    return proxies.get(urlsplit(url).scheme) or proxies.get("all")


def connection_error(err: BaseException, label: str) -> LivepeerConnectionError:
    """The one error for a request that got no answer, from a ``requests`` or an ``aiohttp`` failure.

    ``request_sent`` is ``False`` when the request cannot have reached Livepeer: the connection was
    refused or timed out, or the server's certificate was refused before anything was sent.

    :param err: what the client raised.
    :param label: ``METHOD /api/path`` of the request.
    """
    # aiohttp's own certificate error is one too (ssl.CertificateError), wrapping the ssl module's.
    refused = [cause for cause in _causes(err) if isinstance(cause, ssl.SSLCertVerificationError)]
    if refused:
        detail = next((c.verify_message for c in refused if getattr(c, "verify_message", None)), refused[0])
        return LivepeerCertificateError(
            f"Livepeer {label} got no answer: the server's TLS certificate was refused ({detail}). To "
            "trust its certificate authority, set the connection's verify extra to its CA bundle, or "
            f"{CA_BUNDLE_VARIABLES[0]}."
        )
    return LivepeerConnectionError(
        f"Livepeer {label} got no answer: {type(err).__name__}: {err}", request_sent=not _never_connected(err)
    )


def _never_connected(err: BaseException) -> bool:
    """Whether the client failed before a connection was open, so the request cannot have arrived."""
    if isinstance(err, requests.RequestException):
        if isinstance(err, requests.ConnectTimeout):
            return True
        reason = getattr(err.args[0], "reason", None) if err.args else None
        return isinstance(err, requests.ConnectionError) and isinstance(reason, NewConnectionError)
    import aiohttp

    return isinstance(err, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError))


def _causes(err: BaseException) -> Iterator[BaseException]:
    """``err`` and what it wraps: chained exceptions, urllib3's ``reason`` and wrapped first arguments."""
    seen: set[int] = set()
    todo: list[Any] = [err]
    while todo:
        cause = todo.pop()
        if not isinstance(cause, BaseException) or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        todo += [cause.__cause__, cause.__context__, getattr(cause, "reason", None), *cause.args[:1]]
        # aiohttp keeps the ssl error of a refused certificate as its certificate_error.
        todo.append(getattr(cause, "certificate_error", None))
