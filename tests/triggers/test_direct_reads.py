"""Which watched tasks the shared watcher reads directly, and how the list moves tasks between states.

No network: the shared watcher's bookkeeping, driven as its polling loop drives it.
"""

from __future__ import annotations

from airflow_provider_livepeer.models import TaskPage
from airflow_provider_livepeer.triggers.direct_reads import DirectReads
from airflow_provider_livepeer.triggers.watched_tasks import Tracking, Watched, mark_unlisted, take_page
from tests.support.tasks import task_json

READS = DirectReads(unlisted_batch=2, safety_net_polls=3, safety_net_batch=2)


def watched(**states: tuple[Tracking, int]) -> dict[str, Watched]:
    """Watched tasks by id, each in a state with a count of list rounds that did not mention it."""
    return {
        task_id: Watched(tracking=tracking, unmentioned_polls=unmentioned)
        for task_id, (tracking, unmentioned) in states.items()
    }


def test_unread_tasks_start_reading_at_once_and_only_once() -> None:
    tasks = watched(a=(Tracking.UNREAD, 0), b=(Tracking.COVERED, 0), c=(Tracking.UNREAD, 9))
    assert READS.start(tasks) == ["a", "c"]
    assert [tasks[t].tracking for t in "abc"] == [Tracking.READING, Tracking.COVERED, Tracking.READING]
    assert READS.start(tasks) == [], "a read under way is not started again"


def test_after_a_list_round_the_unlisted_then_the_longest_unmentioned_each_within_its_batch() -> None:
    tasks = watched(
        u1=(Tracking.UNLISTED, 0),
        u2=(Tracking.UNLISTED, 5),
        u3=(Tracking.UNLISTED, 1),
        quiet3=(Tracking.COVERED, 3),
        quiet9=(Tracking.BEHIND, 9),
        quiet5=(Tracking.COVERED, 5),
        recent=(Tracking.COVERED, 2),
        unread=(Tracking.UNREAD, 20),
        reading=(Tracking.READING, 20),
    )
    assert READS.after_list(tasks) == ["u1", "u2", "quiet9", "quiet5"]


def test_without_a_list_every_task_not_being_read_is_read() -> None:
    tasks = watched(a=(Tracking.COVERED, 0), b=(Tracking.READING, 0), c=(Tracking.UNLISTED, 0))
    assert READS.instead_of_list(tasks) == ["a", "c"]


def test_a_task_the_list_leaves_out_of_its_window_is_unlisted_until_the_list_shows_it() -> None:
    tasks = {
        "left-out": Watched(tracking=Tracking.COVERED, updated_at=150.0),
        "older": Watched(tracking=Tracking.COVERED, updated_at=50.0),
        "unread": Watched(tracking=Tracking.UNREAD, updated_at=150.0),
    }
    assert mark_unlisted(tasks, mentioned=set(), since=100.0, answered_at=200.0) == ["left-out"]
    assert mark_unlisted(tasks, mentioned=set(), since=100.0, answered_at=200.0) == [], "marked once"
    assert [tasks[t].tracking for t in tasks] == [Tracking.UNLISTED, Tracking.COVERED, Tracking.UNREAD]
    page = TaskPage([task_json("left-out", updated_at=150_000)], 200.0, "GET /api/task")
    mentioned: set[str] = set()
    take_page(page, tasks, [], mentioned)
    assert mentioned == {"left-out"} and tasks["left-out"].tracking is Tracking.COVERED
