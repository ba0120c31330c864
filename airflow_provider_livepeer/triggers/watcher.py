"""Watchers: how a trigger learns what became of a Livepeer task.

A trigger asks a watcher for the updates of one task and reacts to each; the watcher decides how to get
them. :class:`PollingTaskWatcher` reads one task directly every interval; :class:`SharedTaskWatcher`
serves every trigger of a connection with one list request per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_livepeer.api import is_retryable, validate_livepeer_id
from airflow_provider_livepeer.exceptions import LivepeerError, LivepeerInvalidRequestError
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


@dataclass
class _Watched:
    """One watched Livepeer task: who waits for it and what they last saw."""

    queues: list[asyncio.Queue[Task | Exception]] = field(default_factory=list)
    last: Task | None = None
    first_look_done: bool = False
    unmentioned_polls: int = 0


class SharedTaskWatcher:
    """One poller per connection in the triggerer, serving every trigger that waits on that connection.

    Each interval it asks ``GET /api/task`` for the account's tasks updated since its last look (one
    request, a few with more than 1000 changes), and hands each change to the triggers waiting on that
    task, so N waiting triggers cost about one request per interval instead of N. Around that:

    * a newly subscribed task gets one direct ``GET /api/task/{id}`` for its first look;
    * the time filter starts from the server's own clock (its ``Date`` header) minus ``overlap`` seconds,
      so changes stamped a little late, or by a server whose clock lags, are not missed (repeats are
      dropped: a subscriber only hears of a task when it changed);
    * a task the list has not mentioned for ``safety_net_polls`` intervals gets a direct read, at most
      ``safety_net_batch`` per interval, in case the list ever misses a change;
    * if Livepeer refuses the filtered list (400), the watcher reads each task directly instead, and says
      so once in the log;
    * it stops, and is forgotten, when its last subscriber leaves.

    Use :func:`shared_watcher` to get the one for a connection.

    :param livepeer_conn_id: the connection.
    :param poll_interval: seconds between list calls.
    """

    #: Seconds subtracted from the server's clock when asking what changed since the last look.
    overlap: float = 5.0
    #: Intervals without a mention before a task gets a direct read.
    safety_net_polls: int = 10
    #: The most direct safety-net reads per interval.
    safety_net_batch: int = 10
    #: The most direct reads (first looks, safety net, fallback) under way at once: httpx's pool costs CPU
    #: per request that grows with its open connections (2.3 ms per read at 4 in flight, 3.7 ms at 20).
    reads_in_flight: int = 8

    def __init__(self, livepeer_conn_id: str, poll_interval: float) -> None:
        self.livepeer_conn_id = livepeer_conn_id
        self.poll_interval = poll_interval
        self.hook = LivepeerHook(livepeer_conn_id)
        self.watched: dict[str, _Watched] = {}
        self.per_task_fallback = False
        self._since: float | None = None
        self._wake = asyncio.Event()
        self._reads = asyncio.Semaphore(self.reads_in_flight)
        self._loop_task: asyncio.Task[None] | None = None
        self._stopped = False

    async def watch(self, livepeer_task_id: str) -> AsyncGenerator[Task, None]:
        """Yield the task each time it changes, until it is terminal; see :class:`TaskWatcher`."""
        validate_livepeer_id(livepeer_task_id)
        if self._stopped:
            # This watcher stopped between being handed out and this first step (its last other
            # subscriber left meanwhile): follow the task through the connection's current one.
            async for task in shared_watcher(self.livepeer_conn_id, self.poll_interval).watch(
                livepeer_task_id
            ):
                yield task
            return
        queue: asyncio.Queue[Task | Exception] = asyncio.Queue()
        self._subscribe(livepeer_task_id, queue)
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Exception):
                    raise item
                yield item
                if item.is_terminal:
                    return
        finally:
            self._unsubscribe(livepeer_task_id, queue)

    def _subscribe(self, livepeer_task_id: str, queue: asyncio.Queue[Task | Exception]) -> None:
        watched = self.watched.setdefault(livepeer_task_id, _Watched())
        watched.queues.append(queue)
        if watched.last is not None:
            # Another trigger already follows this task: the newcomer starts from what it last saw.
            queue.put_nowait(watched.last)
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.get_running_loop().create_task(self._run())
        self._wake.set()

    def _unsubscribe(self, livepeer_task_id: str, queue: asyncio.Queue[Task | Exception]) -> None:
        watched = self.watched.get(livepeer_task_id)
        if watched is not None and queue in watched.queues:
            watched.queues.remove(queue)
            if not watched.queues:
                del self.watched[livepeer_task_id]
        if not self.watched:
            self._stop()

    def _stop(self) -> None:
        """Stop for good: a later subscriber gets a new watcher from :func:`shared_watcher`."""
        self._stopped = True
        _forget(self)
        if self._loop_task is not None:
            self._loop_task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_list = loop.time() + self.poll_interval
        first_looks: set[asyncio.Task[None]] = set()
        try:
            while self.watched:
                # First looks run beside the polling, so a thousand new triggers do not hold the list back.
                for task_id, watched in self.watched.items():
                    if not watched.first_look_done:
                        watched.first_look_done = True
                        first_looks.add(loop.create_task(self._read_limited(task_id)))
                first_looks = {read for read in first_looks if not read.done()}
                if loop.time() >= next_list:
                    next_list = loop.time() + self.poll_interval
                    await self._poll()
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(0.0, next_list - loop.time()))
        except Exception as err:
            # Whatever stops the poller must end the waits it serves, or they would hang to their timeout.
            log.exception("The shared Livepeer watcher of connection %r stopped", self.livepeer_conn_id)
            for task_id in list(self.watched):
                self._deliver_error(task_id, err)
            self._stopped = True
            _forget(self)
        finally:
            for read in first_looks:
                read.cancel()
            await self.hook.aclose()

    async def _read_all(self, task_ids: list[str]) -> None:
        await asyncio.gather(*(self._read_limited(task_id) for task_id in task_ids))

    async def _read_limited(self, livepeer_task_id: str) -> None:
        """Read a task directly, a few at a time: a thousand new triggers must not send a thousand at once."""
        async with self._reads:
            await self._read(livepeer_task_id)

    async def _read(self, livepeer_task_id: str) -> None:
        try:
            task = await self.hook.aget_task(livepeer_task_id)
        except (LivepeerError, ValueError) as err:  # ValueError: a bad id or connection setting
            if not is_retryable(err):
                self._deliver_error(livepeer_task_id, err)
                return
            log.warning("Livepeer task %s could not be read, trying again: %s", livepeer_task_id, err)
            watched = self.watched.get(livepeer_task_id)
            if watched is not None and watched.last is None:
                watched.first_look_done = False  # the next round tries its first look again
            return
        self._deliver(task)

    async def _poll(self) -> None:
        if self.per_task_fallback:
            await self._read_all(list(self.watched))
            return
        if self._since is None:
            if self.hook.server_time is None:
                return  # no answer yet from the first looks: nothing to measure "since" from
            # The server's clock at a first look: every later change is stamped after it.
            self._since = self.hook.server_time - self.overlap
        for watched in self.watched.values():
            watched.unmentioned_polls += 1
        try:
            await self._list_changes()
        except LivepeerError as err:
            if isinstance(err, LivepeerInvalidRequestError) and err.status == 400:
                self.per_task_fallback = True
                log.warning(
                    "Livepeer refused the filtered task list (%s); reading each of the %d waiting tasks "
                    "directly from now on",
                    err,
                    len(self.watched),
                )
                await self._read_all(list(self.watched))
                return
            if not is_retryable(err):
                for task_id in list(self.watched):
                    self._deliver_error(task_id, err)
                return
            log.warning("Livepeer's task list could not be read, trying again next interval: %s", err)
            return
        stale = sorted(
            (task_id for task_id, w in self.watched.items() if w.unmentioned_polls >= self.safety_net_polls),
            key=lambda task_id: -self.watched[task_id].unmentioned_polls,
        )[: self.safety_net_batch]
        await self._read_all(stale)

    async def _list_changes(self) -> None:
        assert self._since is not None
        filters = [{"id": "updatedAt", "value": {"gt": int(self._since * 1000)}}]
        answered_at = None
        async for task in self.hook.alist_tasks(limit=1000, filters=filters, order="updatedAt-true"):
            answered_at = answered_at or self.hook.server_time
            if task.id in self.watched:
                self._deliver(task)
        answered_at = answered_at or self.hook.server_time
        if answered_at is not None:
            self._since = max(self._since, answered_at - self.overlap)

    def _deliver(self, task: Task) -> None:
        watched = self.watched.get(task.id)
        if watched is None:
            return
        watched.unmentioned_polls = 0
        if watched.last is not None and _state(watched.last) == _state(task):
            return
        watched.last = task
        for queue in watched.queues:
            queue.put_nowait(task)

    def _deliver_error(self, livepeer_task_id: str, error: Exception) -> None:
        for queue in self.watched.get(livepeer_task_id, _Watched()).queues:
            queue.put_nowait(error)


def _state(task: Task) -> tuple[Any, ...]:
    """What a waiting trigger acts on or reports: phase, retries, error.

    Progress ticks are left out: at a thousand running tasks they would be a thousand wake-ups and log
    lines every interval, for no decision.
    """
    return (task.phase, task.retries, task.error_message)


_WATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedTaskWatcher]] = (
    weakref.WeakKeyDictionary()
)


def shared_watcher(livepeer_conn_id: str, poll_interval: float) -> SharedTaskWatcher:
    """The shared watcher of a connection in the running event loop (the triggerer's), made on first use.

    Triggers with different poll intervals on one connection share it; it polls at the shortest.
    """
    watchers = _WATCHERS.setdefault(asyncio.get_running_loop(), {})
    watcher = watchers.get(livepeer_conn_id)
    if watcher is None:
        watcher = watchers[livepeer_conn_id] = SharedTaskWatcher(livepeer_conn_id, poll_interval)
    watcher.poll_interval = min(watcher.poll_interval, poll_interval)
    return watcher


def _forget(watcher: SharedTaskWatcher) -> None:
    watchers = _WATCHERS.get(asyncio.get_running_loop(), {})
    if watchers.get(watcher.livepeer_conn_id) is watcher:
        del watchers[watcher.livepeer_conn_id]
