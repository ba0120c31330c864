"""Task lifecycle on the clock: phases in order, progress, updatedAt, retries and scripted outcomes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from livepeer_studio_emulator.clock import ManualClock
from livepeer_studio_emulator.outcomes import Outcome
from livepeer_studio_emulator.timeline import Durations

from tests.support.emulator_api import ApiClient, recorded_playback_id, video_bytes
from tests.support.schema import assert_valid
from tests.support.servers import MediaServer

START = 1_700_000_000.0
START_MS = int(START * 1000)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def emulator(livepeer_emulator_factory: Any, clock: ManualClock) -> Any:
    """Default durations on a manual clock.

    Pending 0 s (Livepeer schedules a task before it answers: it is waiting a millisecond after its
    creation), waiting 1 s, running 6 s in 10 progress steps; a retry waits 30 s, a second one 180 s.
    """
    return livepeer_emulator_factory(api_keys=["key-a"], clock=clock)


@pytest.fixture
def api(emulator: Any) -> ApiClient:
    return ApiClient(emulator.url, "key-a")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "in.mp4"
    path.write_bytes(video_bytes())
    return path


def at(api: ApiClient, clock: ManualClock, seconds: float, task_id: str) -> dict[str, Any]:
    """The task as seen ``seconds`` after START."""
    clock.advance(START + seconds - clock())
    return api.task(task_id)


def test_import_goes_through_each_phase_on_time(
    api: ApiClient, clock: ManualClock, emulator: Any, source: Path
) -> None:
    asset, task_id = api.import_url(source.as_uri())
    assert emulator.wait_for_jobs()
    expected = [
        (0.0, "pending", None),
        (0.001, "waiting", None),
        (1.0, "waiting", None),
        (1.001, "running", 0.0),
        (1.601, "running", 0.1),
        (4.001, "running", 0.5),
        (6.401, "running", 0.9),
        (7.0, "running", 0.9),
        (7.001, "completed", None),
    ]
    asset_phases = []
    for seconds, phase, progress in expected:
        task = at(api, clock, seconds, task_id)
        assert task["status"]["phase"] == phase, (seconds, task["status"])
        assert task["status"].get("progress") == progress, (seconds, task["status"])
        asset_phases.append(api.get(f"/asset/{asset['id']}").json()["status"]["phase"])
    assert task["status"] == {"phase": "completed", "updatedAt": START_MS + 7001}
    assert task["scheduledAt"] == START_MS + 1
    assert asset_phases == ["waiting"] * 3 + ["processing"] * 5 + ["ready"]
    assert task["output"]["upload"]["assetSpec"]["size"] == source.stat().st_size


def test_processing_asset_shows_the_task_progress(
    api: ApiClient, clock: ManualClock, emulator: Any, source: Path
) -> None:
    asset, task_id = api.import_url(source.as_uri())
    at(api, clock, 4.001, task_id)
    status = api.get(f"/asset/{asset['id']}").json()["status"]
    assert status == {"phase": "processing", "updatedAt": START_MS + 4001, "progress": 0.5}


def test_playback_url_comes_with_the_hls_manifest_and_download_url_when_ready(
    api: ApiClient, clock: ManualClock, emulator: Any, source: Path
) -> None:
    asset, task_id = api.import_url(source.as_uri())
    assert emulator.wait_for_jobs()

    def urls_at(seconds: float) -> tuple[bool, bool]:
        at(api, clock, seconds, task_id)
        shown = api.get(f"/asset/{asset['id']}").json()
        assert_valid(shown, "asset")
        return "playbackUrl" in shown, "downloadUrl" in shown

    assert urls_at(3.5) == (False, False)  # processing, progress 0.4
    assert urls_at(4.001) == (True, False)  # half processed: the HLS manifest is there
    assert urls_at(7.001) == (True, True)  # ready


def test_updated_at_moves_only_with_visible_changes(
    api: ApiClient, clock: ManualClock, emulator: Any, source: Path
) -> None:
    _, task_id = api.import_url(source.as_uri())
    assert emulator.wait_for_jobs()
    seen: list[int] = []
    for step in range(0, 8200, 50):  # every 50 ms of emulated time
        status = at(api, clock, step / 1000, task_id)["status"]
        if not seen or status["updatedAt"] != seen[-1]:
            seen.append(status["updatedAt"])
    timeline = [snap["updatedAt"] for snap in emulator.state.debug_task(task_id)["timeline"]]
    assert seen == timeline  # each visible change seen once, at its own time
    assert seen == sorted(set(seen))  # strictly increasing
    assert len(seen) == 1 + 1 + 10 + 1  # pending, waiting, 10 progress steps, completed


def test_polling_updated_at_gt_sees_each_change_once(livepeer_emulator_factory: Any, tmp_path: Path) -> None:
    """The way a watcher finds changed tasks: GET /api/task?filters=[updatedAt gt T], on the real clock."""
    # Pending for 5 s: the first list, however late on a busy machine, finds each task not yet running.
    durations = Durations(pending=5, waiting=0.5, running=1)
    emulator = livepeer_emulator_factory(api_keys=["k"], speed=1, durations=durations)
    api = ApiClient(emulator.url, "k")
    # The emulator's first import loads its media probe (up to a second on a busy machine); not measured.
    warm_up = tmp_path / "warm-up.mp4"
    warm_up.write_bytes(video_bytes())
    api.import_url(warm_up.as_uri())
    paths = []
    for index in range(3):  # the videos are made before the first import: nothing slow between imports
        paths.append(tmp_path / f"{index}.mp4")
        paths[-1].write_bytes(video_bytes(1.0, 128 + 16 * index, 128))
    ids = [api.import_url(path.as_uri())[1] for path in paths]
    watermark = 0
    updates: dict[str, list[dict[str, Any]]] = {task_id: [] for task_id in ids}
    deadline = time.monotonic() + 20
    while not all(u and u[-1]["phase"] == "completed" for u in updates.values()):
        assert time.monotonic() < deadline, updates
        params = {"filters": json.dumps([{"id": "updatedAt", "value": {"gt": watermark}}]), "limit": "1000"}
        changed = api.get("/task", params=params).json()
        for task in changed:
            assert task["status"]["updatedAt"] > watermark
            if task["id"] in updates:
                updates[task["id"]].append(task["status"])
        watermark = max([watermark, *(task["status"]["updatedAt"] for task in changed)])
        time.sleep(0.003)
    for task_id, statuses in updates.items():
        times = [status["updatedAt"] for status in statuses]
        assert times == sorted(set(times)), "a change was reported twice or out of order"
        assert statuses[0]["phase"] in ("pending", "waiting")
        phases = [status["phase"] for status in statuses]
        assert phases.index("completed") == len(phases) - 1
        expected = [snap["updatedAt"] for snap in emulator.state.debug_task(task_id)["timeline"]]
        assert set(times) <= set(expected)


def test_retried_task_goes_back_to_waiting_with_retries(
    api: ApiClient, clock: ManualClock, emulator: Any, source: Path
) -> None:
    _, task_id = api.import_url(source.as_uri(), **{"X-Emulator-Outcome": "retry:2"})
    assert emulator.wait_for_jobs()
    statuses = []
    for snapshot in emulator.state.debug_task(task_id)["timeline"]:
        task = at(api, clock, (snapshot["updatedAt"] - START_MS) / 1000, task_id)
        assert task["status"] == snapshot  # the API shows exactly the timeline
        statuses.append(task["status"])
    compact = [
        (s["phase"], s.get("retries"), s.get("errorMessage")) for s in statuses if s.get("progress", 0) == 0
    ]
    assert compact == [
        ("pending", None, None),
        ("waiting", 0, None),
        ("running", 0, None),
        ("waiting", 1, "emulated transient error (attempt 1)"),
        ("waiting", 1, None),
        ("running", 1, None),
        ("waiting", 2, "emulated transient error (attempt 2)"),
        ("waiting", 2, None),
        ("running", 2, None),
        ("completed", None, None),
    ]


def test_scripted_failure_by_url(api: ApiClient, clock: ManualClock, emulator: Any, source: Path) -> None:
    rule = emulator.script_outcome(source.as_uri(), "fail", error_message="the file is corrupt", retries=1)
    asset, task_id = api.import_url(source.as_uri())
    assert emulator.wait_for_jobs()
    task = at(api, clock, 60, task_id)
    assert task["status"]["phase"] == "failed"
    assert task["status"]["errorMessage"] == "the file is corrupt"
    assert task["status"]["retries"] == 1
    assert "output" not in task  # a failed task never carries an assetSpec: no asset was made
    assert_valid(task, "task")
    asset_status = api.get(f"/asset/{asset['id']}").json()["status"]
    assert (asset_status["phase"], asset_status["errorMessage"]) == ("failed", "the file is corrupt")
    assert [r.id for r in emulator.state.outcome_rules()] == [rule.id]  # no times: it stays


def test_scripted_outcome_through_the_admin_endpoint_applies_once(
    api: ApiClient, clock: ManualClock, emulator: Any, tmp_path: Path
) -> None:
    url = (tmp_path / "a.mp4").as_uri()
    (tmp_path / "a.mp4").write_bytes(video_bytes())
    rule = {"url": url, "taskType": "upload", "outcome": "fail", "errorMessage": "boom", "times": 1}
    response = requests.post(f"{emulator.url}/_emulator/outcomes", json=rule, timeout=5)
    assert response.status_code == 201
    assert response.json()["errorMessage"] == "boom"
    listed = requests.get(f"{emulator.url}/_emulator/outcomes", timeout=5).json()["rules"]
    assert [r["url"] for r in listed] == [url]
    _, first = api.import_url(url)
    assert requests.get(f"{emulator.url}/_emulator/outcomes", timeout=5).json() == {"rules": []}
    clock.advance(20)
    assert api.task(first)["status"]["errorMessage"] == "boom"
    _, second = api.import_url(url)  # the first import is over: a new one, no rule left
    clock.advance(20)
    assert emulator.wait_for_jobs()
    assert api.task(second)["status"]["phase"] == "completed"


def test_admin_outcome_rules_can_be_removed(emulator: Any) -> None:
    created = requests.post(
        f"{emulator.url}/_emulator/outcomes", json={"taskType": "clip", "outcome": "stall"}, timeout=5
    )
    rule_id = created.json()["id"]
    assert requests.delete(f"{emulator.url}/_emulator/outcomes/{rule_id}", timeout=5).status_code == 204
    assert requests.delete(f"{emulator.url}/_emulator/outcomes/{rule_id}", timeout=5).status_code == 404
    bad = requests.post(f"{emulator.url}/_emulator/outcomes", json={"outcome": "explode"}, timeout=5)
    assert bad.status_code == 422
    assert "explode" in bad.json()["errors"][0]
    requests.post(f"{emulator.url}/_emulator/outcomes", json={"outcome": "fail"}, timeout=5)
    assert requests.delete(f"{emulator.url}/_emulator/outcomes", timeout=5).status_code == 204
    assert emulator.state.outcome_rules() == []


@pytest.mark.parametrize(
    ("header", "phase", "retries", "message"),
    [
        ("fail", "failed", 0, "emulated failure"),
        ("fail:disk full", "failed", 0, "disk full"),
        ("retry:2:fail:still broken", "failed", 2, "still broken"),
        ("retry:1:cancel", "cancelled", 1, "task cancelled"),
        ('{"outcome": "fail", "errorMessage": "json form", "retries": 1}', "failed", 1, "json form"),
        ("complete", "completed", None, None),
    ],
)
def test_outcome_header(
    api: ApiClient,
    clock: ManualClock,
    emulator: Any,
    header: str,
    phase: str,
    retries: int | None,
    message: str | None,
) -> None:
    playback_id = recorded_playback_id(api)
    task = api.post(
        "/clip", json={"playbackId": playback_id, "startTime": 1}, headers={"X-Emulator-Outcome": header}
    ).json()
    assert emulator.wait_for_jobs()  # the clip's recording is read
    status = at(api, clock, 300, task["task"]["id"])["status"]  # after both retries' delays (30 s, 180 s)
    assert (status["phase"], status.get("retries"), status.get("errorMessage")) == (phase, retries, message)


def test_stalled_task_stays_running(api: ApiClient, clock: ManualClock) -> None:
    task_id = api.post("/transcode", json=_transcode(), headers={"X-Emulator-Outcome": "stall"}).json()["id"]
    status = at(api, clock, 3600, task_id)["status"]
    assert (status["phase"], status["progress"]) == ("running", 0.9)


@pytest.mark.parametrize("header", ["explode", "retry:x", "retry:3", "complete:why", "{bad json"])
def test_invalid_outcome_header_is_400(api: ApiClient, header: str) -> None:
    response = api.post(
        "/clip", json={"playbackId": "s", "startTime": 1}, headers={"X-Emulator-Outcome": header}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("invalid X-Emulator-Outcome header")
    assert api.get("/task").json() == []


def test_task_waits_for_its_source(
    api: ApiClient, clock: ManualClock, emulator: Any, media_host: MediaServer
) -> None:
    media_host.release.clear()  # the source server holds its answer
    url = media_host.add("/slow.mp4", video_bytes())
    _, task_id = api.import_url(url)
    status = at(api, clock, 100, task_id)["status"]
    assert (status["phase"], status["progress"]) == ("running", 0.9)  # long past its planned end
    media_host.release.set()
    assert emulator.wait_for_jobs()
    task = api.task(task_id)
    assert task["status"]["phase"] == "completed"
    assert task["status"]["updatedAt"] == START_MS + 100_000  # when the fetch finished, not the planned end
    assert task["output"]["upload"]["assetSpec"]["size"] == len(video_bytes())


def test_outcome_parsing() -> None:
    assert Outcome.parse("retry:1") == Outcome("complete", retries=1)
    assert Outcome.parse("cancel:user asked") == Outcome("cancel", "user asked")
    with pytest.raises(ValueError, match="0 to 2"):
        Outcome(retries=3)


def test_every_task_type_validates_in_every_phase(
    api: ApiClient, clock: ManualClock, emulator: Any, source: Path
) -> None:
    asset, upload = api.import_url(source.as_uri())
    clip_of = {"playbackId": recorded_playback_id(api), "startTime": 1, "endTime": 2}
    clip = api.post("/clip", json=clip_of).json()["task"]["id"]
    transcode = api.post("/transcode", json=_transcode()).json()["id"]
    fail = api.post("/transcode", json=_transcode(), headers={"X-Emulator-Outcome": "retry:1:fail"}).json()[
        "id"
    ]
    assert emulator.wait_for_jobs()
    for _ in range(30):
        clock.advance(0.5)
        for task in api.get("/task").json():  # the client validates each against the task schema
            assert_valid(task, "task")
    clock.advance(60)  # past the failing transcode's retry (30 s)
    export = api.post(f"/asset/{asset['id']}/export", json={"ipfs": {}}).json()["task"]["id"]
    clock.advance(10)
    phases = {task["id"]: task["status"]["phase"] for task in api.get("/task").json()}
    assert phases == {
        upload: "completed",
        clip: "completed",
        transcode: "completed",
        fail: "failed",
        export: "completed",
    }


def _transcode() -> dict[str, Any]:
    from tests.support.tasks import transcode_body

    return transcode_body()
