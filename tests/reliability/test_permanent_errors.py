"""Permanent errors fail fast: 401, 403, 404 and 422 cost exactly one request, carry Livepeer's message.

Each path uses the provider's default retry settings (first backoff 1 s), so a retried permanent error
would also show as a slow call; every call here must end well under that.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_livepeer.exceptions import (
    LivepeerAuthenticationError,
    LivepeerError,
    LivepeerInvalidRequestError,
    LivepeerNotFoundError,
    LivepeerPermissionError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTranscodeOperator,
)
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.waiting import wait_for_task
from tests.support.running import RecordingTI, context, fast_hook, trigger_events

#: A permanent error must come back before the first retry would even have started (the default first
#: backoff is 1 s); the one-request count is the exact check, this one catches a sleep before failing.
FAST_FAIL_SECONDS = 1.0
#: Livepeer's 401 echoes the unknown key ("no token <key> found"): the provider masks it.
UNKNOWN_KEY_MESSAGE = "no token *** found"
OTHER_TASK_MESSAGE = "user can only request information on their own tasks"
WEB3 = {"type": "web3.storage", "credentials": {"proof": "UCAN"}}


@pytest.fixture
def accounts(
    livepeer_emulator: Any, emulator_conn: str, monkeypatch: pytest.MonkeyPatch, sample_video_url: str
) -> dict[str, Any]:
    """A completed import of the main account; connections ``other`` (2nd account) and ``wrong`` (401)."""
    hook = fast_hook()
    work = hook.import_asset(sample_video_url, "owned by the main account")
    wait_for_task(hook, work.task.id, poll_interval=0.02, timeout=20, log=logging.getLogger("test"))
    for name, value in livepeer_emulator.airflow_env("other", api_key=livepeer_emulator.api_keys[1]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_CONN_WRONG", livepeer_emulator.airflow_conn_json(api_key="not-a-key-0042"))
    livepeer_emulator.reset_requests()
    assert work.asset is not None
    return {"task_id": work.task.id, "asset_id": work.asset.id}


def one_request(emulator: Any, started: float) -> None:
    assert len(emulator.requests) == 1, [(r.method, r.path, r.status) for r in emulator.requests]
    assert time.monotonic() - started < FAST_FAIL_SECONDS


HOOK_CASES: list[
    tuple[str, str, Callable[[LivepeerHook, dict[str, Any]], Any], type[Exception], int, str]
] = [
    ("wrong", "get_task", lambda h, a: h.get_task(a["task_id"]), LivepeerAuthenticationError, 401, ""),
    ("wrong", "list_tasks", lambda h, a: list(h.list_tasks()), LivepeerAuthenticationError, 401, ""),
    ("wrong", "get_asset", lambda h, a: h.get_asset(a["asset_id"]), LivepeerAuthenticationError, 401, ""),
    (
        "wrong",
        "import_asset",
        lambda h, a: h.import_asset("https://example.com/v.mp4", "n"),
        LivepeerAuthenticationError,
        401,
        "",
    ),
    (
        "wrong",
        "transcode",
        lambda h, a: h.transcode("https://example.com/v.mp4", WEB3, {"mp4": {"path": "/o"}}),
        LivepeerAuthenticationError,
        401,
        "",
    ),
    ("other", "get_task", lambda h, a: h.get_task(a["task_id"]), LivepeerPermissionError, 403, ""),
    (
        "other",
        "delete_asset",
        lambda h, a: h.delete_asset(a["asset_id"]),
        LivepeerPermissionError,
        403,
        "users may only delete their own assets",
    ),
    (
        "other",
        "export_asset",
        lambda h, a: h.export_asset(a["asset_id"], ipfs=True),
        LivepeerPermissionError,
        403,
        "User can only export their own assets",
    ),
    ("livepeer_default", "get_task", lambda h, a: h.get_task("no-such-task"), LivepeerNotFoundError, 404, ""),
    (
        "livepeer_default",
        "get_asset",
        lambda h, a: h.get_asset("no-such-asset"),
        LivepeerNotFoundError,
        404,
        "Asset not found",
    ),
    (
        "livepeer_default",
        "delete_asset",
        lambda h, a: h.delete_asset("no-such-asset"),
        LivepeerNotFoundError,
        404,
        "Asset not found",
    ),
    (
        "livepeer_default",
        "export_asset",
        lambda h, a: h.export_asset("no-such-asset", custom_url="https://example.com/put"),
        LivepeerNotFoundError,
        404,
        "Asset not found with id no-such-asset",
    ),
    (
        "livepeer_default",
        "import playbackPolicy",
        lambda h, a: h.import_asset("https://example.com/v.mp4", "n", playback_policy={"type": "bogus"}),
        LivepeerInvalidRequestError,
        422,
        '"instancePath":"/playbackPolicy/type"',
    ),
    (
        "livepeer_default",
        "import profiles",
        lambda h, a: h.import_asset("https://example.com/v.mp4", "n", profiles=[{"bitrate": 100}]),
        LivepeerInvalidRequestError,
        422,
        '"instancePath":"/profiles/0/bitrate"',
    ),
    (
        "livepeer_default",
        "import extra property",
        lambda h, a: h.import_asset("https://example.com/v.mp4", "n", storage={"ipfs": True, "arweave": 1}),
        LivepeerInvalidRequestError,
        422,
        '"additionalProperty":"arweave"',
    ),
    (
        "livepeer_default",
        "clip name type",
        lambda h, a: h.create_clip("livestream1", 1_000, 2_000, name=123),  # type: ignore[arg-type]
        LivepeerInvalidRequestError,
        422,
        '"instancePath":"/name","schemaPath":"#/properties/name/type"',
    ),
    (
        "livepeer_default",
        "export headers type",
        lambda h, a: h.export_asset(
            a["asset_id"], custom_url="https://example.com/put", custom_headers={"x": 1}
        ),
        LivepeerInvalidRequestError,
        422,
        '"instancePath":"/custom/headers/x"',
    ),
]


@pytest.mark.parametrize(
    ("conn_id", "call", "error_class", "status", "message"),
    [(c[0], c[2], c[3], c[4], c[5]) for c in HOOK_CASES],
    ids=[f"{c[4]}-{c[1]}" for c in HOOK_CASES],
)
def test_hook_fails_at_once_with_livepeer_message(
    livepeer_emulator: Any,
    accounts: dict[str, Any],
    conn_id: str,
    call: Callable[[LivepeerHook, dict[str, Any]], Any],
    error_class: type[Exception],
    status: int,
    message: str,
) -> None:
    message = message or {401: UNKNOWN_KEY_MESSAGE, 403: OTHER_TASK_MESSAGE, 404: "not found"}[status]
    started = time.monotonic()
    with pytest.raises(error_class) as err:
        call(LivepeerHook(conn_id), accounts)
    one_request(livepeer_emulator, started)
    assert type(err.value) is error_class
    assert err.value.status == status  # type: ignore[attr-defined]
    assert f"HTTP {status}" in str(err.value) and message in str(err.value)
    assert "not-a-key-0042" not in str(err.value)  # Livepeer's 401 names the key; the error does not
    assert livepeer_emulator.requests[0].status == status


@pytest.mark.parametrize(
    ("conn_id", "task_key", "error_class", "message"),
    [
        ("wrong", "task_id", LivepeerAuthenticationError, UNKNOWN_KEY_MESSAGE),
        ("other", "task_id", LivepeerPermissionError, OTHER_TASK_MESSAGE),
        ("livepeer_default", None, LivepeerNotFoundError, "not found"),
    ],
    ids=["401", "403", "404"],
)
@pytest.mark.parametrize("mode", ["poke", "reschedule", "deferrable"])
def test_sensor_fails_at_once_in_every_mode(
    livepeer_emulator: Any,
    accounts: dict[str, Any],
    mode: str,
    conn_id: str,
    task_key: str | None,
    error_class: type[Exception],
    message: str,
) -> None:
    sensor = LivepeerTaskSensor(
        task_id="wait",
        livepeer_task_id=accounts[task_key] if task_key else "no-such-task",
        livepeer_conn_id=conn_id,
        poke_interval=0.05,
        timeout=30,
        mode="reschedule" if mode == "reschedule" else "poke",
        deferrable=mode == "deferrable",
        # Without a grace a 404 is final at once (test_not_found_grace covers the grace).
        not_found_grace=0,
    )
    ti = RecordingTI()
    started = time.monotonic()
    with pytest.raises(
        error_class, match=re.escape(message)
    ):  # never TaskDeferred: the first poke already failed
        sensor.execute(context(ti))
    one_request(livepeer_emulator, started)
    # Nothing is published: the links' XComs stay as every run starts them, empty.
    assert ti.xcoms == {"_link_LivepeerTaskLink": "", "_link_LivepeerAssetLink": ""}


@pytest.mark.parametrize(
    ("conn_id", "task_key", "status", "message"),
    [
        ("wrong", "task_id", 401, UNKNOWN_KEY_MESSAGE),
        ("other", "task_id", 403, OTHER_TASK_MESSAGE),
        ("livepeer_default", None, 404, "not found"),
    ],
    ids=["401", "403", "404"],
)
@pytest.mark.parametrize("shared_polling", [True, False], ids=["shared", "polling"])
async def test_trigger_fires_one_error_event_then_the_sensor_fails(
    livepeer_emulator: Any,
    accounts: dict[str, Any],
    shared_polling: bool,
    conn_id: str,
    task_key: str | None,
    status: int,
    message: str,
) -> None:
    task_id = accounts[task_key] if task_key else "no-such-task"
    trigger = LivepeerTaskTrigger(task_id, conn_id, poll_interval=0.05, shared_polling=shared_polling)
    started = time.monotonic()
    [event] = await trigger_events(trigger, limit=10)
    one_request(livepeer_emulator, started)
    assert event["status"] == "error" and event["livepeer_task_id"] == task_id
    assert f"HTTP {status}" in event["message"] and message in event["message"]
    sensor = LivepeerTaskSensor(task_id="wait", livepeer_task_id=task_id, livepeer_conn_id=conn_id)
    with pytest.raises(LivepeerError, match=re.escape(message)):
        sensor.execute_complete(context(), event)


@pytest.mark.parametrize(
    ("make", "conn_id", "error_class", "status", "message"),
    [
        (
            lambda a: LivepeerImportAssetOperator(task_id="op", url="https://example.com/v.mp4", name="n"),
            "wrong",
            LivepeerAuthenticationError,
            401,
            UNKNOWN_KEY_MESSAGE,
        ),
        (
            lambda a: LivepeerExportAssetOperator(task_id="op", asset_id=a["asset_id"], ipfs=True),
            "other",
            LivepeerPermissionError,
            403,
            "User can only export their own assets",
        ),
        (
            lambda a: LivepeerExportAssetOperator(task_id="op", asset_id="no-such-asset", ipfs=True),
            "livepeer_default",
            LivepeerNotFoundError,
            404,
            "Asset not found with id no-such-asset",
        ),
        (
            lambda a: LivepeerImportAssetOperator(
                task_id="op", url="https://example.com/v.mp4", name="n", playback_policy={"type": "bogus"}
            ),
            "livepeer_default",
            LivepeerInvalidRequestError,
            422,
            '"instancePath":"/playbackPolicy/type"',
        ),
        (
            lambda a: LivepeerTranscodeOperator(
                task_id="op",
                input="https://example.com/v.mp4",
                storage=WEB3,
                outputs={"mp4": {"path": "/o"}},
                profiles=[{"bitrate": "high"}],
            ),
            "livepeer_default",
            LivepeerInvalidRequestError,
            422,
            '"instancePath":"/profiles/0/bitrate"',
        ),
        (
            lambda a: LivepeerClipOperator(
                task_id="op", playback_id="livestream1", start_time=1_000, end_time=2_000, name=["x"]
            ),
            "livepeer_default",
            LivepeerInvalidRequestError,
            422,
            '"instancePath":"/name"',
        ),
    ],
    ids=["401-import", "403-export", "404-export", "422-import", "422-transcode", "422-clip"],
)
@pytest.mark.parametrize("deferrable", [False, True], ids=["sync", "deferrable"])
def test_operator_create_fails_at_once(
    livepeer_emulator: Any,
    accounts: dict[str, Any],
    deferrable: bool,
    make: Callable[[dict[str, Any]], Any],
    conn_id: str,
    error_class: type[Exception],
    status: int,
    message: str,
) -> None:
    operator = make(accounts)
    operator.livepeer_conn_id = conn_id
    operator.deferrable = deferrable
    ti = RecordingTI()
    started = time.monotonic()
    with pytest.raises(error_class) as err:  # not TaskDeferred: nothing was created to wait for
        operator.execute(context(ti))
    one_request(livepeer_emulator, started)
    assert livepeer_emulator.requests[0].method == "POST"
    assert f"HTTP {status}" in str(err.value) and message in str(err.value)
    assert "livepeer_task_id" not in ti.xcoms
    assert not isinstance(err.value, TaskDeferred)


async def test_deferred_operator_resumes_into_the_error(
    livepeer_emulator: Any, accounts: dict[str, Any], monkeypatch: pytest.MonkeyPatch, sample_video_url: str
) -> None:
    """The import is created and deferred, then the key is revoked: the resumed operator fails with 401."""
    operator = LivepeerImportAssetOperator(
        task_id="op", url=f"{sample_video_url}?revoked", name="n", deferrable=True, poll_interval=0.05
    )
    ti = RecordingTI(task_id="op")
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context(ti))
    livepeer_emulator.reset_requests()
    _, kwargs = deferred.value.trigger.serialize()
    monkeypatch.setenv(
        "AIRFLOW_CONN_LIVEPEER_DEFAULT", livepeer_emulator.airflow_conn_json(api_key="revoked-1")
    )
    [event] = await trigger_events(LivepeerTaskTrigger(**kwargs), limit=10)
    one_request(livepeer_emulator, time.monotonic())
    assert event["status"] == "error" and UNKNOWN_KEY_MESSAGE in event["message"]
    with pytest.raises(LivepeerError, match="HTTP 401"):
        getattr(operator, deferred.value.method_name)(context(ti), event, **deferred.value.kwargs)
