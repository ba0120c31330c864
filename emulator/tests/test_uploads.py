"""Direct uploads: request-upload's answer, the tus 1.0 server, the single PUT, their faults and expiry.

The uploaded bytes become the asset as an import's source does: their real size, hashes and media facts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.support.emulator_api import ApiClient, sample_bytes, video_bytes

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK = {**TUS, "Content-Type": "application/offset+octet-stream"}


def request_upload(api: ApiClient, name: str = "upload") -> dict[str, Any]:
    response = api.post("/asset/request-upload", json={"name": name, "staticMp4": True})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def create(upload: dict[str, Any], length: int) -> str:
    created = requests.post(upload["tusEndpoint"], headers={**TUS, "Upload-Length": str(length)}, timeout=10)
    assert created.status_code == 201, created.text
    assert created.headers["Tus-Resumable"] == "1.0.0" and "Upload-Expires" in created.headers
    return created.headers["Location"]


def patch(location: str, offset: int, body: bytes, **headers: str) -> requests.Response:
    return requests.patch(
        location, data=body, headers={**CHUNK, "Upload-Offset": str(offset), **headers}, timeout=10
    )


def offset_of(location: str) -> int:
    head = requests.head(location, headers=TUS, timeout=10)
    assert head.status_code == 200 and head.headers["Cache-Control"] == "no-store"
    return int(head.headers["Upload-Offset"])


def assert_uploaded(api: ApiClient, upload: dict[str, Any], data: bytes) -> dict[str, Any]:
    task = api.wait_task(upload["task"]["id"])
    assert task["status"]["phase"] == "completed", task["status"]
    spec = task["output"]["upload"]["assetSpec"]
    assert spec["size"] == len(data)
    assert {"algorithm": "sha256", "hash": hashlib.sha256(data).hexdigest()} in spec["hash"]
    assert spec["videoSpec"]["tracks"][0]["codec"] == "h264"
    assert api.get(f"/asset/{upload['asset']['id']}").json()["status"]["phase"] == "ready"
    return task


def test_request_upload_answers_as_livepeer_and_the_task_waits_for_the_bytes(
    livepeer_emulator_factory: Callable[..., Any],
) -> None:
    from livepeer_studio_emulator.clock import ManualClock

    emulator = livepeer_emulator_factory(clock=ManualClock())
    api = ApiClient(emulator.url, emulator.api_key)
    upload = request_upload(api)  # the client checks the answer against Livepeer's OpenAPI document
    assert upload["url"].startswith(f"{emulator.url}/api/asset/upload/direct?token=")
    assert upload["tusEndpoint"].startswith(f"{emulator.url}/api/asset/upload/tus?token=")
    assert upload["asset"]["status"]["phase"] == "uploading"
    assert upload["asset"]["source"] == {"type": "directUpload"}
    emulator.state.clock.advance(3600)  # an hour later, with no byte sent
    task = api.task(upload["task"]["id"])
    assert (task["type"], task["status"]["phase"], task["outputAssetId"]) == (
        "upload",
        "pending",
        upload["asset"]["id"],
    )
    assert api.get(f"/asset/{upload['asset']['id']}").json()["status"]["phase"] == "uploading"


def test_a_tus_upload_in_chunks_makes_the_asset_of_its_bytes(api: ApiClient) -> None:
    data = video_bytes()
    upload = request_upload(api)
    options = requests.options(upload["tusEndpoint"].split("?")[0], timeout=10)
    assert options.headers["Tus-Version"] == "1.0.0" and "creation" in options.headers["Tus-Extension"]
    location = create(upload, len(data))
    assert offset_of(location) == 0
    first = patch(location, 0, data[:1000])
    assert (first.status_code, first.headers["Upload-Offset"]) == (204, "1000")
    mismatch = patch(location, 0, data[:1000])
    assert mismatch.status_code == 409 and "offset 1000" in mismatch.json()["errors"][0]
    assert patch(location, 1000, data[1000:], **{"Tus-Resumable": "0.2.2"}).status_code == 412
    assert patch(location, 1000, data[1000:], **{"Content-Type": "video/mp4"}).status_code == 415
    assert api.task(upload["task"]["id"])["status"]["phase"] == "pending"
    last = patch(location, 1000, data[1000:])
    assert (last.status_code, last.headers["Upload-Offset"]) == (204, str(len(data)))
    assert_uploaded(api, upload, data)


def test_a_direct_put_makes_the_asset_and_a_second_one_is_refused(api: ApiClient) -> None:
    data = video_bytes()
    upload = request_upload(api)
    assert requests.put(upload["url"], data=data, timeout=10).status_code == 200
    assert_uploaded(api, upload, data)
    again = requests.put(upload["url"], data=data, timeout=10)
    assert again.status_code == 409 and again.json() == {"errors": ["upload already completed"]}


def test_bytes_that_are_not_video_fail_the_task_with_the_probe_error(api: ApiClient) -> None:
    upload = request_upload(api)
    assert requests.put(upload["url"], data=sample_bytes(5000), timeout=10).status_code == 200
    task = api.wait_task(upload["task"]["id"])
    assert task["status"]["phase"] == "failed"
    assert "failed to probe" in task["status"]["errorMessage"]
    assert api.get(f"/asset/{upload['asset']['id']}").json()["status"]["phase"] == "failed"


def test_a_connection_dropped_mid_patch_keeps_the_bytes_before_it(
    api: ApiClient, livepeer_emulator: Any
) -> None:
    data = video_bytes()
    upload = request_upload(api)
    location = create(upload, len(data))
    livepeer_emulator.set_faults(upload_drops=[3000])
    # The answer breaks off: a reset while sending, or a cut answer, by how much the socket buffered.
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        patch(location, 0, data)
    assert offset_of(location) == 3000
    assert patch(location, 3000, data[3000:]).status_code == 204
    assert [r.fault for r in livepeer_emulator.requests if r.method == "PATCH"] == ["drop", None]
    assert_uploaded(api, upload, data)


def test_a_5xx_on_one_patch_keeps_nothing_of_it(api: ApiClient, livepeer_emulator: Any) -> None:
    data = video_bytes()
    upload = request_upload(api)
    location = create(upload, len(data))
    livepeer_emulator.set_faults(queue=["503"], methods=["PATCH"], path_prefix="/api/asset/upload/tus")
    assert patch(location, 0, data).status_code == 503
    assert offset_of(location) == 0
    assert patch(location, 0, data).status_code == 204
    assert_uploaded(api, upload, data)


def test_tokens_and_uploads_expire_and_unknown_ones_are_not_found(
    livepeer_emulator_factory: Callable[..., Any],
) -> None:
    from livepeer_studio_emulator.clock import ManualClock

    emulator = livepeer_emulator_factory(clock=ManualClock())
    api = ApiClient(emulator.url, emulator.api_key)
    upload = request_upload(api)
    location = create(upload, 10)
    base = upload["tusEndpoint"].split("?")[0]
    assert (
        requests.post(f"{base}?token=nope", headers={**TUS, "Upload-Length": "1"}, timeout=10).status_code
        == 404
    )
    assert requests.post(base, headers={**TUS, "Upload-Length": "1"}, timeout=10).status_code == 401
    assert requests.head(f"{base}/nope", headers=TUS, timeout=10).status_code == 404
    emulator.state.clock.advance(24 * 3600)
    assert requests.head(location, headers=TUS, timeout=10).status_code == 410
    assert patch(location, 0, b"0123456789").status_code == 410
    assert requests.put(upload["url"], data=b"x", timeout=10).status_code == 410
