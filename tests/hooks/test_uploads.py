"""The hook's upload: tus in chunks from the server's offset after a failure, the single PUT, progress,
memory, and the upload token kept out of messages."""

from __future__ import annotations

import hashlib
import logging
import random
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import redact

from airflow_provider_livepeer.exceptions import LivepeerConnectionError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.uploads import Progress, UploadReport
from tests.support.emulator_api import ApiClient, video_bytes
from tests.support.running import fast_hook, logged

MIB = 1024 * 1024


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A real MP4 of a few kB: the emulator probes what it receives."""
    path = tmp_path / "video.mp4"
    path.write_bytes(video_bytes(seconds=1.0, width=320, height=240))
    return path


def rss_kib(field: str) -> int:
    """A field of this process's /proc status (VmRSS now, VmHWM its peak), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def upload(hook: LivepeerHook, path: Path, chunk_size: int) -> tuple[dict[str, Any], UploadReport]:
    """Request an upload and send ``path``; the request-upload answer (as JSON) and the report."""
    requested = hook.request_upload("upload")
    with path.open("rb") as source:
        report = hook.uploader(chunk_size).send(
            source, path.stat().st_size, url=requested.url, tus_endpoint=requested.tus_endpoint
        )
    return requested.model_dump(by_alias=True), report


def assert_asset_of(emulator: Any, requested: dict[str, Any], data: bytes) -> None:
    task = ApiClient(emulator.url, emulator.api_key).wait_task(requested["task"]["id"])
    spec = task["output"]["upload"]["assetSpec"]
    assert (spec["size"], spec["videoSpec"]["format"]) == (len(data), "mp4")
    assert {"algorithm": "sha256", "hash": hashlib.sha256(data).hexdigest()} in spec["hash"]


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_200_mb_file_uploads_in_constant_memory(
    livepeer_emulator: Any, emulator_conn: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.mp4"
    with path.open("wb") as sparse:  # 200 MB of zeros that take no disk and no time to make
        sparse.truncate(200 * MIB)
    hook = fast_hook(emulator_conn)
    before = rss_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM, the peak, to the RSS of now
    requested, report = upload(hook, path, 8 * MIB)
    growth_mib = (rss_kib("VmHWM") - before) / 1024  # the emulator runs in this process too: counted
    print(f"200 MB upload: peak RSS growth {growth_mib:.1f} MiB")
    assert (report.size, report.bytes_sent, report.resumes) == (200 * MIB, 200 * MIB, 0)
    assert growth_mib < 64
    assert livepeer_emulator.request_count("PATCH", status=204) == 25
    assert livepeer_emulator.asset(requested["asset"]["id"])["status"]["phase"] != "uploading"


@pytest.mark.livepeer_emulator(speed=1000)
def test_connections_dropped_at_30_60_and_90_percent_resume_from_the_servers_offset(
    livepeer_emulator: Any, emulator_conn: str, video: Path
) -> None:
    data, path = video.read_bytes(), video
    chunk = len(data) // 7  # eight chunks
    drops = [len(data) * percent // 100 for percent in (30, 60, 90)]
    livepeer_emulator.set_faults(upload_drops=drops)
    requested, report = upload(fast_hook(emulator_conn), path, chunk)
    print(f"resume test: {report.bytes_sent} bytes sent for a {report.size}-byte file, chunk {chunk}")
    assert report.resumes == 3
    assert len(data) < report.bytes_sent <= len(data) + 3 * chunk
    assert livepeer_emulator.request_count("HEAD") == 3
    assert [r.fault for r in livepeer_emulator.requests if r.fault] == ["drop"] * 3
    assert_asset_of(livepeer_emulator, requested, data)


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_5xx_on_a_patch_is_retried_from_the_servers_offset(
    livepeer_emulator: Any, emulator_conn: str, video: Path
) -> None:
    data, path = video.read_bytes(), video
    livepeer_emulator.set_faults(queue=["502"], methods=["PATCH"], path_prefix="/api/asset/upload/tus")
    requested, report = upload(fast_hook(emulator_conn), path, len(data) // 3)
    assert report.resumes == 1
    assert livepeer_emulator.request_count("PATCH", status=502) == 1
    assert_asset_of(livepeer_emulator, requested, data)


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_file_of_one_chunk_goes_in_one_put_and_progress_is_logged(
    livepeer_emulator: Any,
    emulator_conn: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    data = video_bytes()
    path = tmp_path / "small.mp4"
    path.write_bytes(data)
    with caplog.at_level(logging.INFO):
        requested, report = upload(fast_hook(emulator_conn), path, len(data))
    assert report.bytes_sent == len(data) and report.tus_location is None
    assert livepeer_emulator.request_count("PUT", "/api/asset/upload/direct", status=200) == 1
    assert livepeer_emulator.request_count("PATCH") == 0
    progress = logged(caplog, capfd, "Livepeer upload:")
    assert len(progress) == 1 and "(100%)" in progress[0], progress
    assert_asset_of(livepeer_emulator, requested, data)


def test_an_upload_that_gets_no_answer_names_the_path_but_not_the_token(
    livepeer_connection: Any, tmp_path: Path
) -> None:
    conn_id = livepeer_connection("http://127.0.0.1:1")
    path = tmp_path / "v.mp4"
    path.write_bytes(b"0123456789")
    url = "http://127.0.0.1:1/api/asset/upload/direct?token=s3cr3t-upload-token"
    with path.open("rb") as source, pytest.raises(LivepeerConnectionError) as failed:
        fast_hook(conn_id, max_attempts=1).uploader().send(source, 10, url=url, tus_endpoint=url)
    assert "/api/asset/upload/direct" in str(failed.value)
    assert "s3cr3t-upload-token" not in str(failed.value)


class ListLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, event: Any, *args: Any, **kw: Any) -> None:
        self.lines.append(event % args)

    def warning(self, event: Any, *args: Any, **kw: Any) -> None:
        self.lines.append(event % args)


def test_progress_is_logged_at_most_every_interval_and_at_the_end() -> None:
    now = [100.0]
    log = ListLog()
    progress = Progress(log, 100 * MIB, interval=5.0, clock=lambda: now[0])
    for seconds, offset in ((1, 10), (4.9, 20), (5.0, 30), (9.0, 40), (10.0, 50), (11.0, 100)):
        now[0] = 100.0 + seconds
        progress.advance(offset * MIB)
    assert log.lines == [
        "Livepeer upload: 30.0 MiB of 100.0 MiB (30%), 6.0 MiB/s",
        "Livepeer upload: 50.0 MiB of 100.0 MiB (50%), 5.0 MiB/s",
        "Livepeer upload: 100.0 MiB of 100.0 MiB (100%), 9.1 MiB/s",
    ]


def seed_delaying_only_the_first(requests: int, rate: float) -> int:
    """A fault seed whose draws give a latency spike to the first of ``requests`` requests only (the
    injector draws twice per request in scope; the second draw decides the spike)."""
    for seed in range(10_000):
        rng = random.Random(seed)
        spikes = [[rng.random(), rng.random()][1] < rate for _ in range(requests)]
        if spikes[0] and not any(spikes[1:]):
            return seed
    raise AssertionError("no such seed")


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_patch_that_times_out_is_resumed_from_the_servers_offset_and_the_token_is_never_logged(
    livepeer_emulator: Any,
    emulator_conn: str,
    video: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    data = video.read_bytes()
    # The first PATCH waits 1 s before the server reads it; the client gives up after 0.3 s.
    seed = seed_delaying_only_the_first(8, 0.5)
    faults = {"spike_rate": 0.5, "spike_ms": 1000, "seed": seed, "methods": ["PATCH"]}
    livepeer_emulator.set_faults(path_prefix="/api/asset/upload/tus", **faults)
    with caplog.at_level(logging.INFO):
        requested, report = upload(fast_hook(emulator_conn, read_timeout=0.3), video, len(data) // 3)
    assert report.resumes >= 1
    assert livepeer_emulator.request_count("HEAD") >= 1
    assert_asset_of(livepeer_emulator, requested, data)
    retried = logged(caplog, capfd, "ReadTimeout")
    token = requested["tusEndpoint"].split("token=")[1]
    assert retried and not logged(caplog, capfd, token)
    # Registered with Airflow's secrets masker: a line of another library's that shows it is masked.
    assert token not in redact(f"PATCH {requested['tusEndpoint']}")
