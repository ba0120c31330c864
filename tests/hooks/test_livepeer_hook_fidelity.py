"""The hook against what the real server does: the clip rate limit, and imports whose answer was lost."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from airflow_provider_livepeer.exceptions import LivepeerPermissionError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import Task, TaskPhase, parse
from airflow_provider_livepeer.operators.livepeer import LivepeerClipOperator
from tests.support.emulator_api import recorded_stream

QUICK: dict[str, Any] = {"backoff_initial": 0.2, "backoff_max": 0.5}


def _assets(emulator: Any) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {emulator.api_key}"}
    return requests.get(f"{emulator.api_url}/asset", headers=headers, timeout=10).json()  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- clip rate limit


# Livepeer counts only unfinished clips: at speed 1 a clip runs for 8 s, longer than the window.
@pytest.mark.livepeer_emulator(clip_rate_window=4, speed=1)
def test_clip_rate_limit_is_retried_until_it_clears(
    livepeer_emulator: Any, emulator_conn: str, stream_playback_id: str
) -> None:
    hook = LivepeerHook(**QUICK)
    for index in range(5):
        hook.create_clip(stream_playback_id, 1_000, 2_000, name=f"clip {index}")
    started = time.monotonic()
    sixth = hook.create_clip(stream_playback_id, 1_000, 2_000, name="sixth", rate_limit_timeout=20)
    waited = time.monotonic() - started
    assert sixth.asset is not None and sixth.asset.name == "sixth"
    # The window is 4 s: the sixth clip waited out what was left of it after the first five were made.
    assert 0.5 < waited < 20
    refused = livepeer_emulator.request_count("POST", "/api/clip", status=403)
    assert refused >= 1
    assert livepeer_emulator.request_count("POST", "/api/clip", status=200) == 6


@pytest.mark.livepeer_emulator(clip_rate_window=60, speed=1)  # the clips stay unfinished for 8 s
def test_clip_rate_limit_gives_up_after_its_timeout(
    livepeer_emulator: Any, emulator_conn: str, stream_playback_id: str
) -> None:
    hook = LivepeerHook(**QUICK)
    for _ in range(5):
        hook.create_clip(stream_playback_id, 1_000)
    livepeer_emulator.reset_requests()
    operator = LivepeerClipOperator(
        task_id="clip", playback_id=stream_playback_id, start_time=1_000, rate_limit_timeout=0
    )
    with pytest.raises(LivepeerPermissionError, match="Too many clips are being processed"):
        operator.create(hook)
    assert livepeer_emulator.request_count("POST", "/api/clip") == 1
    started = time.monotonic()
    with pytest.raises(LivepeerPermissionError, match="Too many clips are being processed"):
        hook.create_clip(stream_playback_id, 1_000, rate_limit_timeout=1.0)
    assert time.monotonic() - started < 3
    assert livepeer_emulator.request_count("POST", "/api/clip") >= 3  # retried within the second


def test_other_403s_of_a_clip_fail_at_once(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    theirs = recorded_stream(livepeer_emulator, sample_video_url, api_key=livepeer_emulator.api_keys[1])
    hook = LivepeerHook(**QUICK)
    with pytest.raises(LivepeerPermissionError, match="You do not have permission to clip this stream"):
        hook.create_clip(theirs, 1_000, rate_limit_timeout=30)
    assert livepeer_emulator.request_count("POST", "/api/clip") == 1


# ----------------------------------------------------------------------------- imports whose answer was lost


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_import_whose_answer_was_lost_attaches_to_the_task_it_started(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, fault: str
) -> None:
    # The import is processed, then its answer is lost; by the time the hook tries again the first import
    # is over, so Livepeer's own dedupe (assets still waiting/processing) would make a second asset.
    livepeer_emulator.set_faults(queue=[fault], timing="after", path_prefix="/api/asset/upload/url")
    hook = LivepeerHook(backoff_initial=0.5, backoff_max=0.5)
    created = hook.import_asset(sample_video_url, "once")
    assets = _assets(livepeer_emulator)
    assert [asset["id"] for asset in assets] == [created.asset.id if created.asset else None]
    assert livepeer_emulator.request_count("POST", "/api/asset/upload/url") == 1
    assert livepeer_emulator.request_count("GET", "/api/task") == 1  # one look in the task list
    assert hook.get_task(created.task.id).output_asset_id == assets[0]["id"]


def test_import_refused_before_processing_is_sent_again(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    livepeer_emulator.set_faults(queue=["503"], timing="before", path_prefix="/api/asset/upload/url")
    hook = LivepeerHook(**QUICK)
    created = hook.import_asset(sample_video_url, "second try")
    assert [asset["id"] for asset in _assets(livepeer_emulator)] == [
        created.asset.id if created.asset else None
    ]
    assert livepeer_emulator.request_count("POST", "/api/asset/upload/url") == 2
    assert livepeer_emulator.request_count("GET", "/api/task") == 1


# ----------------------------------------------------------------------------- answer shapes


def test_a_failed_task_with_output_is_accepted(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str
) -> None:
    # Livepeer may write `output` on a failed task (the emulator never does): the task, as the emulator
    # shows it completed, with a failed status instead.
    hook = LivepeerHook(**QUICK)
    created = hook.import_asset(sample_video_url, "fails late")
    deadline = time.monotonic() + 10
    while not (task := hook.get_task(created.task.id)).is_terminal and time.monotonic() < deadline:
        time.sleep(0.02)
    shown = task.model_dump(by_alias=True, exclude_none=True)
    shown["status"] = {
        "phase": "failed",
        "updatedAt": shown["status"]["updatedAt"] + 1,
        "errorMessage": "late",
    }
    failed = parse(Task, shown, "failed task")
    assert (failed.known_phase, failed.error_message) == (TaskPhase.FAILED, "late")
    assert failed.output == task.output and failed.output["upload"]["assetSpec"]["id"] == created.asset.id  # type: ignore[union-attr]
    assert (failed.result().error_message, failed.result().output) == ("late", task.output)
