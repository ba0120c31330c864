"""What the shared watcher knows of each task it follows, who waits for it, and how news reaches them.

The bookkeeping of :class:`~airflow_provider_livepeer.triggers.shared_watcher.SharedTaskWatcher`: the
:class:`Subscriber` triggers of each watched task (:mod:`.watched_index` keeps the tasks), the
:class:`Feed` of each event trigger, and the rules that decide when a task seen again is news.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_livepeer.http import Logger
from airflow_provider_livepeer.models import TERMINAL_PHASES, Task, TaskPage, TaskStatus
from airflow_provider_livepeer.triggers.watched_index import Tracking, Watched, WatchedIndex
from airflow_provider_livepeer.triggers.watcher import LastSeen

#: What the shared watcher logs, through a task's triggers, once the list has left that task out.
UNLISTED = (
    "Livepeer task %s is not in this key's task list (a task of another project?): "
    "reading it directly every interval"
)


@dataclass(frozen=True)
class Notice:
    """A line the shared watcher logs on behalf of a task's triggers.

    It is handed to each of them like an update, and each logs it from its own coroutine, through its own
    logger: Airflow writes what a trigger logs to its task's log, while the watcher's own coroutine
    serves the triggers of many tasks.
    """

    level: Literal["info", "warning"]
    message: str
    args: tuple[Any, ...]

    def emit(self, log: Logger) -> None:
        (log.warning if self.level == "warning" else log.info)(self.message, *self.args)


@dataclass(eq=False)
class Subscriber:
    """One waiting trigger: the updates not yet taken, and how often it asked to poll.

    A list and a future made while waiting, rather than an ``asyncio.Queue`` (seven objects, for a
    thousand waiting triggers): fewer objects for the garbage collector to walk.
    """

    poll_interval: float
    pending: list[Task | Exception | Notice] = field(default_factory=list)
    waiter: asyncio.Future[None] | None = None

    def put(self, item: Task | Exception | Notice) -> None:
        self.pending.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> Task | Exception | Notice:
        while not self.pending:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.pending.pop(0)


@dataclass(eq=False)
class Feed:
    """One follower of every change the list shows (an event trigger), from ``since`` on."""

    subscriber: Subscriber
    #: The server's clock (Unix seconds) from which it wants the account's changes.
    since: float
    #: Whether a list has reached back to ``since``: from then on the regular window serves it.
    covered: bool = False


def start_from(watched: Watched, last_seen: LastSeen | None) -> float | None:
    """Take a subscriber's last look as the task's first, or ask for a read when there is none.

    :returns: the server's clock of that look, or ``None`` when the task is to be read first.
    """
    if last_seen is None or (last_seen.phase is not None and _is_terminal(last_seen.phase)):
        return None  # nothing to start from (a finished task is read for its result): it stays UNREAD
    watched.seen_phase = last_seen.phase
    if last_seen.updated_at is not None:
        watched.updated_at = last_seen.updated_at / 1000
    elif last_seen.phase is None:
        # Only its creation was seen, in that answer: it was stamped then (to the Date's second).
        watched.updated_at = last_seen.at
    return last_seen.at


def see(watched: Watched, status: TaskStatus, whole: Callable[[], Task], listed: bool = False) -> None:
    """The task is seen with ``status``: hand it (``whole()``) to its subscribers if it changed.

    :param listed: seen in the list, whose later rounds need not look for it (see
        :meth:`~.watched_index.Watched.learn_updated_at`).
    """
    watched.mention()
    if status.updated_at is not None:
        watched.learn_updated_at(status.updated_at / 1000, listed)
    state = state_of(status)
    if watched.state is not None:
        changed = state != watched.state
    else:
        # Seen for the first time here: news unless it is still what the subscriber last saw.
        changed = watched.seen_phase is None or status.phase != watched.seen_phase
    if not changed:
        return
    # Kept only when it changed: a new tuple per progress report would outlive the young generations and
    # bring on full collections of the triggerer's heap.
    watched.state = state
    task = watched.last = whole()
    for subscriber in watched.subscribers:
        subscriber.put(task)


def take_page(
    page: TaskPage, watched: WatchedIndex, feeds: Iterable[Feed], mentioned: set[str]
) -> float | None:
    """Hand a list page's changes to the feeds and the watched tasks, noting which tasks it mentioned.

    :returns: the page's oldest ``updatedAt``, in seconds.
    """
    states = page.states()
    feeds = list(feeds)
    if feeds:
        for index in range(len(states)):
            task = page.task(index)
            for feed in feeds:
                feed.subscriber.put(task)
    unlisted = Tracking.UNLISTED  # looked up once per page, not per task
    for index, state in enumerate(states):
        known = watched.get(state.id)
        if known is not None:
            mentioned.add(state.id)
            if known.tracking is unlisted:
                known.tracking = Tracking.COVERED
            # Only a task that changed is parsed whole, to be handed on.
            see(known, state.status, functools.partial(page.task, index), listed=True)
    updated = states[-1].status.updated_at if states else None
    return None if updated is None else updated / 1000


def _is_terminal(phase: str) -> bool:
    return phase in {p.value for p in TERMINAL_PHASES}


def state_of(status: TaskStatus) -> tuple[Any, ...]:
    """What a waiting trigger acts on or reports: phase, retries, error.

    Progress ticks are left out: at a thousand running tasks they would be a thousand wake-ups and log
    lines every interval, for no decision.
    """
    return (status.phase, status.retries, status.error_message)
