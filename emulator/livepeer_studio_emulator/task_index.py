"""The task list's index: each account's tasks by the time of their last snapshot.

``GET /api/task`` as a watcher sends it, ``updatedAt`` greater than T and the newest first, must not look
at every task: with thousands of them, nearly all ended long ago. A task's ``updatedAt`` at any moment is
the time of a snapshot of its timeline (:func:`.timeline.reached`), so it is never later than its last
one: a task whose last snapshot is at or before T cannot match. :class:`TaskIndex` keeps each user and
project's tasks sorted by that time, and hands a list only those that end after its bound, each with its
``updatedAt`` at the list's moment, read from the snapshot times it keeps (far cheaper than asking the
task for its timeline, and the same as long as it is told of every change).

A task's timeline changes when its real work ends, when it is retried and when its asset is deleted:
the store indexes it again then (:meth:`TaskIndex.put`).
"""

from __future__ import annotations

import bisect
from operator import itemgetter

from livepeer_studio_emulator.records import TaskRecord

# (time of the last snapshot in Unix ms, the task's seq, its id): seq makes entries unique and keeps
# tasks that end together in creation order.
_Entry = tuple[int, int, str]
_end = itemgetter(0)


class TaskIndex:
    """The tasks of each user and project, by the time of their last snapshot.

    Not thread-safe: the store's lock guards it.
    """

    def __init__(self) -> None:
        self._owners: dict[tuple[str, str], list[_Entry]] = {}
        # Each task's entry, to find it again when its timeline changes.
        self._entries: dict[str, _Entry] = {}
        # Each task's snapshot times, in order.
        self._times: dict[str, list[int]] = {}

    def put(self, task: TaskRecord) -> None:
        """Index a new task, or a task again after its timeline changed."""
        entries = self._owners.setdefault((task.user_id, task.project_id), [])
        old = self._entries.get(task.id)
        if old is not None:
            del entries[bisect.bisect_left(entries, old)]
        times = [snapshot.at_ms for snapshot in task.timeline()]
        entry = (times[-1], task.seq, task.id)
        bisect.insort(entries, entry)
        self._entries[task.id] = entry
        self._times[task.id] = times

    def clear(self) -> None:
        """Forget every task."""
        self._owners.clear()
        self._entries.clear()
        self._times.clear()

    def updated(
        self, user_id: str, project_id: str, after_ms: float | None, now_ms: int
    ) -> tuple[list[str], list[int]]:
        """A user and project's tasks whose last snapshot is after ``after_ms``, with their ``updatedAt``.

        :param after_ms: a time in Unix ms, or ``None`` for all of the tasks.
        :param now_ms: the moment of the ``updatedAt``: the time of the snapshot in force then, as
            :func:`.timeline.reached` finds it.
        :return: the tasks' ids, those ending first first, and their ``updatedAt`` in the same order (two
            lists, not a pair per task: fewer objects for the garbage collector when thousands match).
        """
        entries = self._owners.get((user_id, project_id), [])
        start = 0 if after_ms is None else bisect.bisect_right(entries, after_ms, key=_end)
        ids = [task_id for _, _, task_id in entries[start:]]
        updated = []
        for task_id in ids:
            times = self._times[task_id]
            updated.append(times[max(bisect.bisect_right(times, now_ms) - 1, 0)])
        return ids, updated
