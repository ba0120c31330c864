"""LivepeerTaskEventTrigger: one event per Livepeer task reaching a phase, through the shared watcher."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskEventTrigger, LivepeerTaskTrigger
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS
from tests.support.emulator_api import list_requests
from tests.support.tasks import start_transcode

needs_event_triggers = pytest.mark.skipif(
    not AIRFLOW_V_3_0_PLUS, reason="BaseEventTrigger and AssetWatcher arrived in Airflow 3.0"
)


class MemoryStateStore:
    """What the triggerer of Airflow 3.3 injects as ``asset_state_store`` for one watched Asset."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


@contextlib.asynccontextmanager
async def running(trigger: LivepeerTaskEventTrigger) -> AsyncIterator[list[dict[str, Any]]]:
    """Run the trigger in the background; yields the list its events are appended to."""
    events: list[dict[str, Any]] = []

    async def consume() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    task = asyncio.get_running_loop().create_task(consume())
    try:
        await asyncio.sleep(0.5)  # it has started: what finishes from now on is news
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(condition: Any, limit: float = 30) -> None:
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.05)


@needs_event_triggers
@pytest.mark.livepeer_emulator(speed=20)
async def test_fires_once_per_new_task_of_the_types_and_phases(
    livepeer_emulator: Any, emulator_hook: LivepeerHook, sample_video_url: str
) -> None:
    old = emulator_hook.import_asset(f"{sample_video_url}?old", "old")
    await until(lambda: livepeer_emulator.task(old.task.id)["status"]["phase"] == "completed")
    trigger = LivepeerTaskEventTrigger(poll_interval=0.1)
    async with running(trigger) as events:
        new = [emulator_hook.import_asset(f"{sample_video_url}?n={n}", f"new {n}") for n in range(2)]
        transcode = start_transcode(emulator_hook, "/o")  # another type
        await until(lambda: len(events) >= 2)
        await asyncio.sleep(1.0)  # a few more polls: nothing more, nothing twice
    assert sorted(e["livepeer_task_id"] for e in events) == sorted(w.task.id for w in new)
    assert old.task.id not in {e["livepeer_task_id"] for e in events}
    assert transcode.task.id not in {e["livepeer_task_id"] for e in events}
    for event in events:
        task = livepeer_emulator.task(event["livepeer_task_id"])
        assert event == {
            "livepeer_task_id": task["id"],
            "type": "upload",
            "phase": "completed",
            "output_asset_id": task["outputAssetId"],
            "asset_spec": task["output"]["upload"]["assetSpec"],
        }


@needs_event_triggers
@pytest.mark.livepeer_emulator(speed=20)
async def test_shares_the_list_request_with_waiting_triggers(
    livepeer_emulator: Any, emulator_hook: LivepeerHook
) -> None:
    slow = start_transcode(emulator_hook, "/slow")
    livepeer_emulator.reset_requests()
    event_trigger = LivepeerTaskEventTrigger(task_types=["transcode-file"], poll_interval=0.2)
    waiting = LivepeerTaskTrigger(slow.task.id, poll_interval=0.2, end_time=None)
    async with running(event_trigger) as events:
        wait = asyncio.get_running_loop().create_task(anext(waiting.run()))
        done = start_transcode(emulator_hook, "/later")
        await until(lambda: any(e["livepeer_task_id"] == done.task.id for e in events))
        await wait
        livepeer_emulator.reset_requests()
        await asyncio.sleep(2.0)
    # Ten intervals of 0.2 s: one list request each for both, not one each.
    assert list_requests(livepeer_emulator) <= 12


@needs_event_triggers
@pytest.mark.livepeer_emulator(speed=20)
async def test_a_restarted_trigger_fires_what_finished_meanwhile_and_nothing_twice(
    livepeer_emulator: Any, emulator_hook: LivepeerHook
) -> None:
    store = MemoryStateStore()

    def trigger() -> LivepeerTaskEventTrigger:
        made = LivepeerTaskEventTrigger(task_types=["transcode-file"], poll_interval=0.1)
        made.asset_state_store = store  # as Airflow 3.3's triggerer does for the watched Asset
        return made

    async with running(trigger()) as first:
        before = [start_transcode(emulator_hook, f"/{n}") for n in range(2)]
        await until(lambda: len(first) == 2)
    meanwhile = start_transcode(emulator_hook, "/meanwhile")
    # It completes while no trigger runs.
    await until(lambda: livepeer_emulator.task(meanwhile.task.id)["status"]["phase"] == "completed")
    async with running(trigger()) as second:
        await until(lambda: len(second) >= 1)
        await asyncio.sleep(1.0)
    assert sorted(e["livepeer_task_id"] for e in first) == sorted(w.task.id for w in before)
    assert [e["livepeer_task_id"] for e in second] == [meanwhile.task.id]
    assert store.values[LivepeerTaskEventTrigger.STATE_WATERMARK] > 0


@needs_event_triggers
def test_arguments_are_checked_and_serialized() -> None:
    trigger = LivepeerTaskEventTrigger(
        "lp", task_types=["upload", "clip"], phases=["failed"], poll_interval=5
    )
    assert trigger.serialize() == (
        "airflow_provider_livepeer.triggers.livepeer.LivepeerTaskEventTrigger",
        {
            "livepeer_conn_id": "lp",
            "task_types": ["upload", "clip"],
            "phases": ["failed"],
            "poll_interval": 5,
        },
    )
    assert LivepeerTaskEventTrigger().serialize()[1]["task_types"] == ["upload"]
    assert LivepeerTaskEventTrigger().serialize()[1]["phases"] == ["completed"]
    with pytest.raises(ValueError, match=r"Invalid phases \[\]: expected a non-empty list"):
        LivepeerTaskEventTrigger(phases=[])


@pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 3 has event triggers")
def test_on_airflow_2_making_it_says_which_airflow_it_needs() -> None:
    with pytest.raises(RuntimeError, match=r"needs Airflow 3\.0 or newer .* this is Airflow 2\."):
        LivepeerTaskEventTrigger()
