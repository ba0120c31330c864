"""Which watched tasks the shared watcher reads directly, and how the list moves tasks between states.

No network: the shared watcher's bookkeeping (its index of watched tasks), driven as its polling loop
drives it.
"""

from __future__ import annotations

from airflow_provider_livepeer.models import TaskPage
from airflow_provider_livepeer.triggers.direct_reads import DirectReads
from airflow_provider_livepeer.triggers.watched_index import Tracking, WatchedIndex
from airflow_provider_livepeer.triggers.watched_tasks import take_page
from tests.support.tasks import task_json

READS = DirectReads(unlisted_batch=2, safety_net_batch=2)


def index(safety_net_polls: int = 3, **states: Tracking) -> WatchedIndex:
    """Watched tasks by id, each in a state."""
    watched = WatchedIndex(safety_net_polls)
    for task_id, state in states.items():
        watched.add(task_id).tracking = state
    return watched


def rounds(watched: WatchedIndex, count: int) -> None:
    for _ in range(count):
        watched.next_round()


def test_unread_tasks_start_reading_at_once_and_only_once() -> None:
    tasks = index(a=Tracking.UNREAD, b=Tracking.COVERED, c=Tracking.UNREAD)
    assert READS.start(tasks) == ["a", "c"]
    assert [tasks.get(t).tracking for t in "abc"] == [  # type: ignore[union-attr]
        Tracking.READING,
        Tracking.COVERED,
        Tracking.READING,
    ]
    assert READS.start(tasks) == [], "a read under way is not started again"


def test_unlisted_tasks_are_read_in_turn_within_their_batch() -> None:
    tasks = index(u1=Tracking.UNLISTED, u2=Tracking.UNLISTED, u3=Tracking.UNLISTED, c=Tracking.COVERED)
    assert READS.after_list(tasks) == ["u1", "u2"]
    assert READS.after_list(tasks) == ["u3", "u1"], "those read go to the back: none waits for ever"
    tasks.get("u1").tracking = Tracking.COVERED  # type: ignore[union-attr]  # the list shows it again
    assert READS.after_list(tasks) == ["u2", "u3"]


def test_the_safety_net_reads_tasks_unmentioned_for_its_rounds_longest_first() -> None:
    tasks = index(quiet=Tracking.COVERED, behind=Tracking.BEHIND, unread=Tracking.UNREAD)
    tasks.next_round()
    tasks.add("late").tracking = Tracking.COVERED  # watched from round 1
    rounds(tasks, 1)
    tasks.get("behind").mention()  # type: ignore[union-attr]  # the list showed it in round 2
    assert READS.after_list(tasks) == [], "none unmentioned for 3 rounds yet"
    rounds(tasks, 1)
    assert READS.after_list(tasks) == ["quiet"], "round 3: unmentioned since round 0"
    assert READS.after_list(tasks) == [], "a task handed out is next due three rounds on"
    rounds(tasks, 1)
    assert READS.after_list(tasks) == ["late"]
    rounds(tasks, 1)
    assert READS.after_list(tasks) == ["behind"], "the unread task is read anyway: never the safety net's"


def test_the_safety_net_takes_at_most_its_batch_a_round() -> None:
    tasks = index(a=Tracking.COVERED, b=Tracking.COVERED, c=Tracking.COVERED)
    rounds(tasks, 3)
    assert READS.after_list(tasks) == ["a", "b"]
    rounds(tasks, 1)
    assert READS.after_list(tasks) == ["c"], "still due: its turn comes next round"


def test_the_safety_net_looks_only_at_the_tasks_it_hands_out_however_many_wait() -> None:
    tasks = index(safety_net_polls=2)
    for n in range(10_000):
        tasks.add(f"t{n}").tracking = Tracking.COVERED
    rounds(tasks, 2)
    assert READS.after_list(tasks) == ["t0", "t1"]
    assert len(tasks._safety_net) == 10_000, "each task has one entry, moved on when handed out"
    assert tasks._safety_net[0][0] == 2, "the others stay due, longest waiting first"


def test_without_a_list_every_task_not_being_read_is_read() -> None:
    tasks = index(a=Tracking.COVERED, b=Tracking.READING, c=Tracking.UNLISTED)
    assert READS.instead_of_list(tasks) == ["a", "c"]


def test_a_task_the_list_leaves_out_of_its_window_is_unlisted_until_the_list_shows_it() -> None:
    tasks = index(**{"left-out": Tracking.COVERED, "older": Tracking.COVERED, "unread": Tracking.UNREAD})
    for task_id, updated_at in (("left-out", 150.0), ("older", 50.0), ("unread", 150.0)):
        tasks.get(task_id).updated_at = updated_at  # type: ignore[union-attr]
    assert tasks.mark_unlisted(mentioned=set(), since=100.0, answered_at=200.0) == ["left-out"]
    assert tasks.mark_unlisted(mentioned=set(), since=100.0, answered_at=200.0) == [], "marked once"
    assert [tasks.get(t).tracking for t in tasks] == [  # type: ignore[union-attr]
        Tracking.UNLISTED,
        Tracking.COVERED,
        Tracking.UNREAD,
    ]
    page = TaskPage([task_json("left-out", updated_at=150_000)], 200.0, "GET /api/task")
    mentioned: set[str] = set()
    take_page(page, tasks, [], mentioned)
    assert mentioned == {"left-out"} and tasks.get("left-out").tracking is Tracking.COVERED  # type: ignore[union-attr]
    assert tasks.in_state(Tracking.UNLISTED) == []


def test_a_task_no_longer_watched_leaves_every_list_of_the_index() -> None:
    tasks = index(a=Tracking.UNLISTED, b=Tracking.BEHIND)
    tasks.remove("a")
    tasks.remove("b")
    rounds(tasks, 5)
    assert (len(tasks), tasks.in_state(Tracking.UNLISTED), tasks.in_state(Tracking.BEHIND)) == (0, [], [])
    assert READS.after_list(tasks) == [] and tasks._safety_net == []


def test_a_list_of_several_pages_must_miss_a_task_twice_running_before_it_is_unlisted() -> None:
    # Pages are cut by offset: a task updated while later pages were read moves to the front, unseen.
    tasks = index(busy=Tracking.COVERED)
    tasks.get("busy").updated_at = 150.0  # type: ignore[union-attr]
    tasks.next_round()
    assert tasks.mark_unlisted(set(), since=100.0, answered_at=200.0, one_page=False) == []
    tasks.next_round()
    assert tasks.mark_unlisted({"busy"}, since=101.0, answered_at=201.0, one_page=False) == []
    tasks.next_round()
    assert tasks.mark_unlisted(set(), since=102.0, answered_at=202.0, one_page=False) == [], "not running"
    tasks.next_round()
    assert tasks.mark_unlisted(set(), since=103.0, answered_at=203.0, one_page=False) == ["busy"]
