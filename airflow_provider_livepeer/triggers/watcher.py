"""Watchers: how a trigger learns what became of a Livepeer task.

A trigger asks a watcher for the updates of one task and reacts to each; the watcher decides how to get
them. :class:`PollingTaskWatcher` reads one task directly every interval;
:class:`~airflow_provider_livepeer.triggers.shared_watcher.SharedTaskWatcher` serves every trigger of a
connection with one list request per interval.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from airflow_provider_livepeer.exceptions import LivepeerError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.http import Logger, is_retryable
from airflow_provider_livepeer.models import CreatedWork, Task

#: What a watcher logs when a read of a task failed for now (429, 5xx, a timeout): the next poll tries again.
UNREADABLE = "Livepeer task %s could not be read, trying again: %s"


@dataclass(frozen=True)
class LastSeen:
    """What a waiter last saw of a task, and when: where a watcher takes up the watch without a read.

    :param at: the server's clock when it gave that answer (its ``Date`` header), Unix seconds.
    :param phase: the task's ``status.phase`` then, or ``None`` when only its creation was seen.
    :param updated_at: its ``status.updatedAt`` then (Unix milliseconds), if known.
    """

    at: float
    phase: str | None = None
    updated_at: float | None = None

    @classmethod
    def of(cls, answer: Task | CreatedWork) -> LastSeen | None:
        """What ``answer`` shows: a task's phase and ``updatedAt``, or a created task's mere existence.

        ``None`` when the server sent no ``Date`` header: nothing to measure "since" from.
        """
        if answer.answered_at is None:
            return None
        if isinstance(answer, Task):
            return cls(answer.answered_at, answer.phase, answer.updated_at)
        return cls(answer.answered_at)


class TaskWatcher(Protocol):
    """How a trigger learns what became of a Livepeer task: both watchers implement this, as declared."""

    def watch(
        self,
        livepeer_task_id: str,
        last_seen: LastSeen | None,
        poll_interval: float,
        log: Logger,
        not_found_until: float | None = None,
    ) -> AsyncGenerator[Task, None]:
        """Yield the task each time it is seen, ending after a terminal state.

        Transient failures (after the hook's retries) are logged and waited out; permanent ones (401, 403,
        404, a malformed answer) are raised.

        :param last_seen: what the waiter already knows; without it the watcher reads the task first.
        :param poll_interval: how often the waiter wants the task looked at, in seconds.
        :param log: where the lines about this task go: the waiting trigger's ``self.log``, which Airflow
            writes to the task's log.
        :param not_found_until: until this Unix time a 404 is Livepeer's read replica not showing a new
            task yet (:func:`~airflow_provider_livepeer.exceptions.is_replica_lag`): read again later.
        """
        ...


class PollingTaskWatcher:
    """Reads one task with ``GET /api/task/{id}`` every poll interval, after a failure too.

    :param hook: the hook whose async calls are used.
    """

    def __init__(self, hook: LivepeerHook) -> None:
        self.hook = hook

    async def watch(
        self,
        livepeer_task_id: str,
        last_seen: LastSeen | None,
        poll_interval: float,
        log: Logger,
        not_found_until: float | None = None,
    ) -> AsyncGenerator[Task, None]:
        """Yield the task after every read until it is terminal; see :class:`TaskWatcher`."""
        if last_seen is not None:
            await asyncio.sleep(poll_interval)  # it was just read: the first read waits its turn
        while True:
            try:
                task = await self.hook.aget_task(livepeer_task_id, not_found_until=not_found_until)
            except LivepeerError as err:
                if not is_retryable(err):
                    raise
                log.warning(UNREADABLE, livepeer_task_id, err)
            else:
                yield task
                if task.is_terminal:
                    return
            await asyncio.sleep(poll_interval)
