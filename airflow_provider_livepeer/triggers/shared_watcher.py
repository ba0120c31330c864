"""The shared watcher: one list request per interval tells every trigger of a connection what changed."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
import weakref
from collections import Counter
from collections.abc import AsyncGenerator

from airflow_provider_livepeer.exceptions import (
    LivepeerError,
    LivepeerInvalidRequestError,
    LivepeerPermissionError,
    is_replica_lag,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.http import Logger, is_retryable
from airflow_provider_livepeer.models import Task
from airflow_provider_livepeer.triggers.direct_reads import DirectReads
from airflow_provider_livepeer.triggers.list_window import ListWindow
from airflow_provider_livepeer.triggers.watched_index import Tracking, Watched, WatchedIndex
from airflow_provider_livepeer.triggers.watched_tasks import (
    UNLISTED,
    Feed,
    Notice,
    Subscriber,
    see,
    start_from,
)
from airflow_provider_livepeer.triggers.watcher import UNREADABLE, LastSeen
from airflow_provider_livepeer.validation import validate_livepeer_id

_LOG = logging.getLogger(__name__)


class SharedTaskWatcher:
    """One poller per connection in the triggerer, serving every trigger that waits on that connection.

    Each interval it asks ``GET /api/task`` for the account's tasks updated since its last look (one
    request, a few with more than 1000 changes), and hands each change to the triggers waiting on that
    task (:meth:`watch`) and to followers of every change (:meth:`follow`, for event triggers), so N
    waiting triggers cost about one request per interval instead of N. The time filter starts from the
    server's own clock (its ``Date`` header) minus ``overlap`` seconds, so changes stamped a little late
    are not missed; a subscriber only hears of a task when it changed. A trigger says what it last saw
    (:class:`~airflow_provider_livepeer.triggers.watcher.LastSeen`), and the watcher starts from there,
    without a read. How each task is tracked, and the requests each way costs (a first read, catch-up
    pages, the shared list, direct reads of tasks the list does not show), is the state machine of
    :class:`~airflow_provider_livepeer.triggers.watched_index.Tracking`; which tasks are read directly,
    and when, is :class:`~airflow_provider_livepeer.triggers.direct_reads.DirectReads`. If Livepeer
    refuses the filtered list (400), or the list at all (403, to a browser key with restricted access),
    every task is read directly instead, and the log says so once. A direct read's 404 within the grace
    after a task's creation (``not_found_until``) is Livepeer's replica lagging: the task is read again. The
    watcher polls at the shortest interval of the triggers it serves, and stops, and is forgotten, when
    its last subscriber leaves.

    Use :func:`shared_watcher` to get the one for a connection.

    :param livepeer_conn_id: the connection.
    :param poll_interval: seconds between list calls until subscribers say otherwise.
    """

    #: Seconds subtracted from the server's clock when asking what changed since the last look.
    overlap: float = 5.0
    #: Intervals without a mention before a task gets a direct read.
    safety_net_polls: int = 10
    #: The most direct safety-net reads per interval.
    safety_net_batch: int = 10
    #: The most direct reads per interval of tasks the list does not show.
    unlisted_batch: int = 50
    #: List pages (1000 tasks each) one poll reads in all, its window's included, when it reaches back to
    #: tasks last seen before that window (the window itself is read whole, whatever its pages).
    catch_up_pages: int = 5
    #: The most direct reads (first looks, safety net, fallback) under way at once.
    reads_in_flight: int = 8
    #: Tasks per list page.
    page_size: int = 1000

    def __init__(self, livepeer_conn_id: str, poll_interval: float) -> None:
        self.livepeer_conn_id = livepeer_conn_id
        self.poll_interval = poll_interval
        self.hook = LivepeerHook(livepeer_conn_id)
        self.watched = WatchedIndex(self.safety_net_polls)
        self.feeds: list[Feed] = []
        #: How many current subscribers asked for each poll interval.
        self._intervals: Counter[float] = Counter()
        self.per_task_fallback = False
        self.window = ListWindow(self.overlap)
        self._wake = asyncio.Event()
        self._reads = asyncio.Semaphore(self.reads_in_flight)
        self._loop_task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def direct_reads(self) -> DirectReads:
        """Which tasks to read directly, by this watcher's limits."""
        return DirectReads(self.unlisted_batch, self.safety_net_batch)

    async def watch(
        self,
        livepeer_task_id: str,
        last_seen: LastSeen | None,
        poll_interval: float,
        log: Logger,
        not_found_until: float | None = None,
    ) -> AsyncGenerator[Task, None]:
        """Yield the task each time it changes, until it is terminal.

        See :class:`~airflow_provider_livepeer.triggers.watcher.TaskWatcher`: the watcher polls at the
        shortest ``poll_interval`` of its subscribers, and logs what concerns this task (a failed read, a
        task the list does not show) through ``log``.
        """
        validate_livepeer_id(livepeer_task_id)
        if self._stopped:
            # This watcher stopped between being handed out and this first step (its last other
            # subscriber left meanwhile): follow the task through the connection's current one.
            async for task in shared_watcher(self.livepeer_conn_id, poll_interval).watch(
                livepeer_task_id, last_seen, poll_interval, log, not_found_until
            ):
                yield task
            return
        subscriber = Subscriber(poll_interval)
        try:
            self._subscribe(livepeer_task_id, subscriber, last_seen, not_found_until)
            while True:
                item = await subscriber.get()
                if isinstance(item, Notice):
                    item.emit(log)
                    continue
                if isinstance(item, Exception):
                    raise item
                yield item
                if item.is_terminal:
                    return
        finally:
            self._unsubscribe(livepeer_task_id, subscriber)

    async def follow(self, since: float, poll_interval: float | None = None) -> AsyncGenerator[Task, None]:
        """Yield every task of the account that the list shows changed after ``since``, as long as asked.

        A task may be yielded more than once (the list's window overlaps, and a task changes more than
        once): the follower decides what is news. Permanent list errors (401, 403) are raised.

        :param since: the server's clock (Unix seconds) from which changes are wanted.
        :param poll_interval: how often this follower wants the list read.
        """
        interval = self.poll_interval if poll_interval is None else poll_interval
        if self._stopped:
            async for task in shared_watcher(self.livepeer_conn_id, interval).follow(since, interval):
                yield task
            return
        feed = Feed(Subscriber(interval), since)
        self.feeds.append(feed)
        self._intervals[interval] += 1
        self._set_interval()
        self._start_polling()
        try:
            while True:
                item = await feed.subscriber.get()
                if isinstance(item, Exception):
                    raise item
                if isinstance(item, Task):  # a feed is handed no notices
                    yield item
        finally:
            self.feeds.remove(feed)
            self._forget_interval(interval)
            self._stop_if_idle()

    def _start_polling(self) -> None:
        """Run the poller, if it is not running, and have it look again now."""
        if self._loop_task is None or self._loop_task.done():
            # A fresh context: the poller serves every trigger of the connection, so it must not inherit
            # the log context Airflow binds to the trigger that happened to start it (its lines, and the
            # hook's retries, would land in that one task's log).
            self._loop_task = asyncio.get_running_loop().create_task(
                self._run(), context=contextvars.Context()
            )
        self._wake.set()

    def _forget_interval(self, interval: float) -> None:
        self._intervals[interval] -= 1
        if not self._intervals[interval]:
            del self._intervals[interval]

    def _stop_if_idle(self) -> None:
        if not self.watched and not self.feeds:
            self._stop()
        else:
            self._set_interval()

    def _fail_all(self, error: Exception) -> None:
        """End every wait and feed with ``error``."""
        for task_id in list(self.watched):
            self._notify(task_id, error)
        for feed in self.feeds:
            feed.subscriber.put(error)

    def _subscribe(
        self,
        livepeer_task_id: str,
        subscriber: Subscriber,
        last_seen: LastSeen | None,
        not_found_until: float | None,
    ) -> None:
        watched = self.watched.get(livepeer_task_id)
        if watched is None:
            watched = self.watched.add(livepeer_task_id)
            try:
                at = start_from(watched, last_seen)
            except Exception:
                self.watched.remove(
                    livepeer_task_id
                )  # a last look it cannot start from leaves nothing behind
                raise
            if at is not None:
                self._seen(watched, at)
        watched.subscribers.append(subscriber)
        if not_found_until is not None:
            watched.not_found_until = max(watched.not_found_until or 0.0, not_found_until)
        self._intervals[subscriber.poll_interval] += 1
        if watched.last is not None:
            # Another trigger already follows this task: the newcomer starts from what it last saw.
            subscriber.put(watched.last)
        self._set_interval()
        self._start_polling()

    def _seen(self, watched: Watched, at: float) -> None:
        """The task's state is known as of ``at``: ``COVERED`` if the list's window already reaches back."""
        watched.seen_at = at
        if watched.tracking is Tracking.UNLISTED:
            return  # read directly every interval, until the list shows it
        # While a list is under way its earlier pages went by unseen by this task: the next one covers it.
        watched.tracking = Tracking.COVERED if self.window.covers(at) else Tracking.BEHIND

    def _unsubscribe(self, livepeer_task_id: str, subscriber: Subscriber) -> None:
        watched = self.watched.get(livepeer_task_id)
        if watched is not None and subscriber in watched.subscribers:
            watched.subscribers.remove(subscriber)
            self._forget_interval(subscriber.poll_interval)
            if not watched.subscribers:
                self.watched.remove(livepeer_task_id)
        self._stop_if_idle()

    def _set_interval(self) -> None:
        """Poll at the shortest interval any current subscriber asked for."""
        shortest = min(self._intervals)  # a handful of distinct intervals, however many subscribers
        if shortest != self.poll_interval:
            self.poll_interval = shortest
            self._wake.set()

    def _stop(self) -> None:
        """Stop for good: a later subscriber gets a new watcher from :func:`shared_watcher`."""
        self._stopped = True
        _forget(self)
        if self._loop_task is not None:
            self._loop_task.cancel()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        # The first list goes out at once: triggers rebuilt after a restart learn what they missed.
        last_list = loop.time() - self.poll_interval
        reads: set[asyncio.Task[None]] = set()
        try:
            while self.watched or self.feeds:
                if loop.time() >= last_list + self.poll_interval:
                    last_list = loop.time()
                    await self._poll()
                for task_id in self.direct_reads.start(self.watched):
                    reads.add(loop.create_task(self._read_limited(task_id)))
                reads = {read for read in reads if not read.done()}
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    wait = max(0.0, last_list + self.poll_interval - loop.time())
                    await asyncio.wait_for(self._wake.wait(), wait)
        except Exception as err:
            # Whatever stops the poller must end the waits it serves, or they would hang to their timeout.
            _LOG.exception("The shared Livepeer watcher of connection %r stopped", self.livepeer_conn_id)
            self._fail_all(err)
            self._stopped = True
            _forget(self)
        finally:
            for read in reads:
                read.cancel()
            await self.hook.aclose()

    async def _read_all(self, task_ids: list[str]) -> None:
        await asyncio.gather(*(self._read_limited(task_id) for task_id in task_ids))

    async def _read_limited(self, livepeer_task_id: str) -> None:
        """Read a task directly, a few at a time: a thousand new triggers must not send a thousand at once."""
        async with self._reads:
            await self._read(livepeer_task_id)

    async def _read(self, livepeer_task_id: str) -> None:
        """Read one task and hand what the read gave, task or error, to that task's subscribers alone.

        It never raises: the first looks run as tasks of their own, whose errors nobody would see, and the
        other reads run together in a ``gather``, where one task's error would stop the others'.
        """
        try:
            task = await self.hook.aget_task(livepeer_task_id)
        except Exception as err:  # a Livepeer error, a bad id or connection setting, or anything else
            if not isinstance(err, (LivepeerError, ValueError)):
                # A bug's: it ends this task's wait alone, and its traceback goes to the triggerer's log.
                _LOG.exception("Reading Livepeer task %s failed unexpectedly", livepeer_task_id)
            watched = self.watched.get(livepeer_task_id)
            if not is_retryable(err) and not is_replica_lag(
                err, watched.not_found_until if watched else None
            ):
                self._notify(livepeer_task_id, err)
                return
            self._notify(livepeer_task_id, Notice("warning", UNREADABLE, (livepeer_task_id, err)))
            if watched is not None and watched.tracking is Tracking.READING:
                watched.tracking = Tracking.UNREAD  # tried again at the next round
            return
        watched = self.watched.get(livepeer_task_id)
        if watched is not None:
            self._seen(watched, task.answered_at if task.answered_at is not None else time.time())
        self._deliver(task)

    async def _poll(self) -> None:
        if self.per_task_fallback:
            await self._read_all(self.direct_reads.instead_of_list(self.watched))
            return
        self.watched.next_round()
        try:
            unlisted = await self.window.list_round(
                self.hook, self.watched, self.feeds, self.page_size, self.catch_up_pages
            )
        except LivepeerError as err:
            # A 403 is the list refused to a browser (CORS) key, which may still read single tasks.
            refused = isinstance(err, LivepeerPermissionError)
            if refused or (isinstance(err, LivepeerInvalidRequestError) and err.status == 400):
                self.per_task_fallback = True
                _LOG.warning(
                    "Livepeer refused the filtered task list (%s); reading each of the %d waiting tasks "
                    "directly from now on",
                    err,
                    len(self.watched),
                )
                await self._read_all(self.direct_reads.instead_of_list(self.watched))
                return
            if not is_retryable(err):
                self._fail_all(err)
                return
            _LOG.warning("Livepeer's task list could not be read, trying again next interval: %s", err)
            return
        if unlisted is not None:
            for task_id in unlisted:
                self._notify(task_id, Notice("info", UNLISTED, (task_id,)))
            await self._read_all(self.direct_reads.after_list(self.watched))

    def _deliver(self, task: Task) -> None:
        watched = self.watched.get(task.id)
        if watched is not None:
            see(watched, task.status, lambda: task)

    def _notify(self, livepeer_task_id: str, item: Exception | Notice) -> None:
        """Hand an error or a line to log to the task's subscribers."""
        watched = self.watched.get(livepeer_task_id)
        if watched is not None:
            for subscriber in watched.subscribers:
                subscriber.put(item)


_WATCHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, SharedTaskWatcher]] = (
    weakref.WeakKeyDictionary()
)


def shared_watcher(livepeer_conn_id: str, poll_interval: float) -> SharedTaskWatcher:
    """The shared watcher of a connection in the running event loop (the triggerer's), made on first use.

    Triggers with different poll intervals on one connection share it; it polls at the shortest of those
    it serves (``poll_interval`` is its interval until its first subscriber says otherwise).
    """
    watchers = _WATCHERS.setdefault(asyncio.get_running_loop(), {})
    watcher = watchers.get(livepeer_conn_id)
    if watcher is None:
        watcher = watchers[livepeer_conn_id] = SharedTaskWatcher(livepeer_conn_id, poll_interval)
    return watcher


def _forget(watcher: SharedTaskWatcher) -> None:
    watchers = _WATCHERS.get(asyncio.get_running_loop(), {})
    if watchers.get(watcher.livepeer_conn_id) is watcher:
        del watchers[watcher.livepeer_conn_id]
