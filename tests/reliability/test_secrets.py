"""The API key stays secret: in logs, exceptions, XComs, trigger kwargs and events, and across redirects.

A recognisable key (:data:`tests.support.project.LEAKY_KEY`) is an emulator account; sensors, operators and
triggers run with it through success, Livepeer failure, transient faults, permanent errors and timeouts,
and every text they produced is searched for it (and for a fragment of it, to catch a partial leak).
One real ``dag.test()`` adds Airflow's own task logs. Separately, a redirect to another origin must not
carry the ``Authorization`` header (or, for a create call, the credentials in its body).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.exceptions import LivepeerError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTranscodeOperator,
)
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.waiting import wait_for_task
from tests.support.airflow import reschedule_mode_works
from tests.support.emulator_api import stalled_and_failed_imports
from tests.support.project import LEAKY_KEY
from tests.support.running import RecordingTI, context, fast_hook, trigger_events
from tests.support.servers import header_recorder
from tests.support.tasks import task_bytes

#: A part of the key that a truncated or partly masked leak would still show.
FRAGMENT = LEAKY_KEY[len("lp-secret-") : -len("-7f3a9c")]


class Evidence:
    """Every text a scenario produced, to be searched for the key."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def add(self, label: str, value: Any) -> None:
        if isinstance(value, BaseException):
            self.texts[f"{label} str"] = str(value)
            self.texts[f"{label} repr"] = repr(value)
            self.texts[f"{label} vars"] = repr(vars(value))
            return
        text = value if isinstance(value, str) else json.dumps(value, default=repr, sort_keys=True)
        self.texts[label] = text

    def raised(self, label: str, call: Callable[[], Any], expected: type[BaseException]) -> BaseException:
        with pytest.raises(expected) as err:
            call()
        self.add(label, err.value)
        return err.value

    def leaks(self) -> list[str]:
        return [label for label, text in self.texts.items() if LEAKY_KEY in text or FRAGMENT in text]


@pytest.fixture
def leaky(livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The ``leaky`` connection: the emulator, with LEAKY_KEY as the key of its own account."""
    livepeer_emulator.add_account(LEAKY_KEY)
    for name, value in livepeer_emulator.airflow_env("leaky", api_key=LEAKY_KEY).items():
        monkeypatch.setenv(name, value)
    return "leaky"


def run_trigger(trigger: LivepeerTaskTrigger, evidence: Evidence, label: str) -> dict[str, Any]:
    classpath, kwargs = trigger.serialize()
    evidence.add(f"{label} serialized trigger", [classpath, kwargs])
    evidence.add(f"{label} trigger repr", repr(trigger))
    [event] = asyncio.run(trigger_events(LivepeerTaskTrigger(**kwargs), limit=20))
    evidence.add(f"{label} event", event)
    return event


@pytest.mark.livepeer_emulator(speed=100)
def test_key_is_nowhere_in_what_sensors_operators_and_triggers_produce(
    livepeer_emulator: Any,
    livepeer_emulator_factory: Callable[..., Any],
    emulator_conn: str,
    monkeypatch: pytest.MonkeyPatch,
    leaky: str,
    sample_video_url: str,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    evidence = Evidence()
    ok_url, failing_url, stalled_url = (f"{sample_video_url}?{name}" for name in ("ok", "fails", "stalls"))
    livepeer_emulator.script_outcome(failing_url, "fail", error_message="the source is not a video")
    livepeer_emulator.script_outcome(stalled_url, "stall")

    # Success: an operator waiting in-process, then a sensor in each mode on the task it made.
    ti = RecordingTI(task_id="import")
    operator = LivepeerImportAssetOperator(
        task_id="import", url=ok_url, name="ok", livepeer_conn_id=leaky, poll_interval=0.02
    )
    evidence.add("operator return value", operator.execute(context(ti)))
    evidence.add("operator XComs", ti.xcoms)
    evidence.add("operator repr", repr(operator))
    evidence.add("operator vars", repr(vars(operator)))
    evidence.add("hook vars", repr(vars(operator.hook)))
    task_id = ti.xcoms["livepeer_task_id"]
    for mode in ("poke", "reschedule"):
        ti = RecordingTI(task_id=f"wait_{mode}")
        sensor = LivepeerTaskSensor(
            task_id=ti.task_id,
            livepeer_task_id=task_id,
            livepeer_conn_id=leaky,
            mode=mode,
            poke_interval=0.02,
        )
        evidence.add(f"sensor {mode} return value", sensor.execute(context(ti)))
        evidence.add(f"sensor {mode} XComs", ti.xcoms)

    # Deferred: a sensor on a stalled task defers and times out; an operator defers and completes.
    stalled_id = LivepeerHook(leaky).import_asset(stalled_url, "stalled").task.id
    ti = RecordingTI(task_id="wait_deferred")
    sensor = LivepeerTaskSensor(
        task_id=ti.task_id, livepeer_task_id=stalled_id, livepeer_conn_id=leaky, deferrable=True, timeout=0.5
    )
    deferred = evidence.raised("sensor deferral", lambda: sensor.execute(context(ti)), TaskDeferred)
    assert isinstance(deferred, TaskDeferred)
    evidence.add("sensor deferral kwargs", {"kwargs": deferred.kwargs, "timeout": str(deferred.timeout)})
    event = run_trigger(deferred.trigger, evidence, "sensor")
    assert event["status"] == "timeout"
    evidence.raised("sensor resumed", lambda: sensor.execute_complete(context(ti), event), Exception)

    ti = RecordingTI(task_id="import_deferred")
    operator = LivepeerImportAssetOperator(
        task_id=ti.task_id,
        url=f"{ok_url}&deferred",
        name="d",
        livepeer_conn_id=leaky,
        deferrable=True,
        poll_interval=0.05,
    )
    deferred = evidence.raised("operator deferral", lambda: operator.execute(context(ti)), TaskDeferred)
    assert isinstance(deferred, TaskDeferred)
    event = run_trigger(deferred.trigger, evidence, "operator")
    assert event["status"] == "success"
    evidence.add("operator resumed", operator.execute_complete(context(ti), event, **deferred.kwargs or {}))
    evidence.add("deferred operator XComs", ti.xcoms)

    # Livepeer failure, in-process and deferred.
    ti = RecordingTI(task_id="failing")
    failing = LivepeerImportAssetOperator(
        task_id="failing", url=failing_url, name="f", livepeer_conn_id=leaky, poll_interval=0.02
    )
    evidence.raised("failed import", lambda: failing.execute(context(ti)), LivepeerError)
    failed_event = run_trigger(
        LivepeerTaskTrigger(ti.xcoms["livepeer_task_id"], leaky, 0.05), evidence, "failed"
    )
    assert failed_event["status"] == "failed"
    evidence.raised(
        "failed resumed",
        lambda: LivepeerTaskSensor(
            task_id="w", livepeer_task_id=ti.xcoms["livepeer_task_id"], livepeer_conn_id=leaky
        ).execute_complete(context(), failed_event),
        LivepeerError,
    )

    # Transient faults (each logged with its retry), then a timeout of an in-process wait.
    hook = fast_hook(leaky)
    livepeer_emulator.set_faults(
        queue=["503", "drop", "429", "html-502", "429-no-retry-after", "500"], retry_after=0
    )
    evidence.add("read through faults", hook.get_task(task_id).result().model_dump(mode="json"))
    evidence.raised(
        "in-process timeout",
        lambda: wait_for_task(hook, stalled_id, poll_interval=0.02, timeout=0.1, log=hook.log),
        Exception,
    )
    livepeer_emulator.set_faults(rates={"503": 1.0})
    evidence.raised(
        "retries exhausted", lambda: fast_hook(leaky, max_attempts=2).get_task(task_id), LivepeerError
    )
    poke = LivepeerTaskSensor(task_id="w", livepeer_task_id=task_id, livepeer_conn_id=leaky)
    poke.hook = fast_hook(leaky, max_attempts=2)
    assert poke.poke(context()) is False  # "not done yet", logged as a warning
    livepeer_emulator.clear_faults()

    # Permanent errors: 404, 403 (the main account's task), 401 (an emulator that does not know the key).
    evidence.raised("404", lambda: fast_hook(leaky).get_task("no-such-task"), LivepeerError)
    other = LivepeerHook(emulator_conn).import_asset(f"{ok_url}&other", "main account's").task.id
    evidence.raised("403", lambda: fast_hook(leaky).get_task(other), LivepeerError)
    run_trigger(LivepeerTaskTrigger(other, leaky, 0.05), evidence, "403")
    stranger = livepeer_emulator_factory(speed=100)
    for name, value in stranger.airflow_env("revoked", api_key=LEAKY_KEY).items():
        monkeypatch.setenv(name, value)
    evidence.raised("401", lambda: LivepeerHook("revoked").get_task(task_id), LivepeerError)
    evidence.add("401 test_connection", LivepeerHook("revoked").test_connection())
    run_trigger(LivepeerTaskTrigger(task_id, "revoked", 0.05, shared_polling=False), evidence, "401")

    printed = capfd.readouterr()
    evidence.add("stdout", printed.out)
    evidence.add("stderr", printed.err)
    evidence.add("log records", [f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records])
    # The scenarios really ran and logged: the texts searched are not empty.
    assert "attempt 1 of" in printed.out and "Livepeer upload task" in printed.out
    assert "the source is not a video" in evidence.texts["failed import str"]
    assert "HTTP 401" in evidence.texts["401 str"] and "HTTP 403" in evidence.texts["403 str"]
    assert evidence.leaks() == []


def test_key_is_nowhere_in_connection_errors(
    livepeer_connection: Callable[..., str], capfd: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens: the sync and async errors (which quote the URL and the cause) hide the key."""
    with header_recorder() as closed:
        url = closed.url
    conn_id = livepeer_connection(url)
    evidence = Evidence()
    evidence.raised("sync", lambda: fast_hook(conn_id, max_attempts=2).get_task("t1"), LivepeerError)

    async def aget() -> None:
        hook = fast_hook(conn_id, max_attempts=2)
        try:
            await hook.aget_task("t1")
        finally:
            await hook.aclose()

    evidence.raised("async", lambda: asyncio.run(aget()), LivepeerError)
    evidence.add("stdout", capfd.readouterr().out)
    assert "got no answer" in evidence.texts["sync str"] and "got no answer" in evidence.texts["async str"]
    assert evidence.leaks() == []


@reschedule_mode_works
def test_key_is_nowhere_in_airflow_task_logs_of_a_real_dag_run(
    livepeer_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    media_server: str,
    load_dag: Callable[..., Any],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """``dag.test()`` of tests/system/dags/livepeer_sensor_failures (timeouts, a failed task, each mode)."""
    livepeer_emulator.add_account(LEAKY_KEY)
    for name, value in livepeer_emulator.airflow_env("livepeer_default", api_key=LEAKY_KEY).items():
        monkeypatch.setenv(name, value)
    conf = stalled_and_failed_imports(livepeer_emulator, f"{media_server}/sample.mp4", "leak test failure")
    started = time.time()
    dag_run = load_dag("tests", "livepeer_sensor_failures").test(run_conf=conf)
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["failed_deferrable"] == "failed" and states["stalled_poke_soft"] == "skipped", states
    printed = capfd.readouterr()
    evidence = Evidence()
    evidence.add("stdout", printed.out)
    evidence.add("stderr", printed.err)
    log_dir = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    for path in log_dir.rglob("*") if log_dir.exists() else []:
        if path.is_file() and path.stat().st_mtime >= started - 1:
            evidence.add(f"log file {path.relative_to(log_dir)}", path.read_text(errors="replace"))
    logs = "\n".join(evidence.texts.values())
    assert "leak test failure" in logs and "Livepeer upload task" in logs
    assert livepeer_emulator.request_count("GET") >= 9
    assert evidence.leaks() == []


# --------------------------------------------------------------------------------------------- redirects


@pytest.fixture
def redirect_target() -> Iterator[Any]:
    """The other origin a redirect points to: 127.0.0.1 on another port, recording what it gets."""
    with header_recorder(body=task_bytes()) as target:
        yield target


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("other_host", ["127.0.0.1", "localhost"])
async def test_redirect_to_another_origin_carries_no_authorization(
    httpserver: HTTPServer,
    livepeer_connection: Callable[..., str],
    redirect_target: Any,
    status: int,
    other_host: str,
) -> None:
    target = redirect_target.url.replace("127.0.0.1", other_host)
    httpserver.expect_request("/api/task/t1").respond_with_data(
        "", status=status, headers={"Location": f"{target}/api/task/t1"}
    )
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    outcomes = []
    for label, read in (("sync", "get_task"), ("async", "aget_task")):
        hook = fast_hook(conn_id, max_attempts=1)
        try:
            result = getattr(hook, read)("t1")
            outcomes.append((label, (await result) if asyncio.iscoroutine(result) else result))
        except LivepeerError as err:  # not following redirects at all is fine too
            outcomes.append((label, err))
        finally:
            await hook.aclose()
    # The first origin got the key (the test is real); the other one never did.
    assert [r.headers.get("Authorization") for r, _ in httpserver.log] == [f"Bearer {LEAKY_KEY}"] * 2
    leaked = [
        (method, headers) for method, _, headers, _ in redirect_target.seen if "Authorization" in headers
    ]
    assert leaked == [], outcomes
    assert all(LEAKY_KEY not in json.dumps(headers) for _, _, headers, _ in redirect_target.seen)


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("create", ["transcode", "export"])
def test_redirect_of_a_create_call_does_not_resend_its_credentials_elsewhere(
    httpserver: HTTPServer,
    livepeer_connection: Callable[..., str],
    redirect_target: Any,
    status: int,
    create: str,
) -> None:
    """A create call's body can hold storage credentials: a redirect must not take them to another origin."""
    secret = "s3-secret-DO-NOT-FORWARD-91c2"
    location = {"Location": f"{redirect_target.url}/elsewhere"}
    httpserver.expect_request("/api/transcode").respond_with_data("", status=status, headers=location)
    httpserver.expect_request("/api/asset/a1/export").respond_with_data("", status=status, headers=location)
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    storage = {"type": "s3", "endpoint": "https://s3.example.com", "bucket": "b"}
    storage["credentials"] = {"accessKeyId": "AKIA", "secretAccessKey": secret}
    if create == "transcode":
        operator: Any = LivepeerTranscodeOperator(
            task_id="t", input="https://example.com/v.mp4", storage=storage, outputs={"hls": {"path": "/h"}}
        )
    else:
        operator = LivepeerExportAssetOperator(
            task_id="e",
            asset_id="a1",
            custom_url="https://example.com/put",
            custom_headers={"X-Token": secret},
        )
    operator.livepeer_conn_id = conn_id
    operator.wait_for_completion = False
    operator.hook = fast_hook(conn_id, max_attempts=1)
    errors = []
    try:
        operator.execute(context())
    except Exception as err:  # whatever the outcome, the question is what the other origin received
        errors.append(str(err))
    assert not [text for text in errors if LEAKY_KEY in text or secret in text]
    assert len(httpserver.log) == 1 and secret in httpserver.log[0][0].get_data(as_text=True)
    forwarded = [(method, path) for method, path, _, body in redirect_target.seen if secret.encode() in body]
    assert forwarded == [], f"the body with the credentials was resent to another origin: {forwarded}"
