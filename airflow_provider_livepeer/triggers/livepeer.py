"""The trigger that waits for a Livepeer task in Airflow's triggerer."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_livepeer.exceptions import LivepeerError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import Task
from airflow_provider_livepeer.triggers.watcher import LastSeen, PollingTaskWatcher, shared_watcher

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
    :param last_phase: the task's ``status.phase`` as the deferring task last saw it (``None``: only its
        creation was seen).
    :param last_updated_at: its ``status.updatedAt`` then, Unix milliseconds.
    :param last_seen_at: the server's clock of that answer (its ``Date`` header), Unix seconds. With it
        the watcher starts from that look instead of reading the task, also when the trigger is rebuilt
        after a triggerer restart; without it the task is read first.
    """

    def __init__(
        self,
        livepeer_task_id: str,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        poll_interval: float = 30.0,
        end_time: float | datetime | None = None,
        shared_polling: bool = True,
        last_phase: str | None = None,
        last_updated_at: float | None = None,
        last_seen_at: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.livepeer_task_id = livepeer_task_id
        self.livepeer_conn_id = livepeer_conn_id
        self.poll_interval = poll_interval
        self.end_time = _unix_seconds(end_time)
        self.shared_polling = shared_polling
        self.last_seen = None if last_seen_at is None else LastSeen(last_seen_at, last_phase, last_updated_at)

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
                "last_phase": self.last_seen.phase if self.last_seen else None,
                "last_updated_at": self.last_seen.updated_at if self.last_seen else None,
                "last_seen_at": self.last_seen.at if self.last_seen else None,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll through a watcher until the task is terminal or ``end_time`` passes; fire one event."""
        polling = None
        if self.shared_polling:
            watcher = shared_watcher(self.livepeer_conn_id, self.poll_interval)
            updates = watcher.watch(self.livepeer_task_id, self.last_seen, self.poll_interval)
        else:
            polling = PollingTaskWatcher(LivepeerHook(self.livepeer_conn_id), self.poll_interval)
            updates = polling.watch(self.livepeer_task_id, self.last_seen)
        try:
            yield TriggerEvent(await self._outcome(updates))  # type: ignore[no-untyped-call]
        finally:
            await updates.aclose()
            if polling is not None:
                await polling.hook.aclose()

    async def _outcome(self, updates: AsyncGenerator[Task, None]) -> dict[str, Any]:
        remaining = None if self.end_time is None else self.end_time - time.time()
        try:
            if remaining is not None and remaining <= 0:
                raise TimeoutError
            return await _within(self._follow(updates), remaining)
        except TimeoutError:
            return self._event("timeout", f"Livepeer task {self.livepeer_task_id} did not finish in time")

    async def _follow(self, updates: AsyncGenerator[Task, None]) -> dict[str, Any]:
        try:
            async for task in updates:
                self.log.info(task.describe())
                if task.is_terminal:
                    status = "failed" if task.is_failed else "success"
                    return self._event(status, task.describe(), result=task.result().model_dump(mode="json"))
        except (LivepeerError, ValueError) as err:
            return self._event("error", str(err))
        return self._event(
            "error", f"The updates of Livepeer task {self.livepeer_task_id} ended before it did"
        )

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


async def _within(wait: Coroutine[Any, Any, dict[str, Any]], seconds: float | None) -> dict[str, Any]:
    """Await ``wait`` for at most ``seconds`` (``None``: no limit); raises ``TimeoutError``.

    Without a task of its own (``asyncio.timeout``, not ``wait_for``): one object fewer per waiting trigger.
    """
    if seconds is None:
        return await wait
    async with asyncio.timeout(seconds):
        return await wait
