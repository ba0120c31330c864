"""The trigger that waits for a Livepeer task in Airflow's triggerer."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_livepeer.exceptions import LivepeerError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import Task
from airflow_provider_livepeer.triggers.watcher import PollingTaskWatcher, TaskWatcher, shared_watcher

#: The statuses of the events the trigger fires; exactly one per run.
EVENT_STATUSES = ("success", "failed", "timeout", "error")


class LivepeerTaskTrigger(BaseTrigger):
    """Wait in the triggerer until a Livepeer task is terminal, then fire one event.

    The event is ``{"status": ..., "livepeer_task_id": ..., "message": ...}`` with ``status`` one of
    ``success`` (the task completed), ``failed`` (it ended ``failed`` or ``cancelled``), ``timeout``
    (``end_time`` passed first) or ``error`` (Livepeer refused to answer: 401, 403, 404, a malformed
    answer). ``success`` and ``failed`` events also carry ``result``, the task's
    :class:`~airflow_provider_livepeer.models.TaskResult`.

    :param livepeer_task_id: the Livepeer task id.
    :param livepeer_conn_id: the ``livepeer`` connection; the key is read from it in the triggerer,
        never carried in the trigger's arguments.
    :param poll_interval: seconds between polls.
    :param end_time: when to give up with a ``timeout`` event: Unix seconds, or a timezone-aware
        ``datetime`` (kept as Unix seconds); ``None`` waits forever.
    :param shared_polling: learn of changes through the connection's
        :class:`~airflow_provider_livepeer.triggers.watcher.SharedTaskWatcher`, one list request per
        interval for all the triggers waiting on it (the default); ``False`` reads this task directly
        every interval.
    """

    def __init__(
        self,
        livepeer_task_id: str,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        poll_interval: float = 30.0,
        end_time: float | datetime | None = None,
        shared_polling: bool = True,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.livepeer_task_id = livepeer_task_id
        self.livepeer_conn_id = livepeer_conn_id
        self.poll_interval = poll_interval
        self.end_time = _unix_seconds(end_time)
        self.shared_polling = shared_polling

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-safe arguments the triggerer rebuilds the trigger from."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "livepeer_task_id": self.livepeer_task_id,
                "livepeer_conn_id": self.livepeer_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "shared_polling": self.shared_polling,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll through a watcher until the task is terminal or ``end_time`` passes; fire one event."""
        watcher: TaskWatcher
        if self.shared_polling:
            watcher = shared_watcher(self.livepeer_conn_id, self.poll_interval)
        else:
            watcher = PollingTaskWatcher(LivepeerHook(self.livepeer_conn_id), self.poll_interval)
        updates = watcher.watch(self.livepeer_task_id)
        try:
            yield TriggerEvent(await self._outcome(updates))  # type: ignore[no-untyped-call]
        finally:
            await updates.aclose()
            if isinstance(watcher, PollingTaskWatcher):
                await watcher.hook.aclose()

    async def _outcome(self, updates: AsyncGenerator[Task, None]) -> dict[str, Any]:
        while True:
            remaining = None if self.end_time is None else self.end_time - time.time()
            try:
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                task = await asyncio.wait_for(updates.__anext__(), remaining)
            except TimeoutError:
                return self._event("timeout", f"Livepeer task {self.livepeer_task_id} did not finish in time")
            except (LivepeerError, ValueError) as err:
                return self._event("error", str(err))
            self.log.info(task.describe())
            if task.is_terminal:
                status = "failed" if task.is_failed else "success"
                return self._event(status, task.describe(), result=task.result().model_dump(mode="json"))

    def _event(self, status: str, message: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "livepeer_task_id": self.livepeer_task_id, "message": message, **extra}


def _unix_seconds(end_time: object) -> float | None:
    """The trigger's ``end_time`` as Unix seconds, checked when the trigger is made, not in the triggerer."""
    if end_time is None:
        return None
    if isinstance(end_time, datetime):
        if end_time.tzinfo is None or end_time.utcoffset() is None:
            raise ValueError(
                f"Invalid end_time {end_time!r}: a naive datetime is ambiguous; expected Unix seconds or a "
                "timezone-aware datetime (e.g. datetime.now(timezone.utc) + timedelta(hours=1))."
            )
        return end_time.timestamp()
    if isinstance(end_time, (int, float)) and not isinstance(end_time, bool) and math.isfinite(end_time):
        return float(end_time)
    raise ValueError(
        f"Invalid end_time {end_time!r} ({type(end_time).__name__}): expected Unix seconds (a finite "
        "number), a timezone-aware datetime, or None."
    )
