from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from tests.support.emulator_api import release_after_first_read
from tests.support.servers import serve_media


def start_import(url: str) -> str:
    return LivepeerHook().import_asset(url, "trigger test").task.id


async def run_to_events(trigger: LivepeerTaskTrigger, limit: float = 20) -> list[dict[str, Any]]:
    """Run the trigger to its end and return every event it fired."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), limit)


def test_serialize_round_trip() -> None:
    trigger = LivepeerTaskTrigger(
        "abc",
        "my_conn",
        poll_interval=2.5,
        end_time=1_900_000_000.0,
        last_phase="running",
        last_updated_at=1_800_000_000_123,
        last_seen_at=1_800_000_001.0,
    )
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "livepeer_task_id": "abc",
        "livepeer_conn_id": "my_conn",
        "poll_interval": 2.5,
        "end_time": 1_900_000_000.0,
        "shared_polling": True,
        "last_phase": "running",
        "last_updated_at": 1_800_000_000_123,
        "last_seen_at": 1_800_000_001.0,
        "not_found_until": None,
    }
    import json

    assert json.loads(json.dumps(kwargs)) == kwargs


@pytest.mark.parametrize("shared_polling", [True, False])
@pytest.mark.livepeer_emulator(speed=20)
async def test_success_event_carries_the_result(
    livepeer_emulator: Any, emulator_conn: str, media_dir: Path, shared_polling: bool
) -> None:
    with serve_media() as media:
        # The source is held until the trigger's first read: the task is unfinished when it looks.
        media.add("/v.mp4", (media_dir / "sample.mp4").read_bytes(), held=True)
        task_id = start_import(f"{media.url}/v.mp4")
        releaser = release_after_first_read(livepeer_emulator, media, ["/v.mp4"])
        events = await run_to_events(
            LivepeerTaskTrigger(task_id, poll_interval=0.05, shared_polling=shared_polling)
        )
        releaser.join(5)
    assert len(events) == 1
    event = events[0]
    assert event["status"] == "success" and event["livepeer_task_id"] == task_id
    task = livepeer_emulator.task(task_id)
    assert event["result"]["output_asset_id"] == task["outputAssetId"]
    assert event["result"]["asset_spec"] == task["output"]["upload"]["assetSpec"]
    assert event["result"]["phase"] == "completed"
    direct_reads = livepeer_emulator.request_count("GET", f"/api/task/{task_id}")
    list_reads = livepeer_emulator.request_count("GET", "/api/task")
    if shared_polling:  # one first look, then the shared list
        assert direct_reads == 1 and list_reads >= 1
    else:
        assert direct_reads >= 2 and list_reads == 0


@pytest.mark.parametrize(("outcome", "phase"), [("fail", "failed"), ("cancel", "cancelled")])
async def test_failed_event(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, outcome: str, phase: str
) -> None:
    livepeer_emulator.script_outcome(sample_video_url, outcome, error_message="codec not supported")  # type: ignore[arg-type]
    task_id = start_import(sample_video_url)
    [event] = await run_to_events(LivepeerTaskTrigger(task_id, poll_interval=0.05))
    assert event["status"] == "failed"
    assert event["result"]["phase"] == phase
    assert event["result"]["error_message"] == "codec not supported"
    assert "codec not supported" in event["message"]


async def test_timeout_event(livepeer_emulator: Any, emulator_conn: str, sample_video_url: str) -> None:
    livepeer_emulator.script_outcome(sample_video_url, "stall")
    task_id = start_import(sample_video_url)
    started = time.monotonic()
    [event] = await run_to_events(LivepeerTaskTrigger(task_id, poll_interval=0.1, end_time=time.time() + 0.5))
    assert event["status"] == "timeout"
    assert "did not finish in time" in event["message"]
    assert 0.4 <= time.monotonic() - started < 2


async def test_an_aware_datetime_end_time_is_kept_as_unix_seconds(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    livepeer_emulator.script_outcome(sample_video_url, "stall")
    task_id = start_import(sample_video_url)
    deadline = datetime.now(UTC) + timedelta(seconds=0.5)
    trigger = LivepeerTaskTrigger(task_id, poll_interval=0.1, end_time=deadline)
    assert trigger.serialize()[1]["end_time"] == deadline.timestamp()
    [event] = await run_to_events(trigger)
    assert event["status"] == "timeout"


@pytest.mark.parametrize(
    ("end_time", "message"),
    [
        (datetime(2030, 1, 1), "naive datetime is ambiguous"),
        ("2030-01-01T00:00:00Z", "(str): expected Unix seconds"),
        (True, "(bool): expected Unix seconds"),
        (float("nan"), "(float): expected Unix seconds"),
    ],
)
def test_a_bad_end_time_is_refused_when_the_trigger_is_made(end_time: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        LivepeerTaskTrigger("abc", end_time=end_time)
    assert repr(end_time) in str(err.value)


async def test_end_time_in_the_past_times_out_without_a_request(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    [event] = await run_to_events(LivepeerTaskTrigger("abc", poll_interval=0.1, end_time=time.time() - 1))
    assert event["status"] == "timeout"
    assert livepeer_emulator.request_count() == 0


@pytest.mark.parametrize(
    ("task_id", "status"), [("no-such-task", "HTTP 404"), ("a/b", "Invalid Livepeer task id")]
)
async def test_error_event(livepeer_emulator: Any, emulator_conn: str, task_id: str, status: str) -> None:
    [event] = await run_to_events(LivepeerTaskTrigger(task_id, poll_interval=0.05))
    assert event["status"] == "error"
    assert status in event["message"]
    assert livepeer_emulator.request_count() <= 1


async def test_unauthorized_is_an_error_event_without_the_key(
    livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_BAD", livepeer_emulator.airflow_conn_json(api_key="not-a-real-key-123"))
    [event] = await run_to_events(LivepeerTaskTrigger("abc", "bad", poll_interval=0.05))
    assert event["status"] == "error" and "HTTP 401" in event["message"]
    assert "not-a-real-key-123" not in repr(event)
    assert livepeer_emulator.request_count() == 1


@pytest.mark.livepeer_emulator(speed=20)
async def test_transient_errors_are_survived_and_waited_out(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    task_id = start_import(sample_video_url)
    livepeer_emulator.set_faults(queue=["503", "429", "drop"], retry_after=0)
    [event] = await run_to_events(LivepeerTaskTrigger(task_id, poll_interval=0.05), limit=60)
    assert event["status"] == "success"
    assert [r.fault for r in livepeer_emulator.requests if r.fault] == ["503", "429", "drop"]


async def test_sleeps_between_polls_after_errors(livepeer_emulator: Any, emulator_conn: str) -> None:
    livepeer_emulator.set_faults(rates={"503": 1.0})
    trigger = LivepeerTaskTrigger("abc", poll_interval=0.2, end_time=time.time() + 1.0)
    [event] = await run_to_events(trigger)
    assert event["status"] == "timeout"
    # The hook retries each read (5 tries, ~1 s of backoff), then the watcher sleeps a poll interval:
    # a busy loop would have sent hundreds.
    assert livepeer_emulator.request_count() <= 12
