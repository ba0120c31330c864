"""What the shared watcher knows of each task it follows, who waits for it, and how news reaches them.

The bookkeeping of :class:`~airflow_provider_livepeer.triggers.shared_watcher.SharedTaskWatcher`: a
:class:`Watched` task per Livepeer task id with its :class:`Subscriber` triggers, the :class:`Feed` of
each event trigger, and the rules that decide when a task seen again is news.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from airflow_provider_livepeer.http import Logger
from airflow_provider_livepeer.models import TERMINAL_PHASES, Task, TaskPage, TaskStatus
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


class Tracking(Enum):
    """How the shared watcher keeps track of one watched task, and what that costs.

    ============  ================================================  ==================================
    state         what moves a task into it                         the requests it costs
    ============  ================================================  ==================================
    ``UNREAD``    a trigger with nothing to start from (no last     one direct ``GET /api/task/{id}``,
                  look, or a finished one); a list round that       started at once
                  could not reach back to its last look; a
                  transient failure of that read
    ``READING``   the poller starts the read of an ``UNREAD`` task  that read, under way
    ``BEHIND``    a last look older than the list's window (a       a wider window for the next list
                  trigger rebuilt after a restart), or a read       round: catch-up pages, until the
                  answered while a list round was under way         round has read ``catch_up_pages``
                                                                    in all
    ``COVERED``   a list round reached back to its last look, or    nothing of its own: the shared list;
                  showed it; a read answered inside the list's      after ``safety_net_polls`` rounds
                  window; the list shows an ``UNLISTED`` task       unmentioned, one safety-net read
    ``UNLISTED``  the list answered for a window the task changed   one direct read an interval,
                  in, yet left it out (a task of another project)   until the list shows it again; at
                                                                    most ``unlisted_batch`` tasks an
                                                                    interval, the first watched first
    ============  ================================================  ==================================

    A task leaves the watcher when its last trigger stops waiting (it saw a terminal state, or gave up).
    """

    UNREAD = "unread"
    READING = "reading"
    BEHIND = "behind"
    COVERED = "covered"
    UNLISTED = "unlisted"


@dataclass
class Watched:
    """One watched Livepeer task: who waits for it, how it is tracked (:class:`Tracking`), what is known."""

    subscribers: list[Subscriber] = field(default_factory=list)
    tracking: Tracking = Tracking.UNREAD
    #: The task as last handed to the subscribers.
    last: Task | None = None
    #: What the watcher compares (see :func:`state_of`), as last seen.
    state: tuple[Any, ...] | None = None
    #: The phase a subscriber last saw, until the watcher sees the task itself.
    seen_phase: str | None = None
    #: The server's clock at the latest answer that showed the task's state (or its creation).
    seen_at: float | None = None
    #: The task's ``status.updatedAt`` as last known, Unix seconds.
    updated_at: float | None = None
    #: List rounds since the list last showed the task.
    unmentioned_polls: int = 0
    #: Until this Unix time a 404 on a direct read is Livepeer's replica lagging: read again next round.
    not_found_until: float | None = None


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


def see(watched: Watched, status: TaskStatus, whole: Callable[[], Task]) -> None:
    """The task is seen with ``status``: hand it (``whole()``) to its subscribers if it changed."""
    watched.unmentioned_polls = 0
    if status.updated_at is not None:
        watched.updated_at = status.updated_at / 1000
    state = state_of(status)
    if watched.state is not None:
        changed = state != watched.state
    else:
        # Seen for the first time here: news unless it is still what the subscriber last saw.
        changed = watched.seen_phase is None or status.phase != watched.seen_phase
    watched.state = state
    if not changed:
        return
    task = watched.last = whole()
    for subscriber in watched.subscribers:
        subscriber.put(task)


def take_page(
    page: TaskPage, watched: dict[str, Watched], feeds: Iterable[Feed], mentioned: set[str]
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
            see(known, state.status, functools.partial(page.task, index))
    updated = states[-1].status.updated_at if states else None
    return None if updated is None else updated / 1000


def mark_unlisted(
    watched: dict[str, Watched], mentioned: set[str], since: float, answered_at: float
) -> list[str]:
    """Mark the tasks the list should have shown and did not (see the shared watcher's docs).

    :param since: the start of the window the list was asked for.
    :param answered_at: the server's clock when the list answered (whole seconds, so no later than the
        moment it looked), the list having been read back to the window's start.
    :returns: the tasks marked now, not before.
    """
    marked = []
    for task_id, known in watched.items():
        updated_at = known.updated_at
        if task_id in mentioned or updated_at is None or not since < updated_at < answered_at:
            continue
        if known.tracking in (Tracking.BEHIND, Tracking.COVERED):
            known.tracking = Tracking.UNLISTED
            marked.append(task_id)
    return marked


def _is_terminal(phase: str) -> bool:
    return phase in {p.value for p in TERMINAL_PHASES}


def state_of(status: TaskStatus) -> tuple[Any, ...]:
    """What a waiting trigger acts on or reports: phase, retries, error.

    Progress ticks are left out: at a thousand running tasks they would be a thousand wake-ups and log
    lines every interval, for no decision.
    """
    return (status.phase, status.retries, status.error_message)
