"""``POST /api/asset/upload/url`` as Livepeer has it: dedupe, trusted gateways, the server's own fields."""

from __future__ import annotations

import json
from typing import Any

import pytest
from livepeer_studio_emulator.clock import ManualClock

from tests.support.emulator_api import ApiClient

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.fixture
def api(livepeer_emulator_factory: Any) -> ApiClient:
    # A clock that stands still: imports stay `waiting`, so each one can be deduped against.
    emulator = livepeer_emulator_factory(api_keys=["key-a"], clock=ManualClock(1_700_000_000))
    return ApiClient(emulator.url, "key-a")


def imported(api: ApiClient, url: str) -> tuple[int, dict[str, Any]]:
    response = api.post("/asset/upload/url", json={"name": "v", "url": url})
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        (f"https://ipfs.livepeer.studio/ipfs/{CID}/video.mp4?filename=v.mp4", f"ipfs://{CID}/video.mp4"),
        (f"https://ipfs.livepeer.studio/ipfs/{CID}", f"ipfs://{CID}"),
        ("https://arweave.net/Ar1tXid/v.mp4", "ar://Ar1tXid/v.mp4"),
        ("https://gateway.arweave.net/Ar1tXid", "ar://Ar1tXid"),
    ],
)
def test_trusted_gateway_urls_are_stored_by_content_address(api: ApiClient, url: str, stored: str) -> None:
    status, body = imported(api, url)
    assert status == 201
    assert body["asset"]["source"] == {"type": "url", "url": stored, "gatewayUrl": url}
    # The task imports the URL given.
    assert api.task(body["task"]["id"])["params"]["upload"]["url"] == url
    # Stored under another URL, a gateway import never matches an import in progress.
    again_status, again = imported(api, url)
    assert again_status == 201 and again["asset"]["id"] != body["asset"]["id"]


@pytest.mark.parametrize(
    "url",
    [f"https://example.com/ipfs/{CID}", "https://ipfs.livepeer.studio/video.mp4", "https://arweave.org/x"],
)
def test_other_urls_are_stored_as_given(api: ApiClient, url: str) -> None:
    status, body = imported(api, url)
    assert (status, body["asset"]["source"]) == (201, {"type": "url", "url": url})
    assert imported(api, url)[0] == 200


def test_dedupe_answers_the_matching_asset_with_the_smallest_id(api: ApiClient) -> None:
    gateway = f"https://ipfs.livepeer.studio/ipfs/{CID}"
    ids = {imported(api, gateway)[1]["asset"]["id"] for _ in range(4)}
    assert len(ids) == 4  # four assets stored as ipfs://CID, all waiting
    status, body = imported(api, f"ipfs://{CID}")
    assert (status, body["asset"]["id"]) == (200, min(ids))


def test_object_store_and_pipeline_strategy_are_accepted_and_never_shown(api: ApiClient) -> None:
    body = {"name": "v", "url": "https://example.com/v.mp4", "objectStoreId": "os-1"}
    response = api.post("/asset/upload/url", json={**body, "catalystPipelineStrategy": "catalyst_ffmpeg"})
    assert response.status_code == 201
    # objectStoreId is write-only on the asset; a normal user's pipeline strategy is dropped.
    assert "objectStoreId" not in response.json()["asset"]
    params = api.task(response.json()["task"]["id"])["params"]["upload"]
    assert params == {"url": body["url"]}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("catalystPipelineStrategy", "fastest", "must be equal to one of the allowed values"),
        ("objectStoreId", 5, "must be string"),
    ],
)
def test_object_store_and_pipeline_strategy_are_validated(
    api: ApiClient, field: str, value: Any, message: str
) -> None:
    response = api.post(
        "/asset/upload/url", json={"name": "v", "url": "https://example.com/v.mp4", field: value}
    )
    assert response.status_code == 422
    error = json.loads(response.json()["errors"][0])
    assert (error["instancePath"], error["message"]) == (f"/{field}", message)


def test_a_private_asset_cannot_use_an_object_store(api: ApiClient) -> None:
    body = {"name": "v", "url": "https://example.com/v.mp4", "objectStoreId": "os-1"}
    response = api.post("/asset/upload/url", json={**body, "playbackPolicy": {"type": "jwt"}})
    assert (response.status_code, response.json()) == (
        403,
        {"errors": ["private assets cannot use custom object store"]},
    )
