"""Imports really fetch their source: exact size and hashes, probing, and clear failures."""

from __future__ import annotations

import hashlib
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import requests
from livepeer_studio_emulator.clock import ManualClock
from livepeer_studio_emulator.media import (
    INACCESSIBLE_MESSAGE,
    UNPROBEABLE_MESSAGE,
    FetchLimits,
    SourceError,
    check_reachable,
)

from tests.support.emulator_api import ApiClient, sample_bytes, video_bytes
from tests.support.schema import assert_valid
from tests.support.servers import MediaServer, free_port


def expected_hashes(content: bytes) -> list[dict[str, str]]:
    return [
        {"hash": hashlib.md5(content).hexdigest(), "algorithm": "md5"},
        {"hash": hashlib.sha256(content).hexdigest(), "algorithm": "sha256"},
    ]


def imported(api: ApiClient, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Import ``url`` and wait: returns (task, asset with details)."""
    asset, task_id = api.import_url(url)
    task = api.wait_task(task_id)
    return task, api.get(f"/asset/{asset['id']}", params={"details": "1"}).json()


def test_import_over_loopback_http_hashes_the_real_bytes(api: ApiClient, media_host: MediaServer) -> None:
    padding = sample_bytes(1_500_000)  # more than one fetch chunk, in a valid MP4 'free' box
    content = video_bytes() + (8 + len(padding)).to_bytes(4, "big") + b"free" + padding
    task, asset = imported(api, media_host.add("/videos/clip.mp4", content))
    assert task["status"]["phase"] == "completed"
    spec = task["output"]["upload"]["assetSpec"]
    assert spec["size"] == asset["size"] == len(content)
    assert spec["hash"] == asset["hash"] == expected_hashes(content)
    assert asset["status"]["phase"] == "ready"
    # Write-only on Livepeer: the server strips them from every answer.
    assert set(task["output"]["upload"]) == {"assetSpec"}


def test_import_of_a_file_url(api: ApiClient, tmp_path: Path) -> None:
    path = tmp_path / "with space.mp4"
    content = video_bytes(1.0, 128, 128)
    path.write_bytes(content)
    task, asset = imported(api, path.as_uri())
    assert asset["size"] == len(content)
    assert asset["hash"] == expected_hashes(content)
    assert task["output"]["upload"]["assetSpec"]["source"] == {"type": "url", "url": path.as_uri()}


def test_import_follows_loopback_redirects(
    api: ApiClient, livepeer_emulator: Any, media_host: MediaServer
) -> None:
    content = video_bytes()
    media_host.add("/real.mp4", content)
    media_host.redirects["/old.mp4"] = "/real.mp4"
    media_host.redirects["/away.mp4"] = "https://cdn.example.com/real.mp4"
    moved, asset = imported(api, f"{media_host.url}/old.mp4")
    assert moved["status"]["phase"] == "completed"
    assert asset["hash"] == expected_hashes(content)
    away, _ = imported(api, f"{media_host.url}/away.mp4")
    assert away["status"]["phase"] == "failed"
    assert "is not on this machine" in away["status"]["errorMessage"]
    media_host.statuses["/odd.mp4"] = 302  # a 302 without a Location is not a redirect
    odd, _ = imported(api, f"{media_host.url}/odd.mp4")
    assert odd["status"]["errorMessage"] == INACCESSIBLE_MESSAGE
    assert "HTTP 302" in livepeer_emulator.state.debug_task(odd["id"])["job"]["detail"]


def test_a_source_that_is_not_media_fails_the_import(
    api: ApiClient, livepeer_emulator: Any, tmp_path: Path
) -> None:
    # A Matroska signature, then noise: the emulator used to invent a 720p stereo videoSpec for it.
    path = tmp_path / "noise.mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + sample_bytes(50_000))
    task, asset = imported(api, path.as_uri())
    assert task["status"]["phase"] == "failed"
    assert (task["status"]["errorMessage"], task["status"]["retries"]) == (UNPROBEABLE_MESSAGE, 0)
    detail = livepeer_emulator.state.debug_task(task["id"])["job"]["detail"]
    assert detail.startswith(f"failed to probe {path.as_uri()}: ")
    assert "output" not in task
    assert (asset["status"]["phase"], "videoSpec" in asset) == ("failed", False)
    admin = requests.get(f"{livepeer_emulator.url}/_emulator/tasks/{task['id']}", timeout=5).json()
    assert admin["task"] == task
    assert_valid(admin["task"], "task")
    assert admin["job"]["error"] == task["status"]["errorMessage"]


def test_the_spec_is_the_files_own(api: ApiClient, tmp_path: Path) -> None:
    # 3 s, 320x240, mono: what the probe reads is what the asset says.
    path = tmp_path / "mono.mp4"
    _make_video(path, seconds=3.0, width=320, height=240, layout="mono")
    _, asset = imported(api, path.as_uri())
    spec = asset["videoSpec"]
    assert spec["duration"] == pytest.approx(3.0, abs=0.1)
    video = next(track for track in spec["tracks"] if track["type"] == "video")
    audio = next(track for track in spec["tracks"] if track["type"] == "audio")
    assert (video["width"], video["height"], audio["channels"]) == (320, 240, 1)


def _make_video(
    path: Path, seconds: float = 1.0, width: int = 64, height: int = 48, fps: int = 10, layout: str = "stereo"
) -> None:
    import av

    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        audio.layout = layout
        for index in range(int(seconds * fps)):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        for start in range(0, int(seconds * 44100), 1024):
            samples = av.AudioFrame(format="fltp", layout=layout, samples=1024)
            for plane in samples.planes:
                plane.update(bytes(plane.buffer_size))
            samples.sample_rate, samples.pts = 44100, start
            container.mux(audio.encode(samples))
        container.mux(audio.encode())


@pytest.mark.parametrize("over_http", [False, True])
def test_real_video_is_probed(
    api: ApiClient, media_host: MediaServer, tmp_path: Path, over_http: bool
) -> None:
    path = tmp_path / "real.mp4"
    _make_video(path)
    url = media_host.add("/real.mp4", path.read_bytes()) if over_http else path.as_uri()
    task, asset = imported(api, url)
    assert set(task["output"]["upload"]) == {"assetSpec"}  # no emulator-only facts in Livepeer's JSON
    spec = asset["videoSpec"]
    assert spec["format"] == "mp4"
    assert spec["duration"] == pytest.approx(1.0, abs=0.1)
    video = next(track for track in spec["tracks"] if track["type"] == "video")
    audio = next(track for track in spec["tracks"] if track["type"] == "audio")
    assert (video["codec"], video["width"], video["height"], video["fps"]) == ("h264", 64, 48, 10)
    assert (audio["codec"], audio["channels"], audio["sampleRate"]) == ("aac", 2, 44100)
    assert asset["hash"] == expected_hashes(path.read_bytes())


@pytest.mark.parametrize(
    ("make_url", "reason"),
    [
        (lambda server, tmp: f"http://127.0.0.1:{free_port()}/a.mp4", "ConnectError"),
        (lambda server, tmp: f"{server.url}/missing.mp4", "the server answered HTTP 404 Not Found"),
        (lambda server, tmp: (tmp / "absent.mp4").as_uri(), "no such file"),
        (lambda server, tmp: tmp.as_uri(), "is a directory"),
    ],
)
def test_a_source_that_cannot_be_fetched_is_retried_twice_then_fails_in_livepeers_words(
    api: ApiClient,
    livepeer_emulator: Any,
    media_host: MediaServer,
    tmp_path: Path,
    make_url: Any,
    reason: str,
) -> None:
    url = make_url(media_host, tmp_path)
    asset, task_id = api.import_url(url)
    failed_task = api.wait_task(task_id)
    assert failed_task["status"] == {
        "phase": "failed",
        "updatedAt": failed_task["status"]["updatedAt"],
        "retries": 2,
        "errorMessage": INACCESSIBLE_MESSAGE,
    }
    failed = api.get(f"/asset/{asset['id']}").json()["status"]
    assert (failed["phase"], failed["errorMessage"]) == ("failed", INACCESSIBLE_MESSAGE)
    job = livepeer_emulator.state.debug_task(task_id)["job"]
    assert len(job["failedTriesMs"]) == 2  # fetched three times in all
    assert url in job["detail"] and reason in job["detail"]  # the emulator's own words, for debugging


def test_a_source_that_appears_before_the_retry_is_imported(
    livepeer_emulator_factory: Any, media_host: MediaServer
) -> None:
    # At speed 100 the first retry comes 0.3 s after the failure: time enough to see it waiting.
    api = ApiClient(livepeer_emulator_factory(api_keys=["k"], speed=100).url, "k")
    url = f"{media_host.url}/later.mp4"
    _, task_id = api.import_url(url)
    deadline = time.monotonic() + 10
    while "errorMessage" not in (retrying := api.task(task_id))["status"] and time.monotonic() < deadline:
        time.sleep(0.005)
    assert (retrying["status"]["retries"], retrying["status"]["errorMessage"]) == (1, INACCESSIBLE_MESSAGE)
    media_host.add("/later.mp4", video_bytes())
    task = api.wait_task(task_id, timeout=20)
    assert task["status"]["phase"] == "completed"
    assert task["output"]["upload"]["assetSpec"]["size"] == len(video_bytes())


def test_retries_wait_livepeers_delays_at_the_emulators_speed(livepeer_emulator_factory: Any) -> None:
    clock = ManualClock(1_700_000_000)
    emulator = livepeer_emulator_factory(api_keys=["k"], clock=clock, speed=1000)
    api = ApiClient(emulator.url, "k")
    _, task_id = api.import_url(f"http://127.0.0.1:{free_port()}/a.mp4")
    assert emulator.wait_for_jobs(timeout=10)
    timeline = emulator.state.debug_task(task_id)["timeline"]
    statuses = [status for status in timeline if status["phase"] == "waiting"]
    failed_at = [s["updatedAt"] for s in statuses if "errorMessage" in s]
    rescheduled_at = [s["updatedAt"] for s in statuses if "errorMessage" not in s][1:]
    # 30 s before the first retry, 180 s before the second, at speed 1000.
    assert [b - a for a, b in zip(failed_at, rescheduled_at, strict=True)] == [30, 180]


@pytest.mark.parametrize(
    ("make_url", "reason"),
    [
        (lambda: "https://videos.example.com/a.mp4", "is not on this machine"),
        (lambda: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "IPFS"),
        (lambda: "ar://some-arweave-id", "Arweave"),
    ],
)
def test_a_source_the_emulator_cannot_reach_fails_at_once_in_its_own_words(
    api: ApiClient, make_url: Any, reason: str
) -> None:
    url = make_url()
    asset, task_id = api.import_url(url)
    task = api.wait_task(task_id)
    assert (task["status"]["phase"], task["status"]["retries"]) == ("failed", 0)
    message = task["status"]["errorMessage"]
    assert url in message
    assert reason in message
    failed = api.get(f"/asset/{asset['id']}").json()["status"]
    assert (failed["phase"], failed["errorMessage"]) == ("failed", message)


def test_sources_over_the_size_limit_fail(livepeer_emulator_factory: Any, media_host: MediaServer) -> None:
    content = video_bytes()
    emulator = livepeer_emulator_factory(api_keys=["k"], speed=1000, max_source_bytes=len(content))
    api = ApiClient(emulator.url, "k")
    _, task_id = api.import_url(media_host.add("/big.mp4", content + b"x"))
    assert "MiB limit" in api.wait_task(task_id)["status"]["errorMessage"]
    _, task_id = api.import_url(media_host.add("/fits.mp4", content))
    assert api.wait_task(task_id)["status"]["phase"] == "completed"


def test_credentials_in_source_urls_are_not_repeated(api: ApiClient) -> None:
    url = "https://user:hunter2@videos.example.com/a.mp4"
    _, task_id = api.import_url(url)
    message = api.wait_task(task_id)["status"]["errorMessage"]
    assert "hunter2" not in message
    assert "https://***@videos.example.com/a.mp4" in message


def test_remote_sources_can_be_allowed() -> None:
    with pytest.raises(SourceError, match="not on this machine"):
        check_reachable("https://example.com/a.mp4", FetchLimits())
    check_reachable("https://example.com/a.mp4", FetchLimits(allow_remote=True))  # no error
    check_reachable("http://localhost:1/a.mp4", FetchLimits())
    check_reachable("http://[::1]:1/a.mp4", FetchLimits())
