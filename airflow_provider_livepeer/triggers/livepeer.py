"""Triggers: one that waits for a Livepeer task, and an event trigger for ``AssetWatcher`` (Airflow 3.0+)."""

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
from airflow_provider_livepeer.models import Task, TaskPhase
from airflow_provider_livepeer.triggers.shared_watcher import shared_watcher
from airflow_provider_livepeer.triggers.watcher import LastSeen, PollingTaskWatcher, TaskWatcher
from airflow_provider_livepeer.version_compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_VERSION_STRING,
    log_feature_unavailable,
)

if AIRFLOW_V_3_0_PLUS:
    from airflow.triggers.base import BaseEventTrigger as _EventTriggerBase
else:  # Airflow 2: the module imports; making the event trigger says which Airflow it needs
    _EventTriggerBase = BaseTrigger  # type: ignore[misc,assignment]

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
        :class:`~airflow_provider_livepeer.triggers.shared_watcher.SharedTaskWatcher`, one list request per
        interval for all the triggers waiting on it (the default); ``False`` reads this task directly
        every interval.
    :param last_phase: the task's ``status.phase`` as the deferring task last saw it (``None``: only its
        creation was seen).
    :param last_updated_at: its ``status.updatedAt`` then, Unix milliseconds.
    :param last_seen_at: the server's clock of that answer (its ``Date`` header), Unix seconds. With it
        the watcher starts from that look instead of reading the task, also when the trigger is rebuilt
        after a triggerer restart; without it the task is read first.
    :param not_found_until: for a task made (or first read) moments ago: until this Unix time a 404 is
        Livepeer's read replica not showing it yet, and the task is read again at the next poll.
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
        not_found_until: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.livepeer_task_id = livepeer_task_id
        self.livepeer_conn_id = livepeer_conn_id
        self.poll_interval = poll_interval
        self.end_time = _unix_seconds(end_time)
        self.shared_polling = shared_polling
        self.last_seen = None if last_seen_at is None else LastSeen(last_seen_at, last_phase, last_updated_at)
        self.not_found_until = not_found_until

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
                "not_found_until": self.not_found_until,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll through a watcher until the task is terminal or ``end_time`` passes; fire one event."""
        polling = None if self.shared_polling else PollingTaskWatcher(LivepeerHook(self.livepeer_conn_id))
        watcher: TaskWatcher = polling or shared_watcher(self.livepeer_conn_id, self.poll_interval)
        # The watchers log through the trigger's logger: Airflow writes that to the task's log.
        updates = watcher.watch(
            self.livepeer_task_id, self.last_seen, self.poll_interval, self.log, self.not_found_until
        )
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


class LivepeerTaskEventTrigger(_EventTriggerBase):
    """For ``AssetWatcher``: one event per Livepeer task that reaches one of ``phases`` (Airflow 3.0+).

    It watches the whole account of the connection through the connection's
    :class:`~airflow_provider_livepeer.triggers.shared_watcher.SharedTaskWatcher` (the list request it
    makes every interval serves the waiting sensors and operators too), and fires for each task of one of
    ``task_types`` whose ``status.updatedAt`` shows it reached one of ``phases`` after the watcher started:
    tasks that got there earlier are not replayed. The event is ``{"livepeer_task_id", "type", "phase",
    "output_asset_id", "asset_spec"}``; an ``AssetWatcher`` makes it an asset event of its Asset, whose
    ``extra`` a scheduled DAG reads (``triggering_asset_events``).

    Across a triggerer restart: on Airflow 3.3+ the trigger keeps its watermark (the latest ``updatedAt``
    it fired for, and the ids fired at the edge of the list's window) in the watched Asset's state store,
    so a restarted trigger fires for what finished meanwhile, and for nothing twice. Before 3.3 there is
    no store: a restarted trigger starts from its restart, so a task that finished while no triggerer ran
    fires no event (and none fires twice).

    :param livepeer_conn_id: the ``livepeer`` connection.
    :param task_types: the Livepeer task types (``upload`` for imports and direct uploads, ``export``,
        ``transcode-file``, ``clip``, ...).
    :param phases: the phases that fire (``completed``, ``failed``, ``cancelled``, ...).
    :param poll_interval: seconds between list requests (shared: the shortest of the connection's waiters).
    """

    #: The keys of the watermark in the Asset's state store.
    STATE_WATERMARK = "livepeer_watermark_ms"
    STATE_FIRED = "livepeer_fired_task_ids"

    def __init__(
        self,
        livepeer_conn_id: str = LivepeerHook.default_conn_name,
        task_types: list[str] | None = None,
        phases: list[str] | None = None,
        poll_interval: float = 30.0,
    ) -> None:
        if not AIRFLOW_V_3_0_PLUS:
            raise RuntimeError(
                "LivepeerTaskEventTrigger needs Airflow 3.0 or newer (BaseEventTrigger, AssetWatcher); "
                f"this is Airflow {AIRFLOW_VERSION_STRING}. On Airflow 2, schedule on the Datasets the "
                "operators and the sensor publish (airflow_asset_alias) instead."
            )
        super().__init__()  # type: ignore[no-untyped-call]
        self.livepeer_conn_id = livepeer_conn_id
        self.task_types = list(task_types) if task_types is not None else ["upload"]
        self.phases = list(phases) if phases is not None else [TaskPhase.COMPLETED.value]
        self.poll_interval = poll_interval
        for name, values in (("task_types", self.task_types), ("phases", self.phases)):
            if not values or not all(isinstance(value, str) and value for value in values):
                raise ValueError(
                    f"Invalid {name} {values!r}: expected a non-empty list of non-empty strings."
                )

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the JSON-safe arguments the triggerer rebuilds the trigger from."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "livepeer_conn_id": self.livepeer_conn_id,
                "task_types": self.task_types,
                "phases": self.phases,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Follow the account's changes; fire once per task that reached a wanted phase."""
        watcher = shared_watcher(self.livepeer_conn_id, self.poll_interval)
        window_ms = watcher.overlap * 1000
        kept = await self._load_watermark()
        if kept is None:
            # From now on: what finished earlier is not news.
            watermark, fired = time.time() * 1000, set[str]()
            floor = watermark
        else:
            watermark, fired = kept
            floor = watermark - window_ms  # changes stamped a little late may still come in
        self.log.info(
            "Watching Livepeer for %s tasks reaching %s, from %s (Unix ms)",
            self.task_types,
            self.phases,
            floor,
        )
        changes = watcher.follow(floor / 1000, self.poll_interval)
        try:
            async for task in changes:
                updated_at = task.updated_at
                if (
                    task.type not in self.task_types
                    or task.phase not in self.phases
                    or updated_at is None
                    or updated_at <= floor
                    or task.id in fired
                ):
                    continue
                fired.add(task.id)
                watermark = max(watermark, updated_at)
                yield TriggerEvent(self._event(task))  # type: ignore[no-untyped-call]
                await self._save_watermark(watermark, fired)
        finally:
            await changes.aclose()

    @staticmethod
    def _event(task: Task) -> dict[str, Any]:
        return {
            "livepeer_task_id": task.id,
            "type": task.type,
            "phase": task.phase,
            "output_asset_id": task.output_asset_id,
            "asset_spec": task.asset_spec,
        }

    def _state_store(self) -> Any:
        """The watched Asset's state store (Airflow 3.3+, injected by the triggerer), or ``None``."""
        store = getattr(self, "asset_state_store", None)
        if store is None:
            log_feature_unavailable(
                self.log,
                "Keeping the Livepeer event trigger's watermark across restarts (asset state store)",
                "3.3",
                "a task that finishes while no triggerer runs fires no event",
            )
        return store

    async def _load_watermark(self) -> tuple[float, set[str]] | None:
        store = self._state_store()
        if store is None:
            return None
        try:
            watermark = await store.aget(self.STATE_WATERMARK)
            fired = await store.aget(self.STATE_FIRED, [])
        except ValueError as err:  # the trigger watches several Assets: no single store to keep it in
            self.log.warning("No single Asset state store to keep the watermark in: %s", err)
            self.asset_state_store = None
            return None
        if not isinstance(watermark, (int, float)):
            return None
        return float(watermark), {str(task_id) for task_id in fired or []}

    async def _save_watermark(self, watermark: float, fired: set[str]) -> None:
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return
        await store.aset(self.STATE_FIRED, sorted(fired))
        await store.aset(self.STATE_WATERMARK, watermark)
