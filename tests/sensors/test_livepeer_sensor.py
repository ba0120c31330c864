from __future__ import annotations

import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    TaskDeferred,
)
from livepeer_studio_emulator.timeline import Durations

from airflow_provider_livepeer.exceptions import (
    LivepeerAuthenticationError,
    LivepeerError,
    LivepeerNotFoundError,
    LivepeerPermissionError,
    LivepeerTaskFailedError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.waiting import result_from_event
from tests.support.running import RecordingTI, context
from tests.support.tasks import completed_result, task_json


def start_import(emulator: Any, url: str) -> str:
    """Create an import on the emulator through the hook; return the Livepeer task id."""
    with LivepeerHook() as hook:
        return hook.import_asset(url, "sensor test").task.id


def sensor(livepeer_task_id: str, **kwargs: Any) -> LivepeerTaskSensor:
    return LivepeerTaskSensor(task_id="wait", livepeer_task_id=livepeer_task_id, poke_interval=0.05, **kwargs)


def test_poke_logs_phase_and_progress_until_done(
    clocked_emulator: Any, sample_video_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator = clocked_emulator(durations=Durations(pending=1, waiting=1, running=6))
    task_id = start_import(emulator, sample_video_url)
    wait = sensor(task_id)
    assert wait.poke({}) is False
    emulator.state.clock.advance(2.5)
    assert emulator.task(task_id)["status"]["phase"] == "running"
    assert wait.poke({}) is False
    out = capfd.readouterr().out
    assert f"Livepeer upload task {task_id} is pending" in out
    assert f"Livepeer upload task {task_id} is running (" in out
    assert "%)" in out


def test_poke_shows_livepeer_retrying(
    clocked_emulator: Any, sample_video_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    emulator = clocked_emulator(durations=Durations(pending=1, waiting=1, running=6, retry_delays=(2, 2)))
    emulator.script_outcome(sample_video_url, retries=1, retry_error_message="transcoder hiccup")
    task_id = start_import(emulator, sample_video_url)
    emulator.state.clock.advance(8.5)  # the first run ended at 8 s; the retry waits 2 s with the error shown
    assert emulator.task(task_id)["status"].get("retries") == 1
    assert sensor(task_id).poke({}) is False
    assert "Livepeer is retrying it (retry 1) after: transcoder hiccup" in capfd.readouterr().out


@pytest.mark.parametrize(("outcome", "phase"), [("fail", "failed"), ("cancel", "cancelled")])
def test_remote_failure_fails_without_airflow_retry(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, outcome: str, phase: str
) -> None:
    livepeer_emulator.script_outcome(sample_video_url, outcome, error_message="unsupported codec xyz")  # type: ignore[arg-type]
    task_id = start_import(livepeer_emulator, sample_video_url)
    livepeer_emulator.wait_for_jobs()
    time.sleep(0.1)
    with pytest.raises(LivepeerTaskFailedError) as err:
        sensor(task_id).poke({})
    assert isinstance(err.value, AirflowFailException)
    assert str(err.value) == f"Livepeer upload task {task_id} {phase}: unsupported codec xyz"
    assert err.value.livepeer_task_id == task_id and err.value.error_message == "unsupported codec xyz"


def test_permanent_errors_fail_at_once(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = start_import(livepeer_emulator, sample_video_url)
    livepeer_emulator.reset_requests()
    with pytest.raises(LivepeerNotFoundError, match="HTTP 404"):
        sensor("no-such-task", not_found_grace=0).poke(
            {}
        )  # the grace: tests/reliability/test_not_found_grace.py
    assert livepeer_emulator.request_count("GET") == 1

    for name, value in livepeer_emulator.airflow_env("other", api_key=livepeer_emulator.api_keys[1]).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(LivepeerPermissionError, match="HTTP 403"):
        sensor(task_id, livepeer_conn_id="other").poke({})

    monkeypatch.setenv("AIRFLOW_CONN_WRONG", livepeer_emulator.airflow_conn_json(api_key="wrong-key"))
    with pytest.raises(LivepeerAuthenticationError, match="HTTP 401"):
        sensor(task_id, livepeer_conn_id="wrong").poke({})
    assert livepeer_emulator.request_count("GET") == 3


def test_transient_errors_are_not_done_yet(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, capfd: pytest.CaptureFixture[str]
) -> None:
    task_id = start_import(livepeer_emulator, sample_video_url)
    wait = sensor(task_id)
    wait.hook.retry_settings = type(wait.hook.retry_settings)(max_attempts=2, backoff_initial=0.01)
    livepeer_emulator.set_faults(queue=["503", "429-no-retry-after"])
    assert wait.poke({}) is False
    assert "could not be read this time" in capfd.readouterr().out
    livepeer_emulator.wait_for_jobs()
    time.sleep(0.1)
    with pytest.raises(KeyError):  # completed: the poke now publishes, and this context has no "ti"
        wait.poke({})


def test_unknown_phase_is_not_done(
    capfd: pytest.CaptureFixture[str], httpserver: Any, livepeer_connection: Any
) -> None:
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/api/task/t1").respond_with_json(task_json("t1", "paused"))
    assert sensor("t1", livepeer_conn_id=conn_id).poke({}) is False
    assert "a phase this provider does not know" in capfd.readouterr().out


def test_invalid_id_sends_nothing(livepeer_emulator: Any, emulator_conn: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid Livepeer task id '\.\./asset'"):
        sensor("../asset").poke({})
    assert livepeer_emulator.request_count() == 0


def test_deferrable_defers_with_json_safe_kwargs(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    livepeer_emulator.script_outcome(sample_video_url, "stall")  # unfinished at the first poke: it defers
    task_id = start_import(livepeer_emulator, sample_video_url)
    wait = sensor(task_id, deferrable=True, timeout=120)
    before = time.time()
    ti = RecordingTI()
    with pytest.raises(TaskDeferred) as deferred:
        wait.execute(context(ti))
    # Each link's XCom exists from the start of the run (Airflow 3 reads them as the task ends), empty until
    # there is a page to show.
    assert ti.xcoms == {"_link_LivepeerTaskLink": "", "_link_LivepeerAssetLink": ""}
    trigger = deferred.value.trigger
    assert isinstance(trigger, LivepeerTaskTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_livepeer.triggers.livepeer.LivepeerTaskTrigger"
    assert kwargs["livepeer_task_id"] == task_id and kwargs["livepeer_conn_id"] == "livepeer_default"
    assert kwargs["poll_interval"] == 0.05
    assert before + 120 <= kwargs["end_time"] <= time.time() + 120
    assert livepeer_emulator.api_key not in repr(kwargs)
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() == 120


def test_deferrable_defaults_to_config() -> None:
    assert LivepeerTaskSensor(task_id="w", livepeer_task_id="x").deferrable is False


def test_template_fields() -> None:
    assert set(LivepeerTaskSensor.template_fields) == {"livepeer_task_id", "livepeer_conn_id"}


class TestExecuteComplete:
    result = completed_result()

    @pytest.mark.parametrize("event", [None, "success", 3, []])
    def test_missing_event(self, event: Any) -> None:
        with pytest.raises(AirflowException, match="without a trigger event"):
            result_from_event(event, "t1")

    def test_unknown_status(self) -> None:
        with pytest.raises(AirflowException, match="Unknown event status 'done'"):
            result_from_event({"status": "done"}, "t1")

    def test_malformed_result(self) -> None:
        with pytest.raises(AirflowException, match="Malformed 'success' event"):
            result_from_event({"status": "success", "result": {"phase": "completed"}}, "t1")

    def test_timeout(self) -> None:
        with pytest.raises(AirflowSensorTimeout, match="did not finish"):
            result_from_event({"status": "timeout", "message": "t1 did not finish in time"}, "t1")

    def test_error(self) -> None:
        with pytest.raises(LivepeerError, match="HTTP 404"):
            result_from_event({"status": "error", "message": "Livepeer API returned HTTP 404"}, "t1")

    def test_failed(self) -> None:
        failed = {**self.result, "phase": "failed", "error_message": "bad input", "output_asset_id": None}
        with pytest.raises(LivepeerTaskFailedError, match="Livepeer upload task t1 failed: bad input"):
            result_from_event({"status": "failed", "result": failed}, "t1")

    def test_success(self) -> None:
        result = result_from_event({"status": "success", "result": self.result}, "t1")
        assert result.summary() == {
            "livepeer_task_id": "t1",
            "type": "upload",
            "phase": "completed",
            "output_asset_id": "a1",
        }


def test_deferrable_first_poke_honours_soft_fail(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    from airflow.providers.common.compat.sdk import AirflowSkipException

    livepeer_emulator.script_outcome(sample_video_url, "fail", error_message="broken")
    task_id = start_import(livepeer_emulator, sample_video_url)
    livepeer_emulator.wait_for_jobs()
    time.sleep(0.1)
    with pytest.raises(AirflowSkipException, match="broken"):
        sensor(task_id, deferrable=True, soft_fail=True).execute(context())
    with pytest.raises(LivepeerTaskFailedError, match="broken"):
        sensor(task_id, deferrable=True).execute(context())
