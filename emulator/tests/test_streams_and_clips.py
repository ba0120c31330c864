"""Streams through Livepeer's stream endpoints, and ``POST /api/clip`` by the server's rules."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests
from livepeer_studio_emulator.clock import ManualClock

from tests.support.emulator_api import ApiClient, new_stream, video_bytes


@pytest.fixture
def recording(tmp_path: Path) -> str:
    """A real media file standing for a recorded session."""
    path = tmp_path / "recording.mp4"
    path.write_bytes(video_bytes(2.0))
    return path.as_uri()


@pytest.fixture
def frozen(livepeer_emulator_factory: Any) -> Any:
    return livepeer_emulator_factory(api_keys=["key-a", "key-b"], clock=ManualClock(1_700_000_000))


def test_stream_is_created_and_read_through_the_stream_endpoints(
    api: ApiClient, other_api: ApiClient
) -> None:
    response = api.post("/stream", json={"name": "Morning show", "record": True})
    assert response.status_code == 201
    stream = response.json()
    assert (stream["name"], stream["record"], stream["isActive"]) == ("Morning show", True, False)
    assert len(stream["playbackId"]) == 16 and stream["streamKey"]
    assert api.get(f"/stream/{stream['id']}").json() == stream
    assert [item["id"] for item in api.get("/stream").json()] == [stream["id"]]
    hidden = other_api.get(f"/stream/{stream['id']}")
    assert (hidden.status_code, hidden.json()) == (404, {"errors": ["stream not found"]})
    assert other_api.get("/stream").json() == []
    invalid = api.post("/stream", json={"record": True})
    assert invalid.status_code == 422


def test_clip_of_a_recorded_session_is_made_of_the_recording(
    api: ApiClient, livepeer_emulator: Any, recording: str, tmp_path: Path
) -> None:
    stream = new_stream(api, recording)
    body = {"playbackId": stream["playbackId"], "startTime": 1000, "endTime": 31000, "name": "c"}
    response = api.post("/clip", json=body)
    assert response.status_code == 200
    assert list(response.json()) == ["task", "asset"]
    asset = response.json()["asset"]
    assert asset["source"] == {
        "type": "clip",
        "playbackId": stream["playbackId"],
        "sessionId": stream["sessionId"],
    }
    task = api.task(response.json()["task"]["id"])
    clip = task["params"]["clip"]
    assert clip["clipStrategy"] == {"playbackId": stream["playbackId"], "startTime": 1000, "endTime": 31000}
    assert (clip["sessionId"], clip["inputId"]) == (stream["sessionId"], stream["id"])
    done = api.wait_task(task["id"])
    spec = done["output"]["clip"]["assetSpec"]
    # Real media facts: the recording's own duration and bytes, not a spec made up from the times.
    assert spec["videoSpec"]["duration"] == pytest.approx(2.0, abs=0.1)
    content = (tmp_path / "recording.mp4").read_bytes()
    assert spec["size"] == len(content)
    assert {"hash": hashlib.sha256(content).hexdigest(), "algorithm": "sha256"} in spec["hash"]
    named = api.post("/clip", json={"playbackId": stream["playbackId"], "startTime": 5}).json()["asset"]
    assert named["name"] == f"clip-{named['playbackId']}"


def test_clip_looks_the_playback_id_up_among_streams_only(
    api: ApiClient, other_api: ApiClient, livepeer_emulator: Any, recording: str, tmp_path: Path
) -> None:
    source = tmp_path / "a.mp4"
    source.write_bytes(video_bytes())
    asset, task_id = api.import_url(source.as_uri())
    api.wait_task(task_id)
    for playback_id in (asset["playbackId"], "made-up-id-1234"):
        response = api.post("/clip", json={"playbackId": playback_id, "startTime": 1})
        assert (response.status_code, response.json()) == (404, {"errors": ["Content not found"]})
    mine = new_stream(api, recording)
    theirs = other_api.post("/clip", json={"playbackId": mine["playbackId"], "startTime": 1})
    assert (theirs.status_code, theirs.json()) == (
        403,
        {"errors": ["You do not have permission to clip this stream"]},
    )


def test_clip_session_rules(
    api: ApiClient, other_api: ApiClient, livepeer_emulator: Any, recording: str
) -> None:
    bare = new_stream(api)
    response = api.post("/clip", json={"playbackId": bare["playbackId"], "startTime": 1})
    # The server throws a plain Error here; its error handler answers with the class name only.
    assert (response.status_code, response.json()) == (500, {"errors": ["Internal server error: Error"]})
    recorded = new_stream(api, recording)
    unknown = api.post(
        "/clip", json={"playbackId": recorded["playbackId"], "startTime": 1, "sessionId": "nope"}
    )
    assert (unknown.status_code, unknown.json()) == (404, {"errors": ["Session not found"]})
    foreign = new_stream(other_api, recording)
    response = api.post(
        "/clip",
        json={"playbackId": recorded["playbackId"], "startTime": 1, "sessionId": foreign["sessionId"]},
    )
    assert response.status_code == 404
    assert response.json() == {"errors": ["The provided session id does not belong to this stream"]}
    chosen = api.post(
        "/clip",
        json={"playbackId": recorded["playbackId"], "startTime": 1, "sessionId": recorded["sessionId"]},
    )
    assert chosen.status_code == 200
    # The admin endpoint refuses an unknown stream and a missing recording.
    admin = f"{livepeer_emulator.url}/_emulator/streams"
    assert (
        requests.post(f"{admin}/nope/sessions", json={"recordingUrl": recording}, timeout=5).status_code
        == 404
    )
    assert requests.post(f"{admin}/{bare['id']}/sessions", json={}, timeout=5).status_code == 422


@pytest.mark.parametrize("end", [1000, 999])
def test_clip_end_not_after_start_is_422(api: ApiClient, end: int) -> None:
    response = api.post("/clip", json={"playbackId": "stream1", "startTime": 1000, "endTime": end})
    assert response.status_code == 422
    assert response.json() == {"errors": ["endTime must occur after startTime"]}


def test_clip_rate_limit_is_5_unfinished_clips_per_requester_and_playback_id_in_5_minutes(
    frozen: Any, recording: str
) -> None:
    api, other = ApiClient(frozen.url, "key-a"), ApiClient(frozen.url, "key-b")
    first, second = new_stream(api, recording), new_stream(api, recording)
    for _ in range(5):
        assert api.post("/clip", json={"playbackId": first["playbackId"], "startTime": 1}).status_code == 200
    response = api.post("/clip", json={"playbackId": first["playbackId"], "startTime": 1})
    assert (response.status_code, response.json()) == (
        403,
        {"errors": ["Too many clips are being processed."]},
    )
    # Per playback id: another stream of the same caller can be clipped.
    assert api.post("/clip", json={"playbackId": second["playbackId"], "startTime": 1}).status_code == 200
    # Another user is refused as not the owner, before the rate limit is looked at.
    assert other.post("/clip", json={"playbackId": first["playbackId"], "startTime": 1}).status_code == 403


def test_finished_clips_do_not_count_towards_the_clip_limit(frozen: Any, recording: str) -> None:
    api = ApiClient(frozen.url, "key-a")
    stream = new_stream(api, recording)
    ids = [
        api.post("/clip", json={"playbackId": stream["playbackId"], "startTime": 1}).json()["task"]["id"]
        for _ in range(5)
    ]
    assert frozen.state.wait_for_jobs()
    frozen.state.clock.advance(60)  # well within the 5 minutes, and every clip is done
    assert {api.task(task_id)["status"]["phase"] for task_id in ids} == {"completed"}
    assert api.post("/clip", json={"playbackId": stream["playbackId"], "startTime": 1}).status_code == 200


def test_streams_and_sessions_survive_a_restart(
    livepeer_emulator_factory: Any, tmp_path: Path, recording: str
) -> None:
    state_file = tmp_path / "state.json"
    first = livepeer_emulator_factory(api_keys=["k"], speed=1000, state_file=state_file)
    api = ApiClient(first.url, "k")
    stream = api.post("/stream", json={"name": "kept"}).json()
    stream["sessionId"] = first.add_recording_session(stream["id"], recording)
    first.stop()
    second = livepeer_emulator_factory(api_keys=["k"], speed=1000, state_file=state_file)
    api = ApiClient(second.url, "k")
    assert api.get(f"/stream/{stream['id']}").json()["playbackId"] == stream["playbackId"]
    clip = api.post("/clip", json={"playbackId": stream["playbackId"], "startTime": 1}).json()
    assert clip["asset"]["source"]["sessionId"] == stream["sessionId"]
    assert api.wait_task(clip["task"]["id"])["status"]["phase"] == "completed"
