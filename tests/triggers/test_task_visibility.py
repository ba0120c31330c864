"""Tasks the list does not show: a key of a non-default project never sees its ``transcode-file`` tasks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import requests

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from tests.support.tasks import start_transcode

PROJECT_KEY = "second-project-key"


@pytest.fixture
def project_conn(livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``livepeer_default`` with a key of a non-default project of the emulator's main user."""
    livepeer_emulator.add_account(PROJECT_KEY, project_of=livepeer_emulator.api_key)
    for name, value in livepeer_emulator.airflow_env("livepeer_default", api_key=PROJECT_KEY).items():
        monkeypatch.setenv(name, value)
    return "livepeer_default"


def _list_ids(emulator: Any, api_key: str) -> set[str]:
    headers = {"Authorization": f"Bearer {api_key}"}
    return {
        task["id"] for task in requests.get(f"{emulator.api_url}/task", headers=headers, timeout=10).json()
    }


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_project_keys_list_leaves_out_its_transcodes(
    livepeer_emulator: Any, project_conn: str, sample_video_url: str
) -> None:
    hook = LivepeerHook()
    transcode = start_transcode(hook).task.id
    upload = hook.import_asset(sample_video_url, "in the project").task.id
    # The import belongs to its asset's project (the key's); the transcode, with no asset, to the
    # user's default project: the key's list never shows it, a direct read does.
    assert _list_ids(livepeer_emulator, PROJECT_KEY) == {upload}
    assert hook.get_task(transcode).id == transcode
    assert _list_ids(livepeer_emulator, livepeer_emulator.api_key) == {transcode}
    assert livepeer_emulator.task(transcode)["projectId"] != livepeer_emulator.task(upload)["projectId"]


@pytest.mark.livepeer_emulator(speed=4)  # a transcode takes 2 s: pending 0.25, waiting 0.25, running 1.5
@pytest.mark.parametrize("start", ["first read", "as the transcode operator defers"])
async def test_the_watcher_reads_what_the_list_does_not_show(
    livepeer_emulator: Any, project_conn: str, start: str
) -> None:
    interval = 0.5
    created = start_transcode(LivepeerHook())
    task_id = created.task.id
    # The operator hands the trigger only what its create call showed: the task exists, as of then.
    assert created.answered_at is not None
    last_look = {} if start == "first read" else {"last_seen_at": created.answered_at}
    trigger = LivepeerTaskTrigger(task_id, poll_interval=interval, **last_look)
    [event] = await asyncio.wait_for(asyncio.gather(_first_event(trigger)), 30)
    seen_at = time.time()
    assert event["status"] == "success"
    completed_at = livepeer_emulator.task(task_id)["status"]["updatedAt"] / 1000
    # Within one interval and a second of the change, not ten intervals later (the safety net).
    assert seen_at - completed_at < interval + 1.0, seen_at - completed_at
    assert livepeer_emulator.request_count("GET", "/api/task") >= 2  # the list was asked, and left it out


async def _first_event(trigger: LivepeerTaskTrigger) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload  # type: ignore[no-any-return]
    raise AssertionError("the trigger fired no event")
