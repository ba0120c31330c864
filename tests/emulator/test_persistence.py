"""The state file: a demo stopped and started again carries on where it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_livepeer.emulator.state import EmulatorState
from tests.support.emulator_api import ApiClient, recorded_playback_id, video_bytes
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
    livepeer_emulator_factory: Any, tmp_path: Path, media_server: MediaServer
) -> None:
    state_file = tmp_path / "state.json"
    media_server.release.clear()
    url = media_server.add("/held.mp4", video_bytes())
    first = livepeer_emulator_factory(api_keys=["k"], speed=1000, state_file=state_file)
    _, task_id = ApiClient(first.url, "k").import_url(url)
    first.stop()  # while the fetch waits on the held answer
    media_server.release.set()
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
    assert json.loads(path.read_text())["tasks"] == []
    state.close()
