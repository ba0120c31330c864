"""A lock wrapper telling a test when a thread has to wait for the lock: ordering proofs without sleeps."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any


class WatchedLock:
    """Wraps a lock (e.g. the emulator state's); ``waiting`` is set once a thread has to wait for it."""

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self.waiting = threading.Event()

    def __enter__(self) -> WatchedLock:
        if not self._lock.acquire(blocking=False):
            self.waiting.set()
            self._lock.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._lock.release()
