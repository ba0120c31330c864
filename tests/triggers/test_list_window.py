"""The shared list's window: which last looks the next list rounds answer for.

Its rounds run against real servers in the shared watcher's tests (catch-up pages, lag and skew, unlisted
tasks); here, the rule that decides whether a task starts ``COVERED`` or ``BEHIND``.
"""

from __future__ import annotations

from airflow_provider_livepeer.triggers.list_window import ListWindow


def test_a_look_is_covered_once_a_round_answered_from_before_it_and_none_is_under_way() -> None:
    window = ListWindow(overlap=5.0)
    assert not window.covers(1000.0), "no round has answered yet: nothing to cover with"
    window.since = 990.0
    assert window.covers(995.0) and window.covers(2000.0)
    assert not window.covers(994.9), "older than the window, overlap included: the next round reaches back"
    window.listing = True
    assert not window.covers(2000.0), "the round under way went past its earlier pages unseen"
