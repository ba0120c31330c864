"""The task list through its index: the same pages as from every task, at a cost that follows the changes.

``GET /api/task`` with ``updatedAt`` greater than T looks only at the tasks whose timeline ends after T
(see ``task_index``), and views only those on the page; these tests count that work with 10,000 idle
tasks, check every kind of query against the list built from every task's view, and check that a task's
timeline changing later (its job ending, a retry) reaches the index.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from livepeer_studio_emulator import listing, payloads
from livepeer_studio_emulator import state as state_module
from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.clock import ManualClock
from livepeer_studio_emulator.outcomes import Outcome
from livepeer_studio_emulator.records import TaskRecord
from livepeer_studio_emulator.state import EmulatorState

from tests.support.emulator_api import ApiClient, video_bytes
from tests.support.servers import MediaServer
from tests.support.tasks import transcode_body

START = 1_700_000_000.0
WATCHER_ORDER = "updatedAt-true,id-true"


class UnlimitedState(EmulatorState):
    """No queue limit: counting the queue on every create would make 10,000 tasks quadratic."""

    def _check_capacity(self, account: Account, now: int) -> None:
        pass


def transcode(state: EmulatorState, account: Account, outcome: Outcome | None = None) -> str:
    body = payloads.TranscodePayload.model_validate(transcode_body())
    task_id: str = state.create_transcode(account, body, outcome)["id"]
    return task_id


def query(**params: Any) -> listing.ListQuery:
    pairs = [(key, value if isinstance(value, str) else json.dumps(value)) for key, value in params.items()]
    return listing.parse_query(pairs, listing.TASK_FIELDS)


def changed_since(since: float, **params: Any) -> listing.ListQuery:
    """The shared watcher's query."""
    filters = [{"id": "updatedAt", "value": {"gt": since}}]
    return query(filters=filters, order=WATCHER_ORDER, limit="1000", count="1", **params)


def test_a_list_of_recent_changes_views_only_them(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(START)
    state = UnlimitedState(["k"], clock=clock)
    account = state.account("k")
    for _ in range(10_000):
        transcode(state, account)
        clock.advance(0.001)
    clock.advance(60)  # every one of them ended long ago
    since = int(clock() * 1000)
    recent = {transcode(state, account) for _ in range(5)}
    clock.advance(3)

    counts = {"rows": 0, "views": 0, "timelines": 0}

    def counted(name: str, call: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return call(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(state_module, "task_row", counted("rows", state_module.task_row))
    monkeypatch.setattr(state, "_task_view", counted("views", state._task_view))
    monkeypatch.setattr(TaskRecord, "timeline", counted("timelines", TaskRecord.timeline))
    page = state.task_page(account, changed_since(since))

    assert {task["id"] for task in page.items} == recent
    assert page.total == 5
    # The work follows the 5 tasks that changed, not the 10,000 idle ones: one row and one view each,
    # and no timeline but those the views read.
    assert counts == {"rows": 5, "views": 5, "timelines": 5}


@pytest.fixture
def mixed() -> tuple[EmulatorState, ManualClock, Account]:
    """Tasks of every fate made over 40 s, another account's beside them, a list lag and a clock skew."""
    clock = ManualClock(START)
    state = EmulatorState(["k", "other"], clock=clock, list_lag=1.5, clock_offset=-2.5)
    account, other = state.account("k"), state.account("other")
    outcomes = [None, Outcome("fail"), Outcome("stall"), Outcome("cancel"), Outcome(retries=1), None]
    failed = []
    for number, outcome in zip(range(30), itertools.cycle(outcomes), strict=False):
        task_id = transcode(state, account if number % 5 else other, outcome)
        if outcome == Outcome("fail") and number % 5:
            failed.append(task_id)
        clock.advance(1.3)
    for task_id in failed[:2]:
        state.retry_task(account, task_id)
        clock.advance(0.7)
    return state, clock, account


QUERIES = [
    {},
    {"order": WATCHER_ORDER},
    {"order": "updatedAt-true"},
    {"order": "updatedAt-false,createdAt-true", "limit": "4", "cursor": "skip3"},
    {"order": "type-false,outputAssetId-true,id-false", "limit": "5"},
    {"order": "id-true", "cursor": "8"},
    {"filters": [{"id": "type", "value": "transcode-file"}], "limit": "3", "count": "1"},
    {"filters": [{"id": "name", "value": "x"}]},
    {"filters": [{"id": "createdAt", "value": {"gte": START * 1000 + 9000}}], "count": "1"},
]
# updatedAt comparisons, in ms after START.
BOUNDS = [
    {"gt": 0},
    {"gt": 15_000},
    {"gte": 20_000},
    {"gt": 22_500.5},
    {"gt": 30_000, "lt": 45_000},
    {"lte": 9000},
]
PAGES = [{}, {"cursor": "skip2", "limit": "2"}, {"order": "id-false"}]


@pytest.mark.parametrize("seconds", [0.0, 5.0, 20.0, 41.0, 60.0, 400.0])
def test_pages_through_the_index_are_those_of_the_full_list(
    mixed: tuple[EmulatorState, ManualClock, Account], seconds: float
) -> None:
    state, clock, account = mixed
    clock.advance(seconds)
    queries = [query(**params) for params in QUERIES]
    for bound, extra in itertools.product(BOUNDS, PAGES):
        value = {key: START * 1000 + number for key, number in bound.items()}
        queries.append(query(filters=[{"id": "updatedAt", "value": value}], count="1", **extra))
    queries.append(changed_since(int(clock() * 1000) - 4_000))
    for wanted in queries:
        expected = listing.paginate(state.list_tasks(account), wanted, listing.TASK_FIELDS)
        assert state.task_page(account, wanted) == expected, wanted


def test_a_task_retried_after_it_went_idle_is_listed(
    mixed: tuple[EmulatorState, ManualClock, Account],
) -> None:
    state, clock, account = mixed
    task_id = transcode(state, account, Outcome("fail"))
    clock.advance(600)
    since = int(clock() * 1000)
    assert state.task_page(account, changed_since(since)).items == []
    state.retry_task(account, task_id)
    clock.advance(10)
    assert [task["id"] for task in state.task_page(account, changed_since(since)).items] == [task_id]


def test_a_task_whose_source_comes_late_is_listed_when_it_does(
    livepeer_emulator_factory: Any, media_host: MediaServer
) -> None:
    clock = ManualClock(START)
    emulator = livepeer_emulator_factory(api_keys=["k"], clock=clock)
    api = ApiClient(emulator.url, "k")
    media_host.release.clear()  # the source server holds its answer
    _, task_id = api.import_url(media_host.add("/slow.mp4", video_bytes()))
    clock.advance(100)  # long past its planned end: it shows its last progress step, 7 s after creation
    since = int(clock() * 1000) - 1000
    params = {"filters": json.dumps([{"id": "updatedAt", "value": {"gt": since}}]), "order": WATCHER_ORDER}
    assert api.get("/task", params=params).json() == []
    media_host.release.set()
    assert emulator.wait_for_jobs()
    listed = api.get("/task", params=params).json()
    assert [(task["id"], task["status"]["phase"]) for task in listed] == [(task_id, "completed")]
