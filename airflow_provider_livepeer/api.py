"""How the provider talks to Livepeer Studio, shared by the sync and the async hook.

Everything here is transport-free: building the URL and headers of a request, turning a response into
JSON or the right exception, deciding what is retried and how long to wait, and finding the next page of
a list. The hooks only send the bytes; what callers pass is checked first (:mod:`.validation`).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import requests.utils
from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from airflow_provider_livepeer import __version__
from airflow_provider_livepeer.exceptions import (
    LivepeerApiError,
    LivepeerAuthenticationError,
    LivepeerBadResponseError,
    LivepeerCertificateError,
    LivepeerConnectionError,
    LivepeerInvalidRequestError,
    LivepeerNotFoundError,
    LivepeerPermissionError,
    LivepeerRateLimitError,
    LivepeerServerError,
)


class Logger(Protocol):
    """The part of a logger the provider uses (stdlib and Airflow's structlog loggers both fit)."""

    def info(self, event: Any, *args: Any, **kw: Any) -> Any: ...

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any: ...


DEFAULT_HOST = "https://livepeer.studio"
USER_AGENT = f"airflow-provider-livepeer/{__version__}"

_SHOWN_BODY_CHARS = 300
# Livepeer's own error texts are short; a huge one is cut so it cannot flood logs and the UI.
_SHOWN_ERROR_CHARS = 1000
_SHOWN_ERRORS = 10
# The real server sends this cursor on the link of its last page; following it would start over.
_END_CURSORS = frozenset({"", "undefined", "null"})


def api_base_url(host: str | None, port: int | None = None, schema: str | None = None) -> str:
    """Turn a connection's host, port and schema into the API's base URL, ``<scheme>://<host>[:port]/api``.

    A host without a scheme gets ``https://``, or ``http://`` when it is a loopback address (a local
    emulator, as in the URI form ``livepeer://:KEY@127.0.0.1:3000``); one that already ends in ``/api``
    is kept as it is. Plain ``http://`` is only allowed for loopback addresses (the emulator, local
    tests), so the API key never crosses a network in clear text. The connection's port and schema (what
    Airflow makes of ``livepeer://:KEY@host:PORT/SCHEMA``) join the host as its port and path.

    :param host: the connection's host; empty means Livepeer Studio.
    :param port: the connection's port, if any.
    :param schema: the connection's schema, if any: a path before ``/api``.
    :raises ValueError: the host is malformed, plain http to a non-loopback address, or its own port or
        path disagrees with the connection's port or schema.
    """
    raw = (host or "").strip() or DEFAULT_HOST
    if "://" not in raw:
        bare_hostname = urlsplit(f"//{raw}").hostname
        raw = f"{'http' if bare_hostname and _is_loopback(bare_hostname) else 'https'}://{raw}"
    parts = urlsplit(raw)
    try:
        hostname, host_port = parts.hostname, parts.port
    except ValueError as err:
        raise ValueError(f"Invalid Livepeer API host {host!r}: {err}.") from None
    if parts.scheme not in {"http", "https"} or not hostname or parts.query or parts.fragment:
        raise ValueError(
            f"Invalid Livepeer API host {host!r}: expected https://HOST[:PORT] such as {DEFAULT_HOST}."
        )
    if parts.scheme == "http" and not _is_loopback(hostname):
        raise ValueError(
            f"Refusing plain http:// Livepeer API host {host!r}: the API key would cross the network in "
            "clear text. Use https://, or a loopback address (127.0.0.1, localhost) for a local emulator."
        )
    netloc = parts.netloc
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"Invalid Livepeer API port {port!r}: expected an integer from 1 to 65535.")
        if host_port not in (None, port):
            raise ValueError(
                f"Livepeer API host {host!r} names port {host_port} but the connection's port is {port}: "
                "give the port in one place."
            )
        netloc = netloc if host_port else f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if schema and schema.strip("/"):
        if path:
            raise ValueError(
                f"Livepeer API host {host!r} has a path and the connection has a schema {schema!r}: "
                "give the path in one place."
            )
        path = f"/{schema.strip('/')}"
    if not path.endswith("/api"):
        path = f"{path}/api"
    return f"{parts.scheme}://{netloc}{path}"


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


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

    @property
    def follows_redirects(self) -> bool:
        """Only reads follow redirects.

        A redirected request that carries a body would send that body (storage credentials, export
        headers) to wherever the redirect points; the ``Authorization`` header is dropped on a redirect
        to another host by both HTTP clients, the body is not.
        """
        return self.method == "GET"


def request_headers(api_key: str) -> dict[str, str]:
    """The headers of every API request."""
    return {"Authorization": f"Bearer {api_key}", "Accept": "application/json", "User-Agent": USER_AGENT}


_ERROR_CLASSES: dict[int, type[LivepeerApiError]] = {
    400: LivepeerInvalidRequestError,
    401: LivepeerAuthenticationError,
    403: LivepeerPermissionError,
    404: LivepeerNotFoundError,
    412: LivepeerInvalidRequestError,
    422: LivepeerInvalidRequestError,
    429: LivepeerRateLimitError,
}


def decode_response(method: str, api_path: str, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """Turn a response into its JSON value, or raise the exception its status means.

    :param method: the request's method.
    :param api_path: the request's full path (no host, no query), for messages.
    :param status: the HTTP status.
    :param headers: the response headers (case-insensitive mapping).
    :param body: the raw body.
    :returns: the decoded JSON, or ``None`` for an empty body (204).
    :raises LivepeerApiError: a subclass chosen by the status.
    :raises LivepeerBadResponseError: a success status with a body that is not JSON.
    """
    if 300 <= status < 400:
        raise LivepeerBadResponseError(
            f"Livepeer answered {method} {api_path} with a redirect (HTTP {status}) to "
            f"{headers.get('Location')!r}, which is not followed for a request that is not a read"
        )
    if status >= 400:
        error_class = _ERROR_CLASSES.get(status)
        if error_class is None:
            error_class = LivepeerServerError if status >= 500 else LivepeerInvalidRequestError
        raise error_class(status, method, api_path, _error_detail(headers, body), _retry_after(headers))
    if not body.strip():
        return None
    try:
        return _loads(body)
    except ValueError:
        raise LivepeerBadResponseError(
            f"Livepeer answered {method} {api_path} with HTTP {status} and a body that is not JSON: "
            f"{_describe(headers, body)}"
        ) from None


def _loads(body: bytes) -> Any:
    """``json.loads``; JSON nested deeper than Python's decoder recurses is a ``ValueError`` too."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply to decode") from None


def _error_detail(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = _loads(body)
    except ValueError:
        return _describe(headers, body)
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        text = "; ".join(str(e) for e in errors[:_SHOWN_ERRORS])
        if len(text) > _SHOWN_ERROR_CHARS:
            text = f"{text[:_SHOWN_ERROR_CHARS]}... ({len(text) - _SHOWN_ERROR_CHARS} more characters)"
        if len(errors) > _SHOWN_ERRORS:
            text += f" (and {len(errors) - _SHOWN_ERRORS} more errors)"
        return text
    return _describe(headers, body)


def _describe(headers: Mapping[str, str], body: bytes) -> str:
    content_type = headers.get("Content-Type", "no content type")
    text = body[:_SHOWN_BODY_CHARS].decode("utf-8", "replace")
    text = " ".join(text.split())
    more = f" ... ({len(body)} bytes)" if len(body) > _SHOWN_BODY_CHARS else ""
    return f"[{content_type}] {text}{more}" if text else f"[{content_type}] empty body"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # An HTTP date: rare from Livepeer, and backoff is a safe substitute.


def is_retryable(error: BaseException, idempotent: bool = True) -> bool:
    """Whether sending a request again after ``error`` is both useful and safe.

    Transient errors are 429, 5xx, timeouts and dropped connections; 4xx and a refused TLS certificate
    never are. A request that is not
    idempotent (one that creates Livepeer work) is only sent again when Livepeer cannot have acted on it:
    a 429, or a connection that never opened. After a 5xx or a dropped answer it may already have started
    the work, and a second request could start it twice.

    :param error: what the last try raised.
    :param idempotent: whether sending the request twice does no more than sending it once.
    """
    if isinstance(error, LivepeerRateLimitError):
        return True
    if isinstance(error, LivepeerCertificateError):
        return False  # the same certificate is refused again
    if isinstance(error, LivepeerConnectionError):
        return idempotent or not error.request_sent
    return idempotent and isinstance(error, LivepeerServerError)


#: Livepeer's 403 when a requester has scheduled 5 clips of a playback id in the last 5 minutes.
CLIP_RATE_LIMITED = "Too many clips are being processed."


def is_clip_rate_limited(error: BaseException) -> bool:
    """Whether ``error`` is Livepeer's clip rate limit: a 403 that clears by itself within 5 minutes."""
    return isinstance(error, LivepeerPermissionError) and CLIP_RATE_LIMITED in str(error)


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


def retry_policy(settings: RetrySettings, log: Logger, label: str, idempotent: bool = True) -> dict[str, Any]:
    """The tenacity arguments for one API call, the same for ``Retrying`` and ``AsyncRetrying``.

    :param settings: attempts, time budget and backoff.
    :param log: where each retry is announced.
    :param label: ``METHOD /api/path`` of the call, for the log.
    :param idempotent: whether the request may be sent again after any transient error.
    """

    def announce(retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning(
            "Livepeer %s failed (%s), attempt %d of %d; retrying in %.1f s",
            label,
            error,
            retry_state.attempt_number,
            settings.max_attempts,
            wait,
        )

    return {
        "retry": retry_if_exception(lambda error: is_retryable(error, idempotent)),
        "stop": stop_after_attempt(settings.max_attempts) | stop_before_delay(settings.max_seconds),
        "wait": _WaitRetryAfterOrBackoff(settings),
        "before_sleep": announce,
        "reraise": True,
    }


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


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock when it answered (its ``Date`` header, whole seconds), as Unix seconds."""
    value = headers.get("Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
