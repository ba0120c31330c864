"""Errors raised by the Livepeer provider: one class per way a Livepeer call can fail.

Also the one mapping to those classes: of an error answer (:func:`error_for_status`) and of a request that
got no answer (:func:`connection_error`).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator, Mapping
from typing import Any

import requests
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from urllib3.exceptions import NewConnectionError

_SHOWN_BODY_CHARS = 300
# Livepeer's own error texts are short; a huge one is cut so it cannot flood logs and the UI.
_SHOWN_ERROR_CHARS = 1000
_SHOWN_ERRORS = 10


class LivepeerError(AirflowException):
    """Base class of every error the provider raises about Livepeer Studio."""


class LivepeerApiError(LivepeerError):
    """Livepeer answered a request with an error status.

    :param status: the HTTP status code.
    :param method: the HTTP method of the request.
    :param path: the request path (without host or query string).
    :param detail: Livepeer's ``errors`` text, or a description of the body it sent instead.
    :param retry_after: seconds Livepeer asked the client to wait (``Retry-After``), if any.
    """

    def __init__(
        self, status: int, method: str, path: str, detail: str, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail
        self.retry_after = retry_after
        super().__init__(f"Livepeer API returned HTTP {status} for {method} {path}: {detail}")


class LivepeerAuthenticationError(LivepeerApiError):
    """401: the API key is missing, wrong or revoked."""


class LivepeerPermissionError(LivepeerApiError):
    """403: the key may not touch this object (for example a task of another account)."""


class LivepeerNotFoundError(LivepeerApiError):
    """404: no such task or asset."""


#: Seconds after the provider learnt of a task or asset (it created it, or a sensor first read it) during
#: which a 404 for it is Livepeer's read replica not showing it yet: reads are tried again until then.
NOT_FOUND_GRACE = 10.0


def is_replica_lag(error: BaseException, not_found_until: float | None) -> bool:
    """Whether ``error`` is a 404 that Livepeer's read replica may still give for a record made moments ago.

    Livepeer reads an API key's ``GET /api/task/{id}`` and ``GET /api/asset/{id}`` from a replica, which
    can answer 404 for a moment right after the create call.

    :param not_found_until: the Unix time until which a 404 means "not visible yet" (``None``: never).
    """
    return (
        not_found_until is not None
        and isinstance(error, LivepeerNotFoundError)
        and time.time() < not_found_until
    )


class LivepeerInvalidRequestError(LivepeerApiError):
    """400, 412 or 422: Livepeer refused the request as it stands; sending it again will not help."""


class LivepeerRateLimitError(LivepeerApiError):
    """429: too many requests, or too many queued tasks on the account. Retried with backoff."""


class LivepeerServerError(LivepeerApiError):
    """5xx: Livepeer (or a proxy in front of it) failed. Retried with backoff."""


class LivepeerBadResponseError(LivepeerError):
    """Livepeer answered with a success status but a body that is not JSON or not of the expected shape."""


class LivepeerConnectionError(LivepeerError):
    """The request did not get an answer: connection refused or dropped, or a timeout. Retried.

    :param message: what happened.
    :param request_sent: whether the request may have reached Livepeer (``False`` when the connection
        could not even be opened), which decides whether a request that creates work may be sent again.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        self.request_sent = request_sent
        super().__init__(message)


class LivepeerCertificateError(LivepeerConnectionError):
    """The server's TLS certificate was refused, before anything was sent. Not retried.

    The same certificate would be refused again: trust its authority (the ``verify`` extra) or fix the host.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, request_sent=False)


class LivepeerTaskFailedError(LivepeerError, AirflowFailException):
    """A Livepeer task ended ``failed`` or ``cancelled``.

    It derives from :class:`AirflowFailException` so Airflow does not retry the Airflow task: the remote
    task is over and polling it again gives the same answer.

    :param livepeer_task_id: the Livepeer task id.
    :param task_type: the Livepeer task type (``upload``, ``export``, ...).
    :param phase: the terminal phase, ``failed`` or ``cancelled``.
    :param error_message: Livepeer's ``errorMessage``.
    """

    def __init__(
        self, livepeer_task_id: str, task_type: str | None, phase: str, error_message: str | None
    ) -> None:
        self.livepeer_task_id = livepeer_task_id
        self.task_type = task_type
        self.phase = phase
        self.error_message = error_message
        reason = error_message or "Livepeer gave no error message"
        super().__init__(f"Livepeer {task_type or 'unknown-type'} task {livepeer_task_id} {phase}: {reason}")


_ERROR_CLASSES: dict[int, type[LivepeerApiError]] = {
    400: LivepeerInvalidRequestError,
    401: LivepeerAuthenticationError,
    403: LivepeerPermissionError,
    404: LivepeerNotFoundError,
    412: LivepeerInvalidRequestError,
    422: LivepeerInvalidRequestError,
    429: LivepeerRateLimitError,
}


def error_for_status(
    status: int, method: str, api_path: str, headers: Mapping[str, str], body: bytes
) -> LivepeerApiError:
    """The exception an error status (400 or above) means, with Livepeer's ``errors`` text.

    :param api_path: the request's full path (no host, no query), for the message.
    """
    error_class = _ERROR_CLASSES.get(status)
    if error_class is None:
        error_class = LivepeerServerError if status >= 500 else LivepeerInvalidRequestError
    return error_class(status, method, api_path, _error_detail(headers, body), _retry_after(headers))


def loads(body: bytes) -> Any:
    """``json.loads``; JSON nested deeper than Python's decoder recurses is a ``ValueError`` too."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply to decode") from None


def _error_detail(headers: Mapping[str, str], body: bytes) -> str:
    try:
        data = loads(body)
    except ValueError:
        return describe_body(headers, body)
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        text = "; ".join(str(e) for e in errors[:_SHOWN_ERRORS])
        if len(text) > _SHOWN_ERROR_CHARS:
            text = f"{text[:_SHOWN_ERROR_CHARS]}... ({len(text) - _SHOWN_ERROR_CHARS} more characters)"
        if len(errors) > _SHOWN_ERRORS:
            text += f" (and {len(errors) - _SHOWN_ERRORS} more errors)"
        return text
    return describe_body(headers, body)


def describe_body(headers: Mapping[str, str], body: bytes) -> str:
    """A short description of a body that is not Livepeer's error JSON: its type and first characters."""
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
            "REQUESTS_CA_BUNDLE."
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
