"""Imports really fetch their source: exact size and hashes, probing, and clear failures."""

from __future__ import annotations

import hashlib
import socket
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_livepeer.emulator.media import (
    FetchLimits,
    SourceError,
    check_reachable,
    estimate_video_spec,
)
from tests._schema import assert_valid
from tests.emulator.conftest import ApiClient, MediaServer, sample_bytes


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


def test_import_over_loopback_http_hashes_the_real_bytes(api: ApiClient, media_server: MediaServer) -> None:
    content = sample_bytes(1_500_000)  # more than one fetch chunk
    task, asset = imported(api, media_server.add("/videos/clip.mp4", content))
    assert task["status"]["phase"] == "completed"
    spec = task["output"]["upload"]["assetSpec"]
    assert spec["size"] == asset["size"] == len(content) == 1_500_000
    assert spec["hash"] == asset["hash"] == expected_hashes(content)
    assert asset["status"]["phase"] == "ready"
    assert task["output"]["upload"]["videoFilePath"].endswith(f"/{asset['playbackId']}/video")
    assert task["output"]["upload"]["metadataFilePath"].endswith(f"/{asset['playbackId']}/video.json")


def test_import_of_a_file_url(api: ApiClient, tmp_path: Path) -> None:
    path = tmp_path / "with space.mp4"
    content = sample_bytes(123_457, seed=3)
    path.write_bytes(content)
    task, asset = imported(api, path.as_uri())
    assert asset["size"] == 123_457
    assert asset["hash"] == expected_hashes(content)
    assert task["output"]["upload"]["assetSpec"]["source"] == {"type": "url", "url": path.as_uri()}


def test_import_follows_loopback_redirects(api: ApiClient, media_server: MediaServer) -> None:
    content = b"moved content"
    media_server.add("/real.mp4", content)
    media_server.redirects["/old.mp4"] = "/real.mp4"
    media_server.redirects["/away.mp4"] = "https://cdn.example.com/real.mp4"
    moved, asset = imported(api, f"{media_server.url}/old.mp4")
    assert moved["status"]["phase"] == "completed"
    assert asset["hash"] == expected_hashes(content)
    away, _ = imported(api, f"{media_server.url}/away.mp4")
    assert away["status"]["phase"] == "failed"
    assert "is not on this machine" in away["status"]["errorMessage"]
    media_server.statuses["/odd.mp4"] = 302  # a 302 without a Location is not a redirect
    odd, _ = imported(api, f"{media_server.url}/odd.mp4")
    assert "HTTP 302" in odd["status"]["errorMessage"]


def test_unprobed_media_says_its_spec_is_estimated(
    api: ApiClient, livepeer_emulator: Any, tmp_path: Path
) -> None:
    path = tmp_path / "noise.mkv"
    path.write_bytes(b"\x1a\x45\xdf\xa3" + sample_bytes(50_000))  # a Matroska signature, then noise
    task, asset = imported(api, path.as_uri())
    upload = task["output"]["upload"]
    assert upload["videoSpecSource"] == "estimated"
    assert upload["videoSpecNote"]  # why: PyAV missing, or it could not read the bytes
    assert asset["videoSpec"]["format"] == "matroska"
    assert {track["type"] for track in asset["videoSpec"]["tracks"]} == {"video", "audio"}
    assert livepeer_emulator.state.debug_task(task["id"])["videoSpecSource"] == "estimated"
    admin = requests.get(f"{livepeer_emulator.url}/_emulator/tasks/{task['id']}", timeout=5).json()
    assert admin["videoSpecSource"] == "estimated"
    assert admin["task"] == task
    assert_valid(admin["task"], "task")
    assert admin["job"]["media"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_without_pyav_the_spec_is_estimated_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow_provider_livepeer.emulator import media

    path = tmp_path / "a.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(1000))
    monkeypatch.setattr(media, "probe_available", lambda: False)
    info = media.measure(path.as_uri(), FetchLimits())
    assert (info.size, info.video_spec_source, info.video_spec["format"]) == (1012, "estimated", "mp4")
    assert info.probe_error is not None and "PyAV is not installed" in info.probe_error


def _make_video(path: Path, seconds: float = 1.0, width: int = 64, height: int = 48, fps: int = 10) -> None:
    av = pytest.importorskip("av", reason="PyAV (the 'probe' extra) is not installed")
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=44100)
        audio.layout = "stereo"
        for index in range(int(seconds * fps)):
            frame = av.VideoFrame(width, height, "yuv420p")
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        for start in range(0, int(seconds * 44100), 1024):
            samples = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
            for plane in samples.planes:
                plane.update(bytes(plane.buffer_size))
            samples.sample_rate, samples.pts = 44100, start
            container.mux(audio.encode(samples))
        container.mux(audio.encode())


@pytest.mark.parametrize("over_http", [False, True])
def test_real_video_is_probed(
    api: ApiClient, media_server: MediaServer, tmp_path: Path, over_http: bool
) -> None:
    path = tmp_path / "real.mp4"
    _make_video(path)
    url = media_server.add("/real.mp4", path.read_bytes()) if over_http else path.as_uri()
    task, asset = imported(api, url)
    assert task["output"]["upload"]["videoSpecSource"] == "probed"
    assert "videoSpecNote" not in task["output"]["upload"]
    spec = asset["videoSpec"]
    assert spec["format"] == "mp4"
    assert spec["duration"] == pytest.approx(1.0, abs=0.1)
    video = next(track for track in spec["tracks"] if track["type"] == "video")
    audio = next(track for track in spec["tracks"] if track["type"] == "audio")
    assert (video["codec"], video["width"], video["height"], video["fps"]) == ("h264", 64, 48, 10)
    assert (audio["codec"], audio["channels"], audio["sampleRate"]) == ("aac", 2, 44100)
    assert asset["hash"] == expected_hashes(path.read_bytes())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("make_url", "reason"),
    [
        (lambda server, tmp: f"http://127.0.0.1:{_closed_port()}/a.mp4", "ConnectError"),
        (lambda server, tmp: f"{server.url}/missing.mp4", "the server answered HTTP 404 Not Found"),
        (lambda server, tmp: "https://videos.example.com/a.mp4", "is not on this machine"),
        (lambda server, tmp: (tmp / "absent.mp4").as_uri(), "no such file"),
        (lambda server, tmp: "ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "IPFS"),
        (lambda server, tmp: "ar://some-arweave-id", "Arweave"),
        (lambda server, tmp: tmp.as_uri(), "is a directory"),
    ],
)
def test_unfetchable_source_fails_with_a_clear_message(
    api: ApiClient, media_server: MediaServer, tmp_path: Path, make_url: Any, reason: str
) -> None:
    url = make_url(media_server, tmp_path)
    asset, task_id = api.import_url(url)
    task = api.wait_task(task_id)
    assert task["status"]["phase"] == "failed"
    message = task["status"]["errorMessage"]
    assert url in message
    assert reason in message
    failed = api.get(f"/asset/{asset['id']}").json()["status"]
    assert (failed["phase"], failed["errorMessage"]) == ("failed", message)


def test_sources_over_the_size_limit_fail(livepeer_emulator_factory: Any, media_server: MediaServer) -> None:
    emulator = livepeer_emulator_factory(api_keys=["k"], speed=1000, max_source_bytes=1000)
    api = ApiClient(emulator.url, "k")
    _, task_id = api.import_url(media_server.add("/big.mp4", b"x" * 1001))
    assert "larger than the 0.000953674 MiB limit" in api.wait_task(task_id)["status"]["errorMessage"]
    _, task_id = api.import_url(media_server.add("/fits.mp4", b"x" * 1000))
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


@pytest.mark.parametrize(
    ("head", "url", "fmt"),
    [
        (b"\x00\x00\x00\x18ftypisom", "x", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  ", "x", "mov"),
        (b"FLV\x01", "x", "flv"),
        (b"G" + bytes(187) + b"G", "x", "mpegts"),
        (b"", "https://h/video.webm?sig=1", "matroska"),
        (b"", "https://h/video", "mp4"),
    ],
)
def test_estimated_format(head: bytes, url: str, fmt: str) -> None:
    spec = estimate_video_spec(2_500_000 // 8 * 10, head, url)
    assert spec["format"] == fmt
    assert spec["duration"] == 10
