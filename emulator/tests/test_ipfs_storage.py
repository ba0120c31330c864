"""An IPFS export writes the asset's ``storage`` and moves its ``status.updatedAt``, as on Livepeer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from livepeer_studio_emulator.clock import ManualClock

from tests.support.emulator_api import ApiClient, video_bytes


@pytest.fixture
def frozen(livepeer_emulator_factory: Any) -> Any:
    return livepeer_emulator_factory(api_keys=["key-a"], clock=ManualClock(1_700_000_000))


@pytest.fixture
def api(frozen: Any) -> ApiClient:
    return ApiClient(frozen.url, "key-a")


@pytest.fixture
def asset_id(frozen: Any, api: ApiClient, tmp_path: Path) -> str:
    """A ready asset of the frozen emulator."""
    source = tmp_path / "v.mp4"
    source.write_bytes(video_bytes())
    asset, _ = api.import_url(source.as_uri())
    assert frozen.state.wait_for_jobs()
    frozen.state.clock.advance(60)
    assert api.get(f"/asset/{asset['id']}").json()["status"]["phase"] == "ready"
    return str(asset["id"])


def export(api: ApiClient, asset_id: str, ipfs: dict[str, Any], outcome: str = "complete") -> dict[str, Any]:
    response = api.post(
        f"/asset/{asset_id}/export", json={"ipfs": ipfs}, headers={"X-Emulator-Outcome": outcome}
    )
    assert response.status_code == 201
    return response.json()["task"]  # type: ignore[no-any-return]


def test_a_running_export_is_pending_then_its_files_are_on_the_asset(
    frozen: Any, api: ApiClient, asset_id: str
) -> None:
    before = api.get(f"/asset/{asset_id}").json()
    assert "storage" not in before
    frozen.state.clock.advance(1)
    task = export(api, asset_id, {"nftMetadataTemplate": "player"})
    asset = api.get(f"/asset/{asset_id}").json()
    assert asset["storage"] == {
        "ipfs": {"spec": {"nftMetadataTemplate": "player"}},
        "status": {"phase": "waiting", "tasks": {"pending": task["id"]}},
    }
    assert asset["status"] == {"phase": "ready", "updatedAt": task["createdAt"]}
    assert task["createdAt"] > before["status"]["updatedAt"]
    frozen.state.clock.advance(3)  # running: each progress report of the pending export is written
    running = api.task(task["id"])["status"]
    asset = api.get(f"/asset/{asset_id}").json()
    assert running["phase"] == "running" and running["progress"] > 0
    assert asset["storage"]["status"] == {
        "phase": "processing",
        "progress": running["progress"],
        "tasks": {"pending": task["id"]},
    }
    assert asset["status"]["updatedAt"] == running["updatedAt"]
    frozen.state.clock.advance(60)
    done = api.task(task["id"])
    assert done["status"]["phase"] == "completed"
    files = done["output"]["export"]["ipfs"]
    asset = api.get(f"/asset/{asset_id}").json()
    assert asset["storage"] == {
        "ipfs": {
            "spec": {"nftMetadataTemplate": "player"},
            "cid": files["videoFileCid"],
            "url": files["videoFileUrl"],
            "gatewayUrl": files["videoFileGatewayUrl"],
            "nftMetadata": {
                "cid": files["nftMetadataCid"],
                "url": files["nftMetadataUrl"],
                "gatewayUrl": files["nftMetadataGatewayUrl"],
            },
            "updatedAt": done["status"]["updatedAt"],
        },
        "status": {"phase": "ready", "tasks": {"last": task["id"]}},
    }
    assert asset["status"]["updatedAt"] == done["status"]["updatedAt"]


def test_a_failed_export_fails_the_storage_or_reverts_it_to_the_last_good_one(
    frozen: Any, api: ApiClient, asset_id: str
) -> None:
    first = export(api, asset_id, {}, "fail:pin failed")
    frozen.state.clock.advance(60)
    failed = api.get(f"/asset/{asset_id}").json()["storage"]
    assert failed["status"] == {
        "phase": "failed",
        "errorMessage": "pin failed",
        "tasks": {"failed": first["id"]},
    }
    good = export(api, asset_id, {"nftMetadataTemplate": "file"})
    frozen.state.clock.advance(60)
    # The same spec again changes nothing: the task runs, the storage stays as the good export left it.
    same = export(api, asset_id, {"nftMetadataTemplate": "file"})
    frozen.state.clock.advance(60)
    kept = api.get(f"/asset/{asset_id}").json()["storage"]
    assert api.task(same["id"])["status"]["phase"] == "completed"
    assert kept["status"] == {"phase": "ready", "tasks": {"last": good["id"]}}
    bad = export(api, asset_id, {"nftMetadataTemplate": "player"}, "fail:gateway down")
    assert api.get(f"/asset/{asset_id}").json()["storage"]["status"]["tasks"] == {
        "last": good["id"],
        "pending": bad["id"],
    }
    frozen.state.clock.advance(60)
    asset = api.get(f"/asset/{asset_id}").json()
    assert asset["storage"]["status"] == {
        "phase": "reverted",
        "errorMessage": "gateway down",
        "tasks": {"last": good["id"], "failed": bad["id"]},
    }
    assert asset["storage"]["ipfs"]["spec"] == {"nftMetadataTemplate": "file"}
    assert asset["storage"]["ipfs"]["cid"] == kept["ipfs"]["cid"]
    assert asset["status"]["updatedAt"] == api.task(bad["id"])["status"]["updatedAt"]


def test_an_export_with_pinata_keys_leaves_the_storage_alone(
    frozen: Any, api: ApiClient, asset_id: str
) -> None:
    export(api, asset_id, {"pinata": {"jwt": "secret"}})
    frozen.state.clock.advance(60)
    assert "storage" not in api.get(f"/asset/{asset_id}").json()
