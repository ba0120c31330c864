from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_livepeer.assets import livepeer_asset_uri
from airflow_provider_livepeer.exceptions import (
    LivepeerInvalidRequestError,
    LivepeerNotFoundError,
    LivepeerRateLimitError,
    LivepeerServerError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink
from airflow_provider_livepeer.models import TaskResult
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerDeleteAssetOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTranscodeOperator,
)
from tests.support.running import RecordingTI, context

FAST: dict[str, Any] = {"max_attempts": 3, "backoff_initial": 0.01, "backoff_max": 0.05}
S3 = {
    "type": "s3",
    "endpoint": "https://s3.x",
    "bucket": "b",
    "credentials": {"accessKeyId": "a", "secretAccessKey": "s"},
}


@pytest.mark.parametrize(
    ("operator", "message"),
    [
        (LivepeerImportAssetOperator(task_id="i1", url="", name="n"), "Invalid import URL ''"),
        (LivepeerImportAssetOperator(task_id="i2", url="ftp://host/v.mp4", name="n"), "'ftp://host/v.mp4'"),
        (
            LivepeerImportAssetOperator(task_id="i3", url="file:///etc/passwd", name="n"),
            "http/https/ipfs/ar URL",
        ),
        (
            LivepeerImportAssetOperator(task_id="i4", url="https://h/v.mp4", name=" "),
            "Invalid asset name ' '",
        ),
        (LivepeerExportAssetOperator(task_id="e1", asset_id="", ipfs=True), "Invalid Livepeer asset id ''"),
        (LivepeerExportAssetOperator(task_id="e2", asset_id="a1"), "needs exactly one destination"),
        (
            LivepeerExportAssetOperator(task_id="e3", asset_id="a1", ipfs=True, custom_url="https://x"),
            "exactly one",
        ),
        (
            LivepeerExportAssetOperator(task_id="e4", asset_id="a1", custom_url="ipfs://x"),
            "Invalid export URL",
        ),
        (
            LivepeerTranscodeOperator(task_id="t1", input="nope", storage=S3, outputs={"hls": {"path": "/"}}),
            "'nope'",
        ),
        (
            LivepeerTranscodeOperator(task_id="t2", input="https://h/v", storage={}, outputs={"hls": {}}),
            "storage",
        ),
        (
            LivepeerTranscodeOperator(task_id="t3", input="https://h/v", storage=S3, outputs={"gif": {}}),
            "outputs",
        ),
        (
            LivepeerClipOperator(task_id="c1", playback_id="pb", start_time=2000, end_time=1000),
            "end_time 1000",
        ),
        (
            LivepeerClipOperator(task_id="c2", playback_id="pb", start_time=5, end_time=5),
            "after start_time 5",
        ),
        (LivepeerClipOperator(task_id="c3", playback_id="p/b", start_time=5), "Invalid Livepeer playback id"),
        (LivepeerClipOperator(task_id="c4", playback_id="pb", start_time="soon"), "clip start_time 'soon'"),
        (LivepeerClipOperator(task_id="c5", playback_id="pb", start_time=-1), "clip start_time -1"),
    ],
    ids=lambda value: value if isinstance(value, str) else value.task_id,
)
def test_bad_arguments_fail_before_any_request(
    livepeer_emulator: Any, emulator_conn: str, operator: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("?", r"\?")):
        operator.execute(context())
    assert livepeer_emulator.request_count() == 0


def test_create_is_retried_on_rate_limit_then_fails_with_livepeer_message(
    livepeer_emulator: Any, emulator_conn: str, media_server: str
) -> None:
    livepeer_emulator.set_faults(queue=["429-no-retry-after"])
    hook = LivepeerHook(**FAST)
    imported = hook.import_asset(f"{media_server}/sample.mp4", "after a 429").task.id
    assert livepeer_emulator.request_count("POST") == 2
    deadline = time.monotonic() + 10
    while hook.get_task(imported).phase != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)

    livepeer_emulator.state.max_queued_tasks = 1
    livepeer_emulator.script_outcome(task_type="transcode-file", outcome="stall")
    hook.transcode(f"{media_server}/sample.mp4", S3, {"hls": {"path": "/a"}})
    with pytest.raises(LivepeerRateLimitError, match="HTTP 429") as err:
        hook.transcode(f"{media_server}/sample.mp4", S3, {"hls": {"path": "/b"}})
    assert "pending" in err.value.detail or "tasks" in err.value.detail
    assert livepeer_emulator.request_count("POST", "/api/transcode") == 1 + FAST["max_attempts"]


def test_work_creating_posts_are_not_resent_after_a_server_error(
    livepeer_emulator: Any, emulator_conn: str, media_server: str
) -> None:
    hook = LivepeerHook(**FAST)
    livepeer_emulator.set_faults(queue=["503"])
    with pytest.raises(LivepeerServerError):
        hook.transcode(f"{media_server}/sample.mp4", S3, {"hls": {"path": "/a"}})
    assert livepeer_emulator.request_count("POST", "/api/transcode") == 1
    # An import is safe to resend: Livepeer answers a repeated URL with the same asset and task.
    livepeer_emulator.set_faults(queue=["503"])
    assert hook.import_asset(f"{media_server}/sample.mp4", "x").task.id
    assert livepeer_emulator.request_count("POST", "/api/asset/upload/url") == 2


def test_export_of_an_asset_not_ready_is_refused(
    livepeer_emulator: Any, emulator_conn: str, media_server: str
) -> None:
    livepeer_emulator.script_outcome(f"{media_server}/sample.mp4", "stall")
    hook = LivepeerHook(**FAST)
    asset = hook.import_asset(f"{media_server}/sample.mp4", "slow").asset
    assert asset is not None
    with pytest.raises(LivepeerInvalidRequestError, match="asset is not ready to be exported"):
        hook.export_asset(asset.id, ipfs=True)


def test_clip_of_an_asset_is_not_found_by_livepeer(
    livepeer_emulator: Any, emulator_conn: str, media_server: str
) -> None:
    hook = LivepeerHook(**FAST)
    asset = hook.import_asset(f"{media_server}/sample.mp4", "clip me").asset
    assert asset is not None and asset.playback_id
    # Livepeer looks the playback id up among streams only: an asset's is "Content not found".
    with pytest.raises(LivepeerNotFoundError, match="Content not found"):
        hook.create_clip(asset.playback_id, 1_000, 2_000)


def test_delete_operator(livepeer_emulator: Any, emulator_conn: str, media_server: str) -> None:
    hook = LivepeerHook(**FAST)
    asset = hook.import_asset(f"{media_server}/sample.mp4", "to delete").asset
    assert asset is not None
    LivepeerDeleteAssetOperator(task_id="d", asset_id=asset.id).execute({})
    assert livepeer_emulator.asset(asset.id)["status"]["phase"] == "deleting"
    with pytest.raises(LivepeerInvalidRequestError, match="already deleted"):
        LivepeerDeleteAssetOperator(task_id="d", asset_id=asset.id).execute({})
    LivepeerDeleteAssetOperator(task_id="d", asset_id=asset.id, missing_ok=True).execute({})
    with pytest.raises(LivepeerNotFoundError):
        LivepeerDeleteAssetOperator(task_id="d", asset_id="no-such-asset").execute({})
    LivepeerDeleteAssetOperator(task_id="d", asset_id="no-such-asset", missing_ok=True).execute({})
    assert livepeer_emulator.request_count("DELETE") == 5


def test_waiting_times_out(livepeer_emulator: Any, emulator_conn: str, media_server: str) -> None:
    import logging

    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    from airflow_provider_livepeer.waiting import wait_for_task

    livepeer_emulator.script_outcome(task_type="transcode-file", outcome="stall")
    hook = LivepeerHook(**FAST)
    work = hook.transcode(f"{media_server}/sample.mp4", S3, {"mp4": {"path": "/m"}})
    started = time.monotonic()
    with pytest.raises(AirflowSensorTimeout, match=r"did not finish within 1\.0 s"):
        wait_for_task(hook, work.task.id, poll_interval=0.05, timeout=1.0, log=logging.getLogger("test"))
    assert 1.0 <= time.monotonic() - started < 10
    # Polled, not given up after one read (a loaded machine may make each read slow: at least two).
    assert livepeer_emulator.request_count("GET", f"/api/task/{work.task.id}") >= 2


def test_template_fields_cover_every_user_argument() -> None:
    assert {"url", "name", "playback_policy", "storage", "profiles", "creator_id", "livepeer_conn_id"} <= set(
        LivepeerImportAssetOperator.template_fields
    )
    assert {"asset_id", "ipfs", "custom_url", "custom_headers"} <= set(
        LivepeerExportAssetOperator.template_fields
    )
    assert {"input", "storage", "outputs", "profiles"} <= set(LivepeerTranscodeOperator.template_fields)
    assert {"playback_id", "start_time", "end_time", "name", "session_id"} <= set(
        LivepeerClipOperator.template_fields
    )
    assert {"asset_id", "livepeer_conn_id"} <= set(LivepeerDeleteAssetOperator.template_fields)


def test_links_and_asset_uris() -> None:
    # The task link opens a page a person can read: the asset's, or an exported file; never the API.
    assert LivepeerTaskLink.url("https://livepeer.studio/api", "a1") == (
        "https://livepeer.studio/dashboard/assets/a1"
    )
    assert LivepeerTaskLink.url("https://livepeer.studio/api", "a1", "https://gw/ipfs/bafy") == (
        "https://gw/ipfs/bafy"
    )
    assert LivepeerTaskLink.url("https://livepeer.studio/api", None) is None  # a transcode has no page
    assert (
        LivepeerAssetLink.url("https://livepeer.studio/api", "a1")
        == "https://livepeer.studio/dashboard/assets/a1"
    )
    assert (
        LivepeerAssetLink.url("http://127.0.0.1:3000/api", "a1")
        == "http://127.0.0.1:3000/dashboard/assets/a1"
    )
    assert LivepeerTaskLink().name == "Livepeer task" and LivepeerAssetLink().name == "Livepeer asset"
    done = TaskResult(livepeer_task_id="t1", type="upload", phase="completed", output_asset_id="a1")
    assert livepeer_asset_uri("https://livepeer.studio/api", done) == "livepeer://livepeer.studio/assets/a1"
    export = TaskResult(livepeer_task_id="t2", type="export", phase="completed")
    assert livepeer_asset_uri("http://127.0.0.1:3000/api", export) == "livepeer://127.0.0.1:3000/tasks/t2"


def test_alias_becomes_an_outlet() -> None:
    from airflow.providers.common.compat.sdk import AssetAlias

    operator = LivepeerImportAssetOperator(
        task_id="i", url="https://h/v.mp4", name="n", airflow_asset_alias="imports"
    )
    assert AssetAlias("imports") in operator.outlets


def test_a_stored_task_that_is_gone_is_not_reattached_to(livepeer_emulator: Any, emulator_conn: str) -> None:
    operator = LivepeerTranscodeOperator(
        task_id="t", input="https://h/v.mp4", storage=S3, outputs={"hls": {}}
    )
    status = operator.get_job_status("no-such-task", {})
    assert not operator.is_job_active(status) and not operator.is_job_succeeded(status)  # so: new work
    assert livepeer_emulator.request_count("GET", "/api/task/no-such-task") == 1


def test_reattach_pushes_the_same_ids_as_a_first_try(
    livepeer_emulator: Any, emulator_conn: str, media_server: str
) -> None:
    hook = LivepeerHook(**FAST)
    created = hook.import_asset(f"{media_server}/sample.mp4", "x")
    assert created.asset is not None
    livepeer_emulator.wait_for_jobs()
    ti = RecordingTI()
    operator = LivepeerImportAssetOperator(task_id="i", url=f"{media_server}/sample.mp4", name="x")
    assert operator.get_job_status(created.task.id, {"ti": ti}) == "completed"
    assert ti.xcoms["livepeer_task_id"] == created.task.id
    assert ti.xcoms["output_asset_id"] == created.asset.id
    assert ti.xcoms["playback_id"] == created.asset.playback_id
    assert (
        ti.xcoms["_link_LivepeerTaskLink"] == f"{livepeer_emulator.url}/dashboard/assets/{created.asset.id}"
    )
