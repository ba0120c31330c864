"""What Livepeer's server does that a DAG must survive: replica lag on single reads, browser keys, deletes.

Each runs against the emulator set up as Livepeer behaves (``read_lag``, a CORS key, a delete under a
running task); each failed on the provider before it knew of these behaviours.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import pytest

from airflow_provider_livepeer.exceptions import LivepeerNotFoundError, LivepeerTaskFailedError
from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from tests.support.running import RecordingTI, context, fast_hook, trigger_events

READ_LAG = 1.0
BROWSER_KEY = "browser-key-0123456789"


@pytest.mark.livepeer_emulator(read_lag=READ_LAG)
def test_a_sensor_started_right_after_the_create_call_waits_out_the_replica(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    task_id = fast_hook().import_asset(sample_video_url, "just made").task.id
    sensor = LivepeerTaskSensor(task_id="wait", livepeer_task_id=task_id, poke_interval=0.05, timeout=30)
    result = sensor.execute(context())
    assert result["phase"] == "completed"
    # The first reads were 404s: the replica did not show the task yet.
    assert livepeer_emulator.request_count("GET", "/api/task/*", status=404) >= 1


@pytest.mark.livepeer_emulator(read_lag=READ_LAG)
def test_an_operator_reads_its_new_task_through_the_replica_lag(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    operator = LivepeerImportAssetOperator(task_id="op", url=sample_video_url, name="v", poll_interval=0.05)
    assert operator.execute(context(RecordingTI()))["phase"] == "completed"
    assert livepeer_emulator.request_count("GET", "/api/task/*", status=404) >= 1


@pytest.mark.livepeer_emulator(read_lag=READ_LAG)
@pytest.mark.parametrize("shared_polling", [True, False], ids=["shared", "polling"])
async def test_a_trigger_deferred_right_after_the_create_call_waits_out_the_replica(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, shared_polling: bool
) -> None:
    task_id = fast_hook().import_asset(sample_video_url, "just made").task.id
    trigger = LivepeerTaskTrigger(
        task_id, poll_interval=0.1, shared_polling=shared_polling, not_found_until=time.time() + 10
    )
    [event] = await trigger_events(trigger, limit=30)
    assert event["status"] == "success", event
    assert livepeer_emulator.request_count("GET", "/api/task/*", status=404) >= 1


def test_a_task_still_missing_after_the_grace_fails_with_livepeers_message(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    sensor = LivepeerTaskSensor(
        task_id="wait", livepeer_task_id="no-such-task", poke_interval=0.05, not_found_grace=1.0
    )
    started = time.monotonic()
    with pytest.raises(
        LivepeerNotFoundError, match=re.escape("HTTP 404 for GET /api/task/no-such-task: not found")
    ):
        sensor.execute(context())
    assert time.monotonic() - started >= 1.0  # read again for the grace
    # Tried again with the hook's backoff (1 s, doubling), not in a tight loop.
    assert 2 <= livepeer_emulator.request_count("GET", "/api/task/*") <= 3


@pytest.mark.livepeer_emulator(speed=10)  # the tasks run for most of a second: the watcher lists meanwhile
async def test_a_browser_key_refused_the_list_waits_through_direct_reads(
    livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch, sample_video_url: str, caplog: Any
) -> None:
    livepeer_emulator.add_account(BROWSER_KEY, cors_key_of=livepeer_emulator.api_key)
    for name, value in livepeer_emulator.airflow_env("browser", api_key=BROWSER_KEY).items():
        monkeypatch.setenv(name, value)
    urls = [f"{sample_video_url}?copy={n}" for n in range(2)]  # two imports, not one answered twice
    task_ids = [fast_hook("browser").import_asset(url, "v").task.id for url in urls]
    triggers = [LivepeerTaskTrigger(task_id, "browser", poll_interval=0.1) for task_id in task_ids]
    with caplog.at_level(logging.WARNING):
        events = [await trigger_events(trigger, limit=30) for trigger in triggers]
    assert [[event["status"] for event in fired] for fired in events] == [["success"], ["success"]]
    assert livepeer_emulator.request_count("GET", "/api/task", status=403) >= 1
    refusals = [r for r in caplog.records if "refused the filtered task list" in r.getMessage()]
    assert len(refusals) <= len(triggers)  # said once per watcher, not per read
    assert "HTTP 403" in refusals[0].getMessage()


@pytest.mark.livepeer_emulator(speed=10)
@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
async def test_deleting_the_asset_under_a_running_import_fails_its_waiters_with_livepeers_message(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, deferrable: bool
) -> None:
    work = fast_hook().import_asset(sample_video_url, "to be deleted")
    assert work.asset is not None
    fast_hook().delete_asset(work.asset.id)
    message = "task cancelled, asset has been deleted"
    if deferrable:
        [event] = await trigger_events(LivepeerTaskTrigger(work.task.id, poll_interval=0.1), limit=30)
        assert (event["status"], event["result"]["error_message"]) == ("failed", message)
        return
    sensor = LivepeerTaskSensor(task_id="wait", livepeer_task_id=work.task.id, poke_interval=0.05, timeout=30)
    with pytest.raises(LivepeerTaskFailedError, match=re.escape(message)):
        sensor.execute(context())
