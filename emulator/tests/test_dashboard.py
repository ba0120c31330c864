"""The emulator's pages for people, at the paths the provider's extra links open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from tests.support.emulator_api import ApiClient, video_bytes


def test_an_asset_page_opens_without_a_key_and_shows_the_asset(
    api: ApiClient, livepeer_emulator: Any, tmp_path: Path
) -> None:
    source = tmp_path / "holiday.mp4"
    source.write_bytes(video_bytes())
    asset, task_id = api.import_url(source.as_uri(), name="Holiday <clip>")
    assert api.wait_task(task_id)["status"]["phase"] == "completed"

    page = requests.get(f"{livepeer_emulator.url}/dashboard/assets/{asset['id']}", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Asset Holiday &lt;clip&gt;</h1>" in page.text  # escaped, not markup
    assert f"<td>{asset['id']}</td>" in page.text
    assert f"<td>{asset['playbackId']}</td>" in page.text
    assert "<td>ready</td>" in page.text
    assert "Authorization" not in page.request.headers


def test_an_unknown_asset_page_is_a_404_page(livepeer_emulator: Any) -> None:
    page = requests.get(f"{livepeer_emulator.url}/dashboard/assets/nope", timeout=10)
    assert page.status_code == 404
    assert "Asset nope was not found" in page.text
