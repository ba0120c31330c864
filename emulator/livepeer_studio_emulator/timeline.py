"""A task's life as a list of timed status snapshots.

Nothing runs in the background to move tasks along: when a task is created its whole future is laid out
as :class:`Snapshot` objects (``pending`` at creation, ``waiting``, ``running`` with ``progress`` rising
step by step, then the end), and a read picks the last snapshot whose time has come. ``status.updatedAt``
is that snapshot's time, so it advances exactly when something visible changes, and a client polling
``GET /api/task?filters=[{"id":"updatedAt","value":{"gt":T}}]`` sees every change once.

Work done for real (fetching an import's source, sending an export) gates the end: until it is done the
timeline stops at the last progress step, and the end comes at the later of its planned time and the
moment the work finished.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, Field

from livepeer_studio_emulator.media import INACCESSIBLE_MESSAGE
from livepeer_studio_emulator.outcomes import MAX_RETRIES, Outcome
from livepeer_studio_emulator.shapes import CamelModel

#: Livepeer's task runner's message for a task whose output asset was deleted before it finished.
ASSET_DELETED_MESSAGE = "task cancelled, asset has been deleted"


@dataclass(frozen=True)
class Durations:
    """How long a task spends in each phase at speed 1, in seconds.

    :param pending: from creation to ``waiting``.
    :param waiting: from ``waiting`` to ``running``.
    :param running: from ``running`` (progress 0) to the end.
    :param retry_delays: how long a retried task waits, with its error message, before it is
        rescheduled: before the first retry, and before the second (Livepeer: 30 s, then 180 s).
    :param progress_steps: how many progress values a run shows (10 gives 0, 0.1, ..., 0.9).

    Livepeer writes a new task ``waiting`` before the create call answers, so ``pending`` is 0 by default.
    """

    pending: float = 0.0
    waiting: float = 1.0
    running: float = 6.0
    retry_delays: tuple[float, float] = (30.0, 180.0)
    progress_steps: int = 10

    def __post_init__(self) -> None:
        for name in ("pending", "waiting", "running"):
            if getattr(self, name) < 0:
                raise ValueError(f"Durations.{name} must not be negative.")
        if len(self.retry_delays) != MAX_RETRIES or min(self.retry_delays) < 0:
            raise ValueError(f"Durations.retry_delays must be {MAX_RETRIES} delays, none negative.")
        if self.progress_steps < 1:
            raise ValueError("Durations.progress_steps must be at least 1.")

    def scaled(self, speed: float) -> PhaseTimes:
        """The durations in milliseconds at ``speed`` (2 runs twice as fast, 1000 turns seconds into ms)."""
        if speed <= 0:
            raise ValueError(f"speed must be positive, not {speed}.")

        def ms(seconds: float) -> int:
            return round(seconds * 1000 / speed)

        return PhaseTimes(
            pending_ms=ms(self.pending),
            waiting_ms=ms(self.waiting),
            running_ms=ms(self.running),
            retry_delays_ms=tuple(ms(delay) for delay in self.retry_delays),
            progress_steps=self.progress_steps,
        )


class PhaseTimes(CamelModel):
    """A task's phase durations in milliseconds, fixed at creation (so changing speed later is safe)."""

    model_config = ConfigDict(frozen=True)

    pending_ms: int
    waiting_ms: int
    running_ms: int
    retry_delays_ms: tuple[int, ...]
    progress_steps: int


@dataclass(frozen=True)
class Gate:
    """Real work a task's completion waits for.

    :param done_ms: when it finished (Unix ms), or ``None`` while it runs.
    :param error: why it failed, or ``None`` if it succeeded.
    :param failed_tries_ms: when earlier tries failed in a way Livepeer retries; each ends a run of the task.
    """

    done_ms: int | None
    error: str | None = None
    failed_tries_ms: tuple[int, ...] = ()


class Snapshot(CamelModel):
    """A task's status from ``at_ms`` until the next snapshot; its JSON is the task's ``status``."""

    model_config = ConfigDict(frozen=True)

    phase: str
    at_ms: int = Field(alias="updatedAt")
    progress: float | None = None
    retries: int | None = None
    error_message: str | None = None

    def status(self) -> dict[str, Any]:
        """The task's ``status`` object, as Livepeer writes it for this phase (unset fields left out)."""
        return self.to_json(exclude_none=True)


def build_timeline(
    created_ms: int, times: PhaseTimes, outcome: Outcome, gate: Gate | None, start_ms: int | None = None
) -> list[Snapshot]:
    """Lay out a task's snapshots.

    Times strictly increase (a millisecond apart at least), so two visible changes never share an
    ``updatedAt``. Status fields follow Livepeer's task scheduler: ``waiting`` carries ``retries``; a
    retried task goes back to ``waiting`` with ``retries`` + 1 and ``errorMessage``, then is rescheduled
    (``waiting`` without the message); ``completed`` carries only the phase and time.

    :param created_ms: the task's ``createdAt``.
    :param times: its phase durations.
    :param outcome: how it ends.
    :param gate: the real work its completion waits for, if any. Each of its retried tries ends a run
        with Livepeer's message and a retry (instead of the outcome's scripted ones); its final failure
        fails the task.
    :param start_ms: when the task's phases start moving, if later than its creation (a direct upload's
        last byte): it stays ``pending`` until then.
    """
    snapshots: list[Snapshot] = []

    def add(at_ms: int, phase: str, **fields: Any) -> int:
        if snapshots:
            at_ms = max(at_ms, snapshots[-1].at_ms + 1)
        snapshots.append(Snapshot(at_ms=at_ms, phase=phase, **fields))
        return at_ms

    now = add(created_ms, "pending")
    now = add(max(now, start_ms or now) + times.pending_ms, "waiting", retries=0)
    attempt = 0
    end = now
    while True:
        run_start = add(now + times.waiting_ms, "running", progress=0.0, retries=attempt)
        for step in range(1, times.progress_steps):
            add(
                run_start + times.running_ms * step // times.progress_steps,
                "running",
                progress=round(step / times.progress_steps, 4),
                retries=attempt,
            )
        end = run_start + times.running_ms
        retried = gate.failed_tries_ms if gate is not None else ()
        if attempt < (len(retried) if retried else min(outcome.retries, MAX_RETRIES)):
            message = INACCESSIBLE_MESSAGE if retried else outcome.retry_error(attempt + 1)
            # A fetch that failed before the run's planned end is reported at that end.
            failed_at = max(end, retried[attempt]) if retried else end
            now = add(failed_at, "waiting", retries=attempt + 1, error_message=message)
            now = add(now + times.retry_delays_ms[attempt], "waiting", retries=attempt + 1)
            attempt += 1
            continue
        break

    if outcome.result == "stall":
        return snapshots
    if outcome.result == "fail":
        add(end, "failed", retries=attempt, error_message=outcome.final_error)
        return snapshots
    if outcome.result == "cancel":
        add(end, "cancelled", retries=attempt, error_message=outcome.final_error)
        return snapshots
    if gate is not None:
        if gate.done_ms is None:
            return snapshots  # the real work is still going: stay at the last progress step
        end = max(end, gate.done_ms)
        if gate.error is not None:
            add(end, "failed", retries=attempt, error_message=gate.error)
            return snapshots
    add(end, "completed")
    return snapshots


def cut_short(snapshots: list[Snapshot], at_ms: int, message: str) -> list[Snapshot]:
    """The snapshots of a task that fails at ``at_ms`` with ``message``, not retried (its asset is gone)."""
    kept = [snapshot for snapshot in snapshots if snapshot.at_ms < at_ms]
    retries = kept[-1].retries if kept else None
    return [*kept, Snapshot(at_ms=at_ms, phase="failed", retries=retries, error_message=message)]


def reached(snapshots: Sequence[Snapshot], now_ms: int) -> int:
    """The index of the snapshot in force at ``now_ms`` (the first one at least: a task exists once made)."""
    index = bisect.bisect_right([s.at_ms for s in snapshots], now_ms) - 1
    return max(index, 0)
