"""Errors raised by the Livepeer provider, one class per way a Livepeer call can fail."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


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
