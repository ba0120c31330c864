"""Watchers: how a trigger learns what became of a Livepeer task.

A trigger asks a watcher for the updates of one task and reacts to each; the watcher decides how to get
them. :class:`PollingTaskWatcher` reads the task directly every interval.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from airflow_provider_livepeer.api import is_retryable
from airflow_provider_livepeer.exceptions import LivepeerError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import Task

log = logging.getLogger(__name__)


class TaskWatcher(Protocol):
    """Something that reports a Livepeer task's state until it is terminal."""

    def watch(self, livepeer_task_id: str) -> AsyncGenerator[Task, None]:
        """Yield the task each time it is seen, ending after a terminal state.

        Transient failures (after the hook's retries) are logged and waited out; permanent ones (401, 403,
        404, a malformed answer) are raised.
        """
        ...


class PollingTaskWatcher:
    """Reads one task with ``GET /api/task/{id}`` every ``poll_interval`` seconds.

    :param hook: the hook whose async calls are used.
    :param poll_interval: seconds between reads, after a failure too.
    """

    def __init__(self, hook: LivepeerHook, poll_interval: float) -> None:
        self.hook = hook
        self.poll_interval = poll_interval

    async def watch(self, livepeer_task_id: str) -> AsyncGenerator[Task, None]:
        """Yield the task after every read until it is terminal; see :class:`TaskWatcher`."""
        while True:
            try:
                task = await self.hook.aget_task(livepeer_task_id)
            except LivepeerError as err:
                if not is_retryable(err):
                    raise
                log.warning("Livepeer task %s could not be read, trying again: %s", livepeer_task_id, err)
            else:
                yield task
                if task.is_terminal:
                    return
            await asyncio.sleep(self.poll_interval)
