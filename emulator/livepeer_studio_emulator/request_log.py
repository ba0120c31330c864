"""The request log: the last API requests the emulator answered, for tests to count and inspect."""

from __future__ import annotations

import threading
from collections import deque

from pydantic import ConfigDict

from livepeer_studio_emulator.shapes import CamelModel

#: How many requests the log keeps (the oldest are forgotten first).
REQUEST_LOG_SIZE = 10_000


class RequestRecord(CamelModel):
    """One API request the emulator saw.

    :param status: the status the client got; ``None`` for a dropped connection.
    :param fault: the injected fault, if any.
    :param at: when it was answered, in Unix seconds.
    """

    model_config = ConfigDict(frozen=True)

    method: str
    path: str
    query: str
    status: int | None
    fault: str | None
    at: float

    def matches(self, method: str | None, path: str | None, status: int | None) -> bool:
        """Whether the request matches every criterion given (see :meth:`RequestLog.count`)."""
        if method is not None and self.method != method.upper():
            return False
        if status is not None and self.status != status:
            return False
        if path is None:
            return True
        if path.endswith("*"):
            return self.path.startswith(path[:-1])
        return self.path == path


class RequestLog:
    """The last :data:`REQUEST_LOG_SIZE` requests, oldest first; thread-safe."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._records: deque[RequestRecord] = deque(maxlen=size)

    def add(self, record: RequestRecord) -> None:
        """Log one request."""
        with self._lock:
            self._records.append(record)

    def all(self) -> list[RequestRecord]:
        """The logged requests, oldest first."""
        with self._lock:
            return list(self._records)

    def count(self, method: str | None = None, path: str | None = None, status: int | None = None) -> int:
        """How many logged requests match.

        :param method: e.g. ``GET``.
        :param path: the exact path (``/api/task``), or a prefix ending in ``*`` (``/api/task/*``).
        :param status: the status the client got.
        """
        return sum(1 for record in self.all() if record.matches(method, path, status))

    def clear(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._records.clear()
