"""Asset endpoints, export, transcode and clip: answers, validation, errors and account isolation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from livepeer_studio_emulator.clock import ManualClock
from livepeer_studio_emulator.media import INACCESSIBLE_MESSAGE

from tests.support.emulator_api import ApiClient, video_bytes
from tests.support.schema import assert_valid
from tests.support.servers import MediaServer
from tests.support.tasks import transcode_body

PLAYBACK_ID = re.compile(r"^[a-z0-9]{16}$")
CID = re.compile(r"^bafybei[a-z2-7]{52}$")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.mp4"
    path.write_bytes(video_bytes())
    return path


@pytest.fixture
def ready_asset(api: ApiClient, source: Path) -> dict[str, Any]:
    asset, task_id = api.import_url(source.as_uri())
    assert api.wait_task(task_id)["status"]["phase"] == "completed"
    return api.get(f"/asset/{asset['id']}").json()  # type: ignore[no-any-return]


@pytest.fixture
def frozen(livepeer_emulator_factory: Any) -> Any:
    return livepeer_emulator_factory(api_keys=["key-a", "key-b"], clock=ManualClock(1_700_000_000))


# ----------------------------------------------------------------------------- POST /asset/upload/url


def test_import_answers_201_with_a_waiting_asset_and_its_task(api: ApiClient, source: Path) -> None:
    response = api.post("/asset/upload/url", json={"name": "My video", "url": source.as_uri()})
    assert response.status_code == 201
    body = response.json()
    asset = body["asset"]
    assert asset["name"] == "My video"
    assert asset["source"] == {"type": "url", "url": source.as_uri()}
    assert asset["status"]["phase"] == "waiting"
    assert PLAYBACK_ID.match(asset["playbackId"])
    task = api.task(body["task"]["id"])
    assert task["type"] == "upload"
    assert task["params"] == {"upload": {"url": source.as_uri()}}
    assert task["outputAssetId"] == asset["id"]


def test_import_echoes_payload_options(api: ApiClient, source: Path) -> None:
    payload = {
        "name": "v",
        "url": source.as_uri(),
        "creatorId": "creator-1",
        "playbackPolicy": {"type": "public"},
        "profiles": [{"bitrate": 1_000_000, "width": 640, "height": 360, "name": "360p"}],
        "c2pa": False,
        "targetSegmentSizeSecs": 4,
        "staticMp4": True,
    }
    body = api.post("/asset/upload/url", json=payload).json()
    assert body["asset"]["creatorId"] == {"type": "unverified", "value": "creator-1"}
    assert body["asset"]["playbackPolicy"] == {"type": "public"}
    assert "staticMp4" not in body["asset"]  # write-only on Livepeer
    params = api.task(body["task"]["id"])["params"]["upload"]
    assert params["profiles"][0]["name"] == "360p"
    assert params["c2pa"] is False
    assert params["targetSegmentSizeSecs"] == 4


def test_reimport_while_in_progress_answers_200_with_the_same_asset(frozen: Any, tmp_path: Path) -> None:
    api = ApiClient(frozen.url, "key-a")
    url = (tmp_path / "a.mp4").as_uri()
    first = api.post("/asset/upload/url", json={"name": "a", "url": url})
    second = api.post("/asset/upload/url", json={"name": "other name", "url": url})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["asset"]["id"] == first.json()["asset"]["id"]
    assert second.json()["task"] == first.json()["task"]
    # Another account importing the same URL gets its own asset.
    theirs = ApiClient(frozen.url, "key-b").post("/asset/upload/url", json={"name": "a", "url": url})
    assert theirs.status_code == 201
    assert theirs.json()["asset"]["id"] != first.json()["asset"]["id"]


def test_reimport_after_completion_starts_a_new_import(api: ApiClient, ready_asset: dict[str, Any]) -> None:
    response = api.post("/asset/upload/url", json={"name": "again", "url": ready_asset["source"]["url"]})
    assert response.status_code == 201
    assert response.json()["asset"]["id"] != ready_asset["id"]


def test_whole_number_floats_are_integers(api: ApiClient, source: Path) -> None:
    # JSON has one number type: Livepeer's validator takes 3000000.0 where the schema says integer.
    profile = {"bitrate": 3_000_000.0, "width": 640.0, "height": 360, "name": "360p"}
    response = api.post(
        "/asset/upload/url", json={"name": "v", "url": source.as_uri(), "profiles": [profile]}
    )
    assert response.status_code == 201, response.text
    params = api.task(response.json()["task"]["id"])["params"]["upload"]
    assert params["profiles"][0]["bitrate"] == 3_000_000


def test_non_json_body_is_422(api: ApiClient) -> None:
    response = api.post("/asset/upload/url", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["errors"][0]
    assert api.post("/asset/upload/url", json=["a list"]).status_code == 422


def test_encryption_needs_a_playback_policy(api: ApiClient) -> None:
    response = api.post(
        "/asset/upload/url", json={"name": "a", "url": "https://x/a.mp4", "encryption": {"encryptedKey": "k"}}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": ["a playbackPolicy is required when using encryption"]}


def test_queue_limit_is_429_without_retry_after(frozen: Any) -> None:
    api, other = ApiClient(frozen.url, "key-a"), ApiClient(frozen.url, "key-b")
    for index in range(100):
        assert api.post("/transcode", json=transcode_body(str(index))).status_code == 200
    # Pending tasks do not count towards Livepeer's limit: only running and waiting ones.
    assert api.post("/transcode", json=transcode_body("pending")).status_code == 200
    frozen.state.clock.advance(1.5)  # all are waiting now
    for path, body in (
        ("/transcode", transcode_body()),
        ("/asset/upload/url", {"name": "a", "url": "https://example.com/new.mp4"}),
    ):
        response = api.post(path, json=body)
        assert response.status_code == 429
        assert "Retry-After" not in response.headers
        assert response.json() == {
            "errors": [f"user {frozen.user_id('key-a')} has reached the maximum number of pending tasks"]
        }
    assert other.post("/transcode", json=transcode_body()).status_code == 200  # per account
    frozen.state.clock.advance(60)  # all are completed
    assert api.post("/transcode", json=transcode_body()).status_code == 200


# ----------------------------------------------------------------------------- GET/DELETE /asset


def test_ready_asset_has_media_fields(api: ApiClient, ready_asset: dict[str, Any], source: Path) -> None:
    assert ready_asset["status"]["phase"] == "ready"
    assert ready_asset["size"] == source.stat().st_size
    assert "tracks" not in ready_asset["videoSpec"]  # only with ?details=1, as on Livepeer
    assert ready_asset["playbackUrl"].endswith(f"/hls/{ready_asset['playbackId']}/index.m3u8")
    assert ready_asset["downloadUrl"].startswith("https://")
    detailed = api.get(f"/asset/{ready_asset['id']}", params={"details": "1"}).json()
    assert {track["type"] for track in detailed["videoSpec"]["tracks"]} == {"video", "audio"}


def test_asset_list_is_the_accounts_newest_first(
    api: ApiClient, other_api: ApiClient, tmp_path: Path
) -> None:
    first, _ = api.import_url((tmp_path / "1.mp4").as_uri())
    second, _ = api.import_url((tmp_path / "2.mp4").as_uri())
    theirs, _ = other_api.import_url((tmp_path / "3.mp4").as_uri())
    mine = [asset["id"] for asset in api.get("/asset", params={"order": "createdAt-true"}).json()]
    assert mine == [second["id"], first["id"]]
    assert [asset["id"] for asset in other_api.get("/asset").json()] == [theirs["id"]]
    only = api.get("/asset", params={"sourceUrl": (tmp_path / "1.mp4").as_uri()}).json()
    assert [asset["id"] for asset in only] == [first["id"]]


def test_another_accounts_asset_is_hidden(
    api: ApiClient, other_api: ApiClient, ready_asset: dict[str, Any]
) -> None:
    response = other_api.get(f"/asset/{ready_asset['id']}")
    assert response.status_code == 404
    assert response.json() == {"errors": ["not found"]}
    assert other_api.delete(f"/asset/{ready_asset['id']}").status_code == 403
    export = other_api.post(f"/asset/{ready_asset['id']}/export", json={"ipfs": {}})
    assert export.status_code == 403
    assert export.json() == {"errors": ["User can only export their own assets"]}


def test_unknown_asset_is_404(api: ApiClient) -> None:
    response = api.get("/asset/no-such-asset")
    assert response.status_code == 404
    assert response.json() == {"errors": ["Asset not found"]}
    assert api.delete("/asset/no-such-asset").status_code == 404


def test_delete_then_delete_again(
    api: ApiClient, ready_asset: dict[str, Any], livepeer_emulator: Any
) -> None:
    response = api.delete(f"/asset/{ready_asset['id']}")
    assert response.status_code == 204
    assert response.content == b""
    again = api.delete(f"/asset/{ready_asset['id']}")
    assert again.status_code == 400
    assert again.json() == {"errors": ["asset is already deleted"]}
    assert api.get(f"/asset/{ready_asset['id']}").status_code == 404
    assert api.get("/asset").json() == []
    # Livepeer marks a deleted asset "deleting" (and then answers 404 for it).
    assert livepeer_emulator.asset(ready_asset["id"])["status"]["phase"] == "deleting"


# ----------------------------------------------------------------------------- export


def test_export_of_an_asset_not_ready_is_412(frozen: Any, tmp_path: Path) -> None:
    api = ApiClient(frozen.url, "key-a")
    asset, _ = api.import_url((tmp_path / "a.mp4").as_uri())
    response = api.post(f"/asset/{asset['id']}/export", json={"ipfs": {}})
    assert response.status_code == 412
    assert response.json() == {"errors": ["asset is not ready to be exported"]}


def test_export_of_an_unknown_asset_is_404(api: ApiClient) -> None:
    response = api.post("/asset/nope/export", json={"ipfs": {}})
    assert response.status_code == 404


def test_export_body_is_validated(api: ApiClient, ready_asset: dict[str, Any]) -> None:
    for body in ({}, {"custom": {"url": "ftp://x"}}, {"ipfs": {}, "custom": {"url": "https://x"}}):
        response = api.post(f"/asset/{ready_asset['id']}/export", json=body)
        assert response.status_code == 422, body


def test_ipfs_export_completes_with_cids(api: ApiClient, ready_asset: dict[str, Any]) -> None:
    response = api.post(f"/asset/{ready_asset['id']}/export", json={"ipfs": {}})
    assert response.status_code == 201
    task = response.json()["task"]
    assert (task["type"], task["inputAssetId"], task["params"]) == (
        "export",
        ready_asset["id"],
        {"export": {"ipfs": {}}},
    )
    done = api.wait_task(task["id"])
    ipfs = done["output"]["export"]["ipfs"]
    assert CID.match(ipfs["videoFileCid"])
    assert CID.match(ipfs["nftMetadataCid"])
    assert ipfs["videoFileUrl"] == f"ipfs://{ipfs['videoFileCid']}"
    assert ipfs["videoFileGatewayUrl"].endswith(f"/ipfs/{ipfs['videoFileCid']}")


def test_custom_export_to_loopback_sends_the_bytes(
    api: ApiClient, ready_asset: dict[str, Any], source: Path, media_host: MediaServer
) -> None:
    target = f"{media_host.url}/upload/video.mp4"
    body = {"custom": {"url": target, "method": "POST", "headers": {"X-Upload-Token": "t0k"}}}
    task = api.post(f"/asset/{ready_asset['id']}/export", json=body).json()["task"]
    done = api.wait_task(task["id"])
    assert done["status"]["phase"] == "completed"
    assert done["output"] == {"export": {}}
    [received] = media_host.received
    assert (received.method, received.path) == ("POST", "/upload/video.mp4")
    assert received.headers["X-Upload-Token"] == "t0k"
    assert received.body == source.read_bytes()


def test_custom_export_to_a_remote_url_completes_without_sending(
    api: ApiClient, ready_asset: dict[str, Any], livepeer_emulator: Any
) -> None:
    body = {"custom": {"url": "https://bucket.example.com/v.mp4"}}
    task = api.post(f"/asset/{ready_asset['id']}/export", json=body).json()["task"]
    assert task["params"]["export"]["custom"] == {
        "url": "https://bucket.example.com/v.mp4",
        "method": "PUT",
        "headers": {},
    }
    assert api.wait_task(task["id"])["status"]["phase"] == "completed"
    assert "not sent" in livepeer_emulator.state.debug_task(task["id"])["job"]["note"]


def test_custom_export_refused_by_the_target_fails(
    api: ApiClient, ready_asset: dict[str, Any], media_host: MediaServer
) -> None:
    media_host.statuses["/upload"] = 403
    target = f"{media_host.url}/upload"
    task = api.post(f"/asset/{ready_asset['id']}/export", json={"custom": {"url": target}}).json()["task"]
    done = api.wait_task(task["id"])
    assert done["status"]["phase"] == "failed"
    assert done["status"]["errorMessage"] == f"export to {target} failed: PUT answered HTTP 403 Forbidden"


# ----------------------------------------------------------------------------- transcode


def test_transcode_answers_the_whole_task_with_masked_credentials(api: ApiClient) -> None:
    response = api.post("/transcode", json=transcode_body("film"))
    assert response.status_code == 200
    task = response.json()
    assert task["type"] == "transcode-file"
    assert task["status"]["phase"] == "pending"
    params = task["params"]["transcode-file"]
    assert params["input"] == {"url": "s3+https://***:***@s3.example.invalid/in/film.mp4"}
    assert params["storage"] == {"url": "s3+https://***:***@s3.example.invalid/out"}
    assert params["outputs"] == {"hls": {"path": "/hls"}}
    assert "SK" not in response.text
    done = api.wait_task(task["id"])
    assert done["status"]["phase"] == "completed"
    assert "outputAssetId" not in done


def test_transcode_of_a_url_fetches_it(api: ApiClient, media_host: MediaServer) -> None:
    good = media_host.add("/in.mp4", video_bytes())
    body = {**transcode_body(), "input": {"url": good}, "outputs": {"mp4": {"path": "out"}}}
    task = api.post("/transcode", json=body).json()
    assert task["params"]["transcode-file"]["outputs"] == {"mp4": {"path": "/out"}}
    assert api.wait_task(task["id"])["status"]["phase"] == "completed"
    assert media_host.gets == 1
    missing = api.post("/transcode", json={**body, "input": {"url": f"{media_host.url}/gone.mp4"}}).json()
    failed = api.wait_task(missing["id"])
    assert failed["status"]["phase"] == "failed"
    assert failed["status"]["errorMessage"] == INACCESSIBLE_MESSAGE  # after Livepeer's two retries


def test_invalid_transcode_is_422(api: ApiClient) -> None:
    body = transcode_body()
    del body["outputs"]
    response = api.post("/transcode", json=body)
    assert response.status_code == 422
    errors = [json.loads(message) for message in response.json()["errors"]]
    assert {"keyword": "required", "params": {"missingProperty": "outputs"}}.items() <= errors[0].items()


def test_an_asset_of_another_project_of_the_same_user_is_404(
    api: ApiClient, livepeer_emulator: Any, ready_asset: dict[str, Any]
) -> None:
    livepeer_emulator.add_account("project-two-key", project_of=livepeer_emulator.api_key)
    other_project = ApiClient(livepeer_emulator.url, "project-two-key")
    response = other_project.get(f"/asset/{ready_asset['id']}")
    assert (response.status_code, response.json()) == (404, {"errors": ["not found"]})
    assert api.get(f"/asset/{ready_asset['id']}").status_code == 200


def test_deleting_an_asset_under_an_unfinished_task_fails_the_task(
    livepeer_emulator_factory: Any, source: Path
) -> None:
    clock = ManualClock(1_700_000_000)
    emulator = livepeer_emulator_factory(api_keys=["k"], clock=clock)
    api = ApiClient(emulator.url, "k")
    asset, task_id = api.import_url(source.as_uri())
    assert emulator.wait_for_jobs()
    clock.advance(3)  # running
    assert api.task(task_id)["status"]["phase"] == "running"
    assert api.delete(f"/asset/{asset['id']}").status_code == 204
    clock.advance(0.001)
    task = api.task(task_id)
    assert task["status"]["phase"] == "failed"
    assert task["status"]["errorMessage"] == "task cancelled, asset has been deleted"
    assert "output" not in task
    clock.advance(60)  # it stays failed: never retried, never completed
    assert api.task(task_id)["status"] == task["status"]
    assert_valid(task, "task")


def test_deleting_the_asset_of_a_finished_task_leaves_the_task_alone(
    api: ApiClient, ready_asset: dict[str, Any]
) -> None:
    [task] = [t for t in api.get("/task").json() if t.get("outputAssetId") == ready_asset["id"]]
    assert task["status"]["phase"] == "completed"
    assert api.delete(f"/asset/{ready_asset['id']}").status_code == 204
    assert api.task(task["id"])["status"] == task["status"]
