"""Restarts: a triggerer that dies mid-wait, a resumed task fed a bad event, an operator tried again.

* A deferred sensor's trigger is cancelled mid-wait (the triggerer stopped), leaves nothing polling, and
  the trigger rebuilt from its serialized kwargs (a new triggerer) completes with the right result.
* ``result_from_event`` / ``execute_complete`` fail loudly on events that are missing or malformed
  (cases not already in tests/sensors).
* A durable operator tried again re-attaches to its Livepeer task (cases not already covered by the
  ``dag.test()`` re-attach in tests/system: not waiting, and waiting deferred).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowException, TaskDeferred

from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.triggers.shared_watcher import _WATCHERS
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_3_PLUS, AIRFLOW_VERSION_STRING
from airflow_provider_livepeer.waiting import result_from_event
from tests.support.airflow import needs_task_state_store
from tests.support.running import RecordingTI, StateStore, context, fast_hook, logged, trigger_events
from tests.support.servers import MediaServer, serve_media
from tests.support.tasks import completed_result


@pytest.fixture
def held(media_dir: Path) -> Iterator[MediaServer]:
    """A media server of the sample video at ``/held.mp4`` and ``/other.mp4``, each answer held until the
    test sets ``held.hold(path)``: an import of it stays unfinished, however slow the machine."""
    with serve_media() as media:
        for path in ("/held.mp4", "/other.mp4"):
            media.add(path, (media_dir / "sample.mp4").read_bytes(), held=True)
        yield media


def expected_summary(emulator: Any, task_id: str) -> dict[str, Any]:
    task = emulator.task(task_id)
    return {
        "livepeer_task_id": task_id,
        "type": "upload",
        "phase": "completed",
        "output_asset_id": task["outputAssetId"],
    }


@pytest.mark.parametrize("shared_polling", [True, False], ids=["shared", "polling"])
@pytest.mark.livepeer_emulator(speed=8)
async def test_trigger_rebuilt_after_a_triggerer_restart_completes(
    livepeer_emulator: Any, emulator_conn: str, held: MediaServer, shared_polling: bool
) -> None:
    ti = RecordingTI(task_id="wait")
    task_id = fast_hook().import_asset(f"{held.url}/held.mp4", "restart").task.id
    sensor = LivepeerTaskSensor(
        task_id="wait",
        livepeer_task_id=task_id,
        deferrable=True,
        poke_interval=0.05,
        timeout=60,
        shared_polling=shared_polling,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context(ti))
    classpath, kwargs = deferred.value.trigger.serialize()
    stored = json.dumps([classpath, kwargs])  # what the metadata DB keeps

    # The first triggerer runs the trigger a while, then stops (its asyncio task is cancelled).
    first = asyncio.ensure_future(trigger_events(LivepeerTaskTrigger(**kwargs), limit=30))
    deadline = time.monotonic() + 5
    while livepeer_emulator.request_count("GET") < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert livepeer_emulator.task(task_id)["status"]["phase"] != "completed", "the wait must be cut mid-way"
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    # Nothing of it keeps polling (a request in flight at the cancel is answered and logged within the
    # first second; one every 0.05 s would be many), and a shared watcher is gone with its last subscriber.
    await asyncio.sleep(1.0)
    polled = livepeer_emulator.request_count()
    await asyncio.sleep(0.3)
    assert livepeer_emulator.request_count() == polled
    assert _WATCHERS.get(asyncio.get_running_loop(), {}) == {}
    held.hold("/held.mp4").set()  # the import may finish now

    # A new triggerer rebuilds the trigger from what was stored and runs it to the end.
    stored_classpath, stored_kwargs = json.loads(stored)
    assert stored_classpath == "airflow_provider_livepeer.triggers.livepeer.LivepeerTaskTrigger"
    [event] = await trigger_events(LivepeerTaskTrigger(**stored_kwargs), limit=30)
    assert event["status"] == "success"
    task = livepeer_emulator.task(task_id)
    assert task["status"]["phase"] == "completed"
    assert event["result"]["output_asset_id"] == task["outputAssetId"]
    assert event["result"]["asset_spec"] == task["output"]["upload"]["assetSpec"]
    assert sensor.execute_complete(context(ti), event) == expected_summary(livepeer_emulator, task_id)
    assert ti.xcoms["asset_spec"] == task["output"]["upload"]["assetSpec"]
    assert ti.xcoms["output_asset_id"] == task["outputAssetId"]


@pytest.mark.livepeer_emulator(speed=8)
async def test_cancelling_one_trigger_leaves_the_others_on_the_shared_watcher_running(
    livepeer_emulator: Any, emulator_conn: str, held: MediaServer
) -> None:
    task_id = fast_hook().import_asset(f"{held.url}/held.mp4", "shared").task.id
    other_id = fast_hook().import_asset(f"{held.url}/other.mp4", "shared 2").task.id
    triggers = [
        LivepeerTaskTrigger(i, poll_interval=0.05, end_time=time.time() + 30) for i in (task_id, task_id)
    ]
    triggers.append(LivepeerTaskTrigger(other_id, poll_interval=0.05, end_time=time.time() + 30))
    running = [asyncio.ensure_future(trigger_events(trigger, limit=30)) for trigger in triggers]
    await asyncio.sleep(0.2)
    assert not any(task.done() for task in running)  # both imports are held at their source
    running[0].cancel()
    for path in ("/held.mp4", "/other.mp4"):
        held.hold(path).set()
    results = await asyncio.gather(*running, return_exceptions=True)
    assert isinstance(results[0], asyncio.CancelledError)
    for events, waited_for in zip(results[1:], (task_id, other_id), strict=True):
        assert [(event["status"], event["livepeer_task_id"]) for event in events] == [("success", waited_for)]
    assert _WATCHERS.get(asyncio.get_running_loop(), {}) == {}


RESULT = completed_result()
MALFORMED_EVENTS = {
    "no status": {"livepeer_task_id": "t1", "result": RESULT},
    "status of another type": {"status": ["success"], "result": RESULT},
    "success without a result": {"status": "success", "livepeer_task_id": "t1"},
    "success with a null result": {"status": "success", "result": None},
    "result of the wrong type": {"status": "success", "result": "completed"},
    "result with an unknown field": {"status": "success", "result": {**RESULT, "apiKey": "x"}},
    "success of a task still running": {"status": "success", "result": {**RESULT, "phase": "running"}},
    "success of a task in an unknown phase": {"status": "success", "result": {**RESULT, "phase": "paused"}},
    "failed event of a completed task": {"status": "failed", "result": RESULT},
    "result of another task": {"status": "success", "result": {**RESULT, "livepeer_task_id": "t2"}},
    "error without a message": {"status": "error", "livepeer_task_id": "t1"},
    "timeout without a message": {"status": "timeout", "livepeer_task_id": "t1"},
}


@pytest.mark.parametrize("event", list(MALFORMED_EVENTS.values()), ids=list(MALFORMED_EVENTS))
def test_malformed_event_fails_loudly_on_resume(event: dict[str, Any]) -> None:
    """Every resume path refuses the event with an AirflowException that names the Livepeer task."""
    ti = RecordingTI(task_id="op", xcoms={"livepeer_task_id": "t1"})
    resumes = {
        "result_from_event": lambda: result_from_event(event, "t1"),
        "sensor": lambda: LivepeerTaskSensor(task_id="w", livepeer_task_id="t1").execute_complete(
            context(ti), event
        ),
        "operator": lambda: LivepeerImportAssetOperator(
            task_id="op", url="https://example.com/v.mp4", name="n"
        ).execute_complete(context(ti), event, livepeer_task_id="t1"),
    }
    for name, resume in resumes.items():
        with pytest.raises(AirflowException) as err:
            resume()
        assert "t1" in str(err.value), f"{name}: {type(err.value).__name__}: {err.value!s}"
    assert set(ti.xcoms) == {"livepeer_task_id"}, "nothing may be published from a malformed event"


@needs_task_state_store
@pytest.mark.livepeer_emulator(speed=1000)
def test_retry_of_an_operator_that_does_not_wait_reattaches(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    livepeer_emulator.script_outcome(sample_video_url, "stall")
    store = StateStore()
    first_ti = RecordingTI(task_id="import")
    first = LivepeerImportAssetOperator(
        task_id="import", url=sample_video_url, name="n", wait_for_completion=False
    ).execute(context(first_ti, task_state_store=store))
    task_id = first_ti.xcoms["livepeer_task_id"]
    assert first == {
        "livepeer_task_id": task_id,
        "type": None,
        "phase": None,
        "output_asset_id": first_ti.xcoms["output_asset_id"],
    }
    # The worker died after the try finished its work but before Airflow recorded it: try again.
    second_ti = RecordingTI(task_id="import")
    second = LivepeerImportAssetOperator(
        task_id="import", url=sample_video_url, name="n", wait_for_completion=False
    ).execute(context(second_ti, task_state_store=store))
    assert livepeer_emulator.request_count("POST") == 1
    assert second_ti.xcoms["livepeer_task_id"] == task_id
    assert second == first


@pytest.mark.skipif(AIRFLOW_V_3_3_PLUS, reason="Airflow 3.3+ re-attaches (the test above)")
@pytest.mark.parametrize("durable", [True, None], ids=["durable-asked", "durable-default"])
@pytest.mark.livepeer_emulator(speed=1000)
def test_before_airflow_3_3_a_retry_creates_new_work_and_says_why(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    durable: bool | None,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    kwargs: dict[str, Any] = {"task_id": "import", "url": sample_video_url, "name": "n"}
    if durable is not None:
        kwargs["durable"] = durable
    ids = []
    for _ in range(2):
        ti = RecordingTI(task_id="import")
        LivepeerImportAssetOperator(wait_for_completion=False, **kwargs).execute(context(ti))
        ids.append(ti.xcoms["livepeer_task_id"])
    assert livepeer_emulator.request_count("POST", "/api/asset/upload/url") == 2
    lines = logged(caplog, capfd, "needs Airflow 3.3")
    assert len(lines) == 2, lines  # one line per try
    assert f"this is Airflow {AIRFLOW_VERSION_STRING}" in lines[0]
    assert "every try of this task creates new Livepeer work" in lines[0]


def test_durable_false_logs_nothing_about_versions(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    LivepeerImportAssetOperator(
        task_id="import", url=sample_video_url, name="n", wait_for_completion=False, durable=False
    ).execute(context(RecordingTI(task_id="import")))
    assert logged(caplog, capfd, "needs Airflow") == []


@needs_task_state_store
@pytest.mark.livepeer_emulator(speed=8)
async def test_retry_of_a_deferred_operator_reattaches_and_completes(
    livepeer_emulator: Any, emulator_conn: str, held: MediaServer
) -> None:
    store = StateStore()
    kwargs = {
        "task_id": "import",
        "url": f"{held.url}/held.mp4",
        "name": "n",
        "deferrable": True,
        "poll_interval": 0.05,
    }
    with pytest.raises(TaskDeferred) as first:
        LivepeerImportAssetOperator(**kwargs).execute(context(RecordingTI("import"), task_state_store=store))
    task_id = store.values["livepeer_task_id"]
    # The triggerer lost the trigger and the try failed; the retry re-attaches instead of importing again.
    ti = RecordingTI(task_id="import")
    retry = LivepeerImportAssetOperator(**kwargs)
    with pytest.raises(TaskDeferred) as second:
        retry.execute(context(ti, task_state_store=store))
    assert second.value.trigger.serialize()[1]["livepeer_task_id"] == task_id
    assert first.value.trigger.serialize()[1]["livepeer_task_id"] == task_id
    assert livepeer_emulator.request_count("POST") == 1
    held.hold("/held.mp4").set()  # held until now: the retry found the import still running
    [event] = await trigger_events(second.value.trigger, limit=30)
    resumed = retry.execute_complete(context(ti), event, **second.value.kwargs)
    assert resumed == expected_summary(livepeer_emulator, task_id)
    assert ti.xcoms["output_asset_id"] == livepeer_emulator.task(task_id)["outputAssetId"]
