"""``POST /api/task/{id}/retry`` and ``DELETE /api/task/{id}``, as in Livepeer's ``controllers/task.ts``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from livepeer_studio_emulator.clock import ManualClock

from tests.support.emulator_api import ApiClient, video_bytes
from tests.support.tasks import transcode_body


@pytest.fixture
def frozen(livepeer_emulator_factory: Any) -> Any:
    return livepeer_emulator_factory(api_keys=["key-a", "key-b"], clock=ManualClock(1_700_000_000))


def retry(emulator: Any, task_id: str, key: str = "key-a") -> requests.Response:
    """The retry call; its 200 body ``{"id"}`` is not in the OpenAPI document, so it is checked here."""
    return requests.post(
        f"{emulator.url}/api/task/{task_id}/retry", headers={"Authorization": f"Bearer {key}"}, timeout=10
    )


def failed_import(emulator: Any, api: ApiClient, url: str, **headers: str) -> str:
    _, task_id = api.import_url(url, **headers)
    assert emulator.state.wait_for_jobs()
    emulator.state.clock.advance(300)  # past Livepeer's retries of a source it could not fetch (30 s, 180 s)
    assert api.task(task_id)["status"]["phase"] == "failed"
    return task_id


def output_asset(api: ApiClient, task_id: str) -> str:
    return str(api.task(task_id)["outputAssetId"])


def test_a_retried_task_waits_with_its_error_is_scheduled_again_and_runs(frozen: Any, tmp_path: Path) -> None:
    api = ApiClient(frozen.url, "key-a")
    source = tmp_path / "a.mp4"
    source.write_bytes(video_bytes())
    task_id = failed_import(frozen, api, source.as_uri(), **{"X-Emulator-Outcome": "fail:corrupt file"})
    before = api.task(task_id)
    frozen.state.clock.advance(5)
    response = retry(frozen, task_id)
    assert (response.status_code, response.json()) == (200, {"id": task_id})
    # retryTask(forced): waiting with retries 0 and the last errorMessage, then scheduled again at once.
    timeline = frozen.state.debug_task(task_id)["timeline"]
    retried = timeline[timeline.index(before["status"]) + 1]
    assert retried == {
        "phase": "waiting",
        "retries": 0,
        "errorMessage": "corrupt file",
        "updatedAt": retried["updatedAt"],
    }
    assert retried["updatedAt"] > before["status"]["updatedAt"]
    assert api.task(task_id)["status"] == retried
    frozen.state.clock.advance(0.01)
    now = api.task(task_id)
    assert now["status"]["phase"] == "waiting" and "errorMessage" not in now["status"]
    assert now["scheduledAt"] > before["scheduledAt"]
    # The asset stays failed while the task runs again (progress only moves waiting or processing assets).
    frozen.state.clock.advance(4)
    assert api.task(task_id)["status"]["phase"] == "running"
    asset = api.get(f"/asset/{output_asset(api, task_id)}").json()
    assert asset["status"] == {
        "phase": "failed",
        "updatedAt": before["status"]["updatedAt"],
        "errorMessage": "corrupt file",
    }
    frozen.state.clock.advance(60)  # a scripted failure applies to the first run only
    done = api.task(task_id)
    assert done["status"]["phase"] == "completed"
    assert api.get(f"/asset/{output_asset(api, task_id)}").json()["status"]["phase"] == "ready"
    assert done["output"]["upload"]["assetSpec"]["size"] == source.stat().st_size


def test_a_retried_import_fetches_its_source_again(frozen: Any, tmp_path: Path) -> None:
    api = ApiClient(frozen.url, "key-a")
    source = tmp_path / "later.mp4"
    task_id = failed_import(frozen, api, source.as_uri())  # the file is not there yet
    source.write_bytes(video_bytes())
    assert retry(frozen, task_id).status_code == 200
    assert frozen.state.wait_for_jobs()
    frozen.state.clock.advance(60)
    assert api.task(task_id)["status"]["phase"] == "completed"


def test_only_failed_or_cancelled_tasks_of_the_caller_can_be_retried(frozen: Any, tmp_path: Path) -> None:
    api = ApiClient(frozen.url, "key-a")
    unknown = retry(frozen, "no-such-task")
    assert (unknown.status_code, unknown.json()) == (404, {"errors": ["task not found"]})
    _, pending = api.import_url((tmp_path / "x.mp4").as_uri())
    not_retryable = (400, {"errors": ["task is not in a retryable state"]})
    response = retry(frozen, pending)
    assert (response.status_code, response.json()) == not_retryable
    # The phase is looked at before the owner: another user's unfinished task is a 400 too.
    response = retry(frozen, pending, "key-b")
    assert (response.status_code, response.json()) == not_retryable
    failed = failed_import(frozen, api, (tmp_path / "y.mp4").as_uri())
    response = retry(frozen, failed, "key-b")
    assert (response.status_code, response.json()) == (
        403,
        {"errors": ["users may only retry their own tasks"]},
    )
    (tmp_path / "z.mp4").write_bytes(video_bytes())
    _, cancelled = api.import_url((tmp_path / "z.mp4").as_uri(), **{"X-Emulator-Outcome": "cancel"})
    frozen.state.clock.advance(60)
    assert api.task(cancelled)["status"]["phase"] == "cancelled"
    assert retry(frozen, cancelled).status_code == 200


def test_deleting_a_task_is_for_admins_only(api: ApiClient) -> None:
    task_id = api.post("/transcode", json=transcode_body()).json()["id"]
    for target in (task_id, "no-such-task"):
        response = api.delete(f"/task/{target}")
        assert (response.status_code, response.json()) == (
            403,
            {"errors": ["user does not have admin priviledges"]},
        )
    assert api.task(task_id)["id"] == task_id
