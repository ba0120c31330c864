"""The shared watcher's watched tasks, indexed so that a polling round costs what changed, not what waits.

A round must not pass over every watched task: at ten thousand idle waits such passes (and the objects
they make) were most of the triggerer's CPU and all of its garbage collections. :class:`WatchedIndex`
keeps, beside the tasks by id, the few tasks in each state that needs action (``UNREAD``, ``BEHIND``,
``UNLISTED``: :class:`Tracking`), the safety net's schedule (a heap keyed by the round a task falls due)
and the tasks whose ``updatedAt`` is recent (a heap keyed by it), so each question of a round looks only
at the tasks it is about.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_livepeer.models import Task
    from airflow_provider_livepeer.triggers.watched_tasks import Subscriber


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
                                                                    interval, in turn
    ============  ================================================  ==================================

    A task leaves the watcher when its last trigger stops waiting (it saw a terminal state, or gave up).
    """

    UNREAD = "unread"
    READING = "reading"
    BEHIND = "behind"
    COVERED = "covered"
    UNLISTED = "unlisted"


#: The states the index lists its tasks by: the few that need action. ``COVERED`` (the bulk) and
#: ``READING`` are only ever looked up by task.
_LISTED = (Tracking.UNREAD, Tracking.BEHIND, Tracking.UNLISTED)


class Watched:
    """One watched Livepeer task: who waits for it, how it is tracked (:class:`Tracking`), what is known.

    Slotted, and made once per task: the watcher keeps thousands of them.

    :param task_id: the Livepeer task id.
    :param index: the index it belongs to, told of its state and ``updatedAt`` changes (``None``: none).
    """

    __slots__ = (
        "_index",
        "_tracking",
        "_updated_at",
        "last",
        "mentioned_round",
        "missed_round",
        "not_found_until",
        "seen_at",
        "seen_phase",
        "state",
        "subscribers",
        "task_id",
    )

    def __init__(
        self,
        task_id: str = "",
        index: WatchedIndex | None = None,
        tracking: Tracking = Tracking.UNREAD,
        updated_at: float | None = None,
    ) -> None:
        self.task_id = task_id
        self._index = index
        self._tracking = tracking
        self._updated_at: float | None = None
        self.subscribers: list[Subscriber] = []
        #: The task as last handed to the subscribers.
        self.last: Task | None = None
        #: What the watcher compares (see :func:`~.watched_tasks.state_of`), as last seen.
        self.state: tuple[Any, ...] | None = None
        #: The phase a subscriber last saw, until the watcher sees the task itself.
        self.seen_phase: str | None = None
        #: The server's clock at the latest answer that showed the task's state (or its creation).
        self.seen_at: float | None = None
        #: The polling round in which the task was last seen (listed, or read directly).
        self.mentioned_round = index.round if index is not None else 0
        #: The round in which a list of several pages last left the task out of its window (-1: none).
        self.missed_round = -1
        #: Until this Unix time a 404 on a direct read is Livepeer's replica lagging: read again next round.
        self.not_found_until: float | None = None
        self.updated_at = updated_at

    @property
    def tracking(self) -> Tracking:
        """How the task is tracked; setting it keeps the index's lists current."""
        return self._tracking

    @tracking.setter
    def tracking(self, state: Tracking) -> None:
        if state is not self._tracking:
            if self._index is not None:
                self._index.moved(self, self._tracking, state)
            self._tracking = state

    @property
    def updated_at(self) -> float | None:
        """The task's ``status.updatedAt`` as last known, Unix seconds."""
        return self._updated_at

    @updated_at.setter
    def updated_at(self, value: float | None) -> None:
        self.learn_updated_at(value, listed=False)

    def learn_updated_at(self, value: float | None, listed: bool) -> None:
        """The task's ``updatedAt`` is ``value``, learnt from the list (``listed``) or from elsewhere.

        Only a value learnt elsewhere (a trigger's last look, a direct read) makes the index check that the
        next list shows the task: the list just showed one it learnt itself. In a busy account that spares
        a heap entry per progress report, which would outlive the young generations.
        """
        if value != self._updated_at:
            self._updated_at = value
            if value is not None and not listed and self._index is not None:
                self._index.updated(self, value)

    def mention(self) -> None:
        """The task was seen this round (the list showed it, or a direct read answered)."""
        if self._index is not None:
            self.mentioned_round = self._index.round


class WatchedIndex:
    """The watched tasks by id, with what each polling round asks of them answered without a full pass.

    :param safety_net_polls: rounds without a mention before a task is due for a safety-net read.
    """

    def __init__(self, safety_net_polls: int) -> None:
        self.safety_net_polls = safety_net_polls
        self._by_id: dict[str, Watched] = {}
        #: The tasks in each listed state, in the order they entered it (dicts as ordered sets).
        self._in_state: dict[Tracking, dict[str, None]] = {state: {} for state in _LISTED}
        #: The polling round, counted by :meth:`next_round`.
        self.round = 0
        # Entries (due round, tie-breaker, task): each task has one, checked and moved on when it comes up.
        self._safety_net: list[tuple[int, int, Watched]] = []
        # Entries (updatedAt, tie-breaker, task), one per value a task's updatedAt took: the stale are
        # skipped, and dropped once the list's window has passed them.
        self._recent: list[tuple[float, int, Watched]] = []
        self._ties = itertools.count()

    # -- the tasks by id --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._by_id

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def get(self, task_id: str) -> Watched | None:
        """The watched task of this id, if any."""
        return self._by_id.get(task_id)

    def values(self) -> Iterator[Watched]:
        """Every watched task (a full pass: for when there is no list to read)."""
        return iter(self._by_id.values())

    def add(self, task_id: str) -> Watched:
        """A new watched task, ``UNREAD``, due for the safety net ``safety_net_polls`` rounds on."""
        watched = Watched(task_id, self)
        self._by_id[task_id] = watched
        self._in_state[Tracking.UNREAD][task_id] = None
        self._schedule(watched, self.round + self.safety_net_polls)
        return watched

    def _schedule(self, watched: Watched, due_round: int) -> None:
        heapq.heappush(self._safety_net, (due_round, next(self._ties), watched))

    def remove(self, task_id: str) -> None:
        """Stop watching a task (its heap entries go stale and are dropped when they come up)."""
        watched = self._by_id.pop(task_id)
        if watched.tracking in self._in_state:
            del self._in_state[watched.tracking][task_id]

    def _current(self, watched: Watched) -> bool:
        return self._by_id.get(watched.task_id) is watched

    # -- kept current by Watched ------------------------------------------------------------------------

    def moved(self, watched: Watched, old: Tracking, new: Tracking) -> None:
        """A task changed state: keep the state lists current."""
        if not self._current(watched):
            return
        if old in self._in_state:
            del self._in_state[old][watched.task_id]
        if new in self._in_state:
            self._in_state[new][watched.task_id] = None

    def updated(self, watched: Watched, updated_at: float) -> None:
        """A task's ``updatedAt`` is now known to be ``updated_at``."""
        heapq.heappush(self._recent, (updated_at, next(self._ties), watched))

    # -- what a round asks ------------------------------------------------------------------------------

    def next_round(self) -> None:
        """A polling round starts."""
        self.round += 1

    def in_state(self, state: Tracking) -> list[str]:
        """The tasks in a listed state (``UNREAD``, ``BEHIND``, ``UNLISTED``), in the order they entered."""
        return list(self._in_state[state])

    def start_reads(self) -> list[str]:
        """The ``UNREAD`` tasks, now ``READING``: their reads start at once."""
        due = list(self._in_state[Tracking.UNREAD])
        for task_id in due:
            self._by_id[task_id].tracking = Tracking.READING
        return due

    def unlisted_turn(self, batch: int) -> list[str]:
        """At most ``batch`` ``UNLISTED`` tasks to read this round, in turn: those read go to the back."""
        unlisted = self._in_state[Tracking.UNLISTED]
        turn = list(itertools.islice(unlisted, batch))
        for task_id in turn:
            del unlisted[task_id]
            unlisted[task_id] = None
        return turn

    def safety_net_due(self, batch: int) -> list[str]:
        """At most ``batch`` tasks the list has not mentioned for ``safety_net_polls`` rounds, longest first.

        Only ``BEHIND`` and ``COVERED`` tasks count (the others are read anyway). A task handed out is
        next due ``safety_net_polls`` rounds on, whether its read succeeds or not. Each entry that comes up
        is either handed out or put back at the round its task is really due (it was mentioned since):
        a round's work is the batch, and the tasks mentioned since they were last scheduled.
        """
        heap, due, polls = self._safety_net, list[str](), self.safety_net_polls
        while heap and heap[0][0] <= self.round and len(due) < batch:
            _, _, watched = heapq.heappop(heap)
            if not self._current(watched):
                continue
            next_due = watched.mentioned_round + polls
            if next_due <= self.round and watched.tracking in (Tracking.BEHIND, Tracking.COVERED):
                due.append(watched.task_id)
                next_due = self.round + polls
            self._schedule(watched, max(next_due, self.round + 1))
        return due

    def mark_unlisted(
        self, mentioned: set[str], since: float, answered_at: float, one_page: bool = True
    ) -> list[str]:
        """Mark the tasks the list should have shown and did not: now ``UNLISTED``.

        A ``BEHIND`` or ``COVERED`` task whose last known ``updatedAt`` lies inside the window the list
        answered for, ``since`` to ``answered_at``, yet that the list did not mention. A list of one page
        is one look at the account; across several pages, cut by offset, a task updated while the later
        pages were read moves to the front, past the pages already read: such a miss counts only when the
        previous round missed the task too.

        :param since: the start of the window the list was asked for (and read back to).
        :param answered_at: the server's clock when the list answered (whole seconds, so no later than the
            moment it looked).
        :param one_page: whether the list answered in one page.
        :returns: the tasks marked now, not before.
        """
        recent = self._recent
        while recent and recent[0][0] <= since:
            # Later windows start later, so these are behind every window still to come.
            heapq.heappop(recent)
        marked = []
        for updated_at, _, watched in recent:
            if (
                updated_at < answered_at
                and watched.updated_at == updated_at
                and watched.task_id not in mentioned
                and watched.tracking in (Tracking.BEHIND, Tracking.COVERED)
                and self._current(watched)
            ):
                confirmed = one_page or watched.missed_round == self.round - 1
                watched.missed_round = self.round
                if confirmed:
                    watched.tracking = Tracking.UNLISTED
                    marked.append(watched.task_id)
        return marked
