"""Pages cut by offset, with many tasks sharing one ``updatedAt`` ms: only a tie-breaker keeps every task."""

from __future__ import annotations

from typing import Any

import pytest
from livepeer_studio_emulator import payloads
from livepeer_studio_emulator.clock import ManualClock

from tests.support.emulator_api import ApiClient
from tests.support.tasks import transcode_body

TASKS = 1050


@pytest.fixture(scope="module")
def tied(livepeer_emulator_factory_module: Any) -> tuple[ApiClient, set[str]]:
    """1050 tasks made at one instant of a stopped clock: one ``createdAt`` and ``updatedAt`` ms for all."""
    emulator = livepeer_emulator_factory_module(
        api_keys=["k"], clock=ManualClock(1_700_000_000), max_queued_tasks=5000
    )
    account = emulator.state.account("k")
    body = payloads.TranscodePayload.model_validate(transcode_body())
    ids = {emulator.state.create_transcode(account, body)["id"] for _ in range(TASKS)}
    return ApiClient(emulator.url, "k"), ids


@pytest.fixture(scope="module")
def livepeer_emulator_factory_module() -> Any:
    from contextlib import ExitStack

    from livepeer_studio_emulator.server import run_emulator

    with ExitStack() as stack:
        yield lambda **options: stack.enter_context(run_emulator(**options))


def pages(api: ApiClient, order: str) -> list[str]:
    """Every id of two pages of 1000, cut by offset as the server cuts them."""
    first = api.get("/task", params={"limit": "1000", "order": order}).json()
    second = api.get("/task", params={"limit": "1000", "order": order, "cursor": "skip1000"}).json()
    assert {task["status"]["updatedAt"] for task in first + second} == {1_700_000_000_000}
    return [task["id"] for task in first + second]


def test_without_a_tie_breaker_pages_skip_and_repeat_tasks(tied: tuple[ApiClient, set[str]]) -> None:
    api, ids = tied
    seen = pages(api, "updatedAt-true")
    assert len(seen) == TASKS
    assert set(seen) < ids, "ties come in another order on each page: some tasks fall between the pages"
    assert len(set(seen)) < TASKS, "...and others are on both"


def test_with_an_id_tie_breaker_every_task_is_seen_once(tied: tuple[ApiClient, set[str]]) -> None:
    api, ids = tied
    seen = pages(api, "updatedAt-true,id-true")  # what the shared watcher asks for
    assert len(seen) == len(set(seen)) == TASKS
    assert set(seen) == ids
    assert seen == sorted(seen, reverse=True)
