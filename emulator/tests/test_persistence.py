"""The state file: a demo stopped and started again carries on where it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from livepeer_studio_emulator import payloads
from livepeer_studio_emulator.persistence import STATE_VERSION
from livepeer_studio_emulator.state import EmulatorState

from tests.support.emulator_api import ApiClient, recorded_playback_id, video_bytes
from tests.support.locks import WatchedLock
from tests.support.servers import MediaServer


def test_state_survives_a_restart(livepeer_emulator_factory: Any, tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "emulator.json"
    source = tmp_path / "in.mp4"
    source.write_bytes(video_bytes())
    first = livepeer_emulator_factory(api_keys=["demo-key"], speed=1000, state_file=state_file)
    api = ApiClient(first.url, "demo-key")
    asset, task_id = api.import_url(source.as_uri())
    done = api.wait_task(task_id)
    clip = api.post("/clip", json={"playbackId": recorded_playback_id(api), "startTime": 1}).json()
    first.script_outcome("https://example.com/a.mp4", "fail", error_message="scripted", times=2)
    before_asset = api.get(f"/asset/{asset['id']}").json()
    first.stop()

    saved = json.loads(state_file.read_text())
    assert saved["format"] == "livepeer-emulator-state"
    assert "demo-key" not in state_file.read_text()  # keys are not stored

    second = livepeer_emulator_factory(api_keys=["demo-key"], speed=1000, state_file=state_file)
    api = ApiClient(second.url, "demo-key")
    assert api.task(task_id) == done
    assert api.get(f"/asset/{asset['id']}").json() == before_asset
    assert api.wait_task(clip["task"]["id"])["status"]["phase"] == "completed"
    [rule] = second.state.outcome_rules()
    assert (rule.url, rule.times, rule.outcome.error_message) == ("https://example.com/a.mp4", 2, "scripted")
    new_asset, new_task = api.import_url(source.as_uri(), name="again")
    assert new_asset["id"] != asset["id"]
    assert {task["id"] for task in api.get("/task").json()} == {task_id, clip["task"]["id"], new_task}
    # Another key sees none of it.
    assert ApiClient(second.url, "emulator-key").get("/task").status_code == 401


def test_interrupted_import_resumes_after_restart(
    livepeer_emulator_factory: Any, tmp_path: Path, media_host: MediaServer
) -> None:
    state_file = tmp_path / "state.json"
    media_host.release.clear()
    url = media_host.add("/held.mp4", video_bytes())
    first = livepeer_emulator_factory(api_keys=["k"], speed=1000, state_file=state_file)
    _, task_id = ApiClient(first.url, "k").import_url(url)
    first.stop()  # while the fetch waits on the held answer
    media_host.release.set()
    second = livepeer_emulator_factory(api_keys=["k"], speed=1000, state_file=state_file)
    task = ApiClient(second.url, "k").wait_task(task_id)
    assert task["status"]["phase"] == "completed"
    assert task["output"]["upload"]["assetSpec"]["size"] == len(video_bytes())


def test_unreadable_state_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    with pytest.raises(
        ValueError, match=r"Cannot load the emulator state file .*bad.json: not a livepeer-emulator-state"
    ):
        EmulatorState("k", state_file=bad)
    bad.write_text("not json")
    with pytest.raises(ValueError, match="Cannot load the emulator state file"):
        EmulatorState("k", state_file=bad)


def test_missing_state_file_starts_empty_and_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    state = EmulatorState("k", state_file=path)
    assert not path.exists()
    state.reset()
    state.flush()
    assert json.loads(path.read_text())["tasks"] == []
    state.close()


def test_changes_within_the_interval_are_written_once_at_close(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    # An interval longer than the test: every change falls within it, so the only write is close()'s.
    state = EmulatorState("k", state_file=path, save_interval=60)
    account = state.account()
    for number in range(200):
        state.create_stream(account, payloads.NewStreamPayload(name=f"s{number}"))
    assert state._file is not None
    assert state._file.writes == 0
    assert not path.exists()
    state.close()
    assert state._file.writes == 1
    assert len(json.loads(path.read_text())["streams"]) == 200


def test_changes_made_while_a_write_waits_are_coalesced_into_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.json"
    state = EmulatorState("k", state_file=path, save_interval=0.05)
    account = state.account()
    lock = state._lock
    watched = WatchedLock(lock)
    monkeypatch.setattr(state, "_lock", watched)
    with lock:  # the writer's snapshot waits for it; this thread's changes re-enter it
        state.create_stream(account, payloads.NewStreamPayload(name="s0"))
        assert watched.waiting.wait(30), "the writer never came to take its snapshot"
        for number in range(1, 200):
            state.create_stream(account, payloads.NewStreamPayload(name=f"s{number}"))
        assert state._file is not None
        assert state._file.writes == 0
    state.close()
    # The write that waited holds all 200 changes (it took the lock after them); the changes made after it
    # had cleared the pending mark make one more: two writes for 200 changes, however long they took.
    assert state._file.writes == 2
    assert len(json.loads(path.read_text())["streams"]) == 200


def test_the_last_change_is_on_disk_after_a_stop(livepeer_emulator_factory: Any, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    # A long interval: nothing would be written before the stop but for the flush at the stop.
    emulator = livepeer_emulator_factory(state=EmulatorState("k", state_file=path, save_interval=60))
    api = ApiClient(emulator.url, "k")
    stream = api.post("/stream", json={"name": "last"}).json()
    assert not path.exists()
    emulator.stop()
    assert [saved["id"] for saved in json.loads(path.read_text())["streams"]] == [stream["id"]]


def test_state_file_of_the_earlier_format_loads(tmp_path: Path) -> None:
    # As written before the models were pydantic ones: phase times with snake_case keys.
    times = {
        "pending_ms": 1,
        "waiting_ms": 1,
        "running_ms": 1,
        "retry_delays_ms": [1, 1],
        "progress_steps": 2,
    }
    task = {
        "id": "t1", "seq": 1, "type": "transcode-file", "userId": "u", "projectId": "p", "createdMs": 1000,
        "params": {"transcode-file": {}}, "times": times, "outcome": {"outcome": "fail", "retries": 0},
        "inputAssetId": None, "outputAssetId": None, "requesterId": None, "job": None, "output": None,
        "exportTarget": None,
    }  # fmt: skip
    rule = {"id": "r1", "url": "https://x/a.mp4", "taskType": None, "playbackId": None, "times": 2}
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {
                "format": "livepeer-emulator-state",
                "version": STATE_VERSION,
                "savedAt": 1,
                "seq": 1,
                "tasks": [task],
                "assets": [],
                "outcomes": [{**rule, "outcome": "fail", "retries": 1, "errorMessage": "old"}],
                "streams": [],
            }
        )
    )
    state = EmulatorState("k", state_file=path)
    assert state.task_view("t1")["status"] == {
        "phase": "failed",
        "updatedAt": 1004,
        "retries": 0,
        "errorMessage": "emulated failure",
    }
    [loaded] = state.outcome_rules()
    assert (loaded.id, loaded.times, loaded.outcome.retries, loaded.outcome.error_message) == (
        "r1",
        2,
        1,
        "old",
    )
    state.close()


def test_a_state_file_of_another_version_is_refused_with_the_reason(tmp_path: Path) -> None:
    # Version 1 kept one retry delay; Livepeer waits 30 s, then 180 s.
    path = tmp_path / "v1.json"
    path.write_text(json.dumps({"format": "livepeer-emulator-state", "version": 1, "tasks": []}))
    with pytest.raises(ValueError, match=rf"v1.json: version 1 is not {STATE_VERSION}"):
        EmulatorState("k", state_file=path)
