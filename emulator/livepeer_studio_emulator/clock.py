"""Time as the emulator sees it: one injectable clock, read in Unix seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: A function returning the current Unix time in seconds, like :func:`time.time`.
Clock = Callable[[], float]


def to_ms(seconds: float) -> int:
    """Unix seconds to the Unix milliseconds Livepeer uses in ``createdAt`` and ``updatedAt``."""
    return int(seconds * 1000)


class ManualClock:
    """A clock that only moves when told to, for tests that check timing exactly.

    Pass it as ``clock=`` to :class:`~livepeer_studio_emulator.state.EmulatorState` or
    :func:`~livepeer_studio_emulator.server.run_emulator`, then :meth:`advance` it.

    :param start: the initial Unix time in seconds; defaults to now.
    """

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else float(start)
        # The server thread reads the clock while the test thread advances it.
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current time in Unix seconds."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward; returns the new time.

        :param seconds: how far to move, at least 0.
        :raises ValueError: ``seconds`` is negative (time never goes back for a task timeline).
        """
        if seconds < 0:
            raise ValueError(f"A ManualClock only moves forward, not by {seconds} s.")
        with self._lock:
            self._now += seconds
            return self._now
