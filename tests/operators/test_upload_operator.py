"""LivepeerUploadOperator: its source checked before any Livepeer work, a local file, object storage
(``file://``, and S3 served by moto with an Airflow connection), Livepeer's failure of a file that is not
video, the deferrable wait, and a retried try that goes on with the same tus upload."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_livepeer.exceptions import LivepeerConnectionError, LivepeerTaskFailedError
from airflow_provider_livepeer.operators.upload import UPLOAD_STATE_KEY, LivepeerUploadOperator
from tests.support.airflow import needs_task_state_store
from tests.support.emulator_api import sample_bytes, video_bytes
from tests.support.running import RecordingTI, StateStore, context, fast_hook

BUCKET = "videos"
#: S3 comes with the s3 dependency group: in the dev venv, not in the version runs (see pyproject.toml).
NEEDS_S3 = pytest.mark.skipif(
    importlib.util.find_spec("s3fs") is None, reason="S3 needs the s3 dependency group (the dev venv)"
)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A real MP4 of a few kB: the emulator probes what it receives."""
    path = tmp_path / "talk.mp4"
    path.write_bytes(video_bytes(seconds=1.0, width=320, height=240))
    return path


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An S3 bucket on moto's server, with ``talk.mp4`` in it, and the ``s3_videos`` Airflow connection
    to it; yields the server's URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1", **credentials)
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key="talk.mp4", Body=video_bytes(seconds=1.0, width=320, height=240))
    extra = {"endpoint_url": url, "region_name": "us-east-1"}
    conn = {"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_S3_VIDEOS", json.dumps(conn))
    yield url
    server.stop()


def operator(source: Any, **options: Any) -> LivepeerUploadOperator:
    return LivepeerUploadOperator(
        task_id="upload", source=source, name="talk", poll_interval=0.05, chunk_size=2048, **options
    )


def assert_asset_of(emulator: Any, result: dict[str, Any], ti: RecordingTI, data: bytes) -> None:
    assert result["phase"] == "completed" and result["type"] == "upload"
    assert ti.xcoms["output_asset_id"] == result["output_asset_id"]
    spec = ti.xcoms["asset_spec"]
    assert (spec["size"], spec["source"]) == (len(data), {"type": "directUpload"})
    assert {"algorithm": "sha256", "hash": hashlib.sha256(data).hexdigest()} in spec["hash"]
    assert emulator.request_count("POST", "/api/asset/request-upload") == 1


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{tmp}/missing.mp4", "no such file"),
        ("{tmp}/empty.mp4", "the file is empty"),
        ("{tmp}", "not a file"),
        ("file://{tmp}/missing.mp4", "no such file"),
        ("nosuchscheme://bucket/talk.mp4", "cannot be read"),  # each Airflow words the cause its own way
        pytest.param("s3://videos/talk.mp4", "NoCredentialsError", marks=NEEDS_S3),
    ],
    ids=["missing", "empty", "folder", "missing-uri", "unknown-scheme", "uri-without-credentials"],
)
@pytest.mark.livepeer_emulator(speed=1000)
def test_a_bad_source_fails_before_any_livepeer_work(
    livepeer_emulator: Any,
    emulator_conn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    problem: str,
) -> None:
    # No AWS credentials anywhere, and no AWS on the network: S3 on a closed loopback port.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    (tmp_path / "empty.mp4").touch()
    source = source.format(tmp=tmp_path)
    ti = RecordingTI()
    with pytest.raises(ValueError, match="Invalid upload source") as refused:
        operator(source).execute(context(ti))
    assert source in str(refused.value) and problem in str(refused.value)
    assert "expected" in str(refused.value)
    assert livepeer_emulator.request_count("POST") == 0 and "livepeer_task_id" not in ti.xcoms


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_local_file_is_uploaded_and_its_asset_published(
    livepeer_emulator: Any, emulator_conn: str, video: Path
) -> None:
    ti = RecordingTI()
    result = operator(str(video)).execute(context(ti))
    assert ti.xcoms["livepeer_task_id"] == result["livepeer_task_id"]
    assert livepeer_emulator.request_count("PATCH", status=204) == 3  # 4.8 kB in 2 kB chunks
    assert_asset_of(livepeer_emulator, result, ti, video.read_bytes())


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_file_uri_is_uploaded(livepeer_emulator: Any, emulator_conn: str, video: Path) -> None:
    ti = RecordingTI()
    result = operator(video.as_uri()).execute(context(ti))
    assert_asset_of(livepeer_emulator, result, ti, video.read_bytes())


@NEEDS_S3
@pytest.mark.livepeer_emulator(speed=1000)
def test_an_s3_object_is_uploaded_through_an_airflow_connection(
    livepeer_emulator: Any, emulator_conn: str, video: Path, s3: str
) -> None:
    ti = RecordingTI()
    result = operator(f"s3://s3_videos@{BUCKET}/talk.mp4").execute(context(ti))
    assert_asset_of(livepeer_emulator, result, ti, video.read_bytes())


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_file_that_is_not_video_fails_the_task_with_livepeers_error(
    livepeer_emulator: Any, emulator_conn: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(sample_bytes(5000))
    with pytest.raises(LivepeerTaskFailedError, match="failed to probe"):
        operator(str(notes)).execute(context(RecordingTI()))


@pytest.mark.livepeer_emulator(speed=1000)
def test_deferrable_uploads_in_the_worker_then_defers_the_wait(
    livepeer_emulator: Any, emulator_conn: str, video: Path
) -> None:
    ti = RecordingTI()
    with pytest.raises(TaskDeferred) as deferred:
        operator(str(video), deferrable=True).execute(context(ti))
    asset = livepeer_emulator.asset(ti.xcoms["output_asset_id"])
    assert asset["status"]["phase"] != "uploading"  # every byte was sent before the wait moved away
    kwargs = json.dumps(deferred.value.trigger.serialize()[1], default=str)
    assert ti.xcoms["livepeer_task_id"] in kwargs and "token" not in kwargs


@needs_task_state_store
@pytest.mark.livepeer_emulator(speed=1000)
def test_a_retried_try_goes_on_with_the_same_tus_upload(
    livepeer_emulator: Any, emulator_conn: str, video: Path
) -> None:
    data, store = video.read_bytes(), StateStore()
    livepeer_emulator.set_faults(upload_drops=[3000])
    first, first_ti = operator(str(video)), RecordingTI()
    first.hook = fast_hook(emulator_conn, max_attempts=1)  # the first try ends at the drop
    with pytest.raises(LivepeerConnectionError):
        first.execute(context(first_ti, task_state_store=store))
    assert store.get(UPLOAD_STATE_KEY)["tus_location"]
    # The ids were pushed before the upload: a sensor downstream could already follow the task.
    assert first_ti.xcoms["livepeer_task_id"] == store.get("livepeer_task_id")
    assert first_ti.xcoms["output_asset_id"] and first_ti.xcoms["playback_id"]
    ti = RecordingTI()
    result = operator(str(video)).execute(context(ti, task_state_store=store))
    # The second try asked whether the upload is still there, then where the server stopped.
    assert livepeer_emulator.request_count("HEAD") == 2
    patches = [r for r in livepeer_emulator.requests if r.method == "PATCH"]
    assert len(patches) == 3  # 0-2048 and the dropped 2048-4096, then 3000 to the end in the second try
    assert_asset_of(livepeer_emulator, result, ti, data)


@needs_task_state_store
def test_a_retried_try_whose_upload_expired_starts_anew(clocked_emulator: Any, video: Path) -> None:
    emulator, store = clocked_emulator(), StateStore()
    emulator.set_faults(upload_drops=[3000])
    first = operator(str(video), wait_for_completion=False)
    first.hook = fast_hook(max_attempts=1)  # the first try ends at the drop
    with pytest.raises(LivepeerConnectionError):
        first.execute(context(RecordingTI(), task_state_store=store))
    first_task = store.get("livepeer_task_id")
    emulator.state.clock.advance(24 * 3600)  # the upload expires (the emulator's clock, not the test's)
    ti = RecordingTI()
    operator(str(video), wait_for_completion=False).execute(context(ti, task_state_store=store))
    assert emulator.request_count("HEAD", status=410) == 1
    assert emulator.request_count("POST", "/api/asset/request-upload") == 2
    assert ti.xcoms["livepeer_task_id"] not in (None, first_task)
    assert emulator.asset(ti.xcoms["output_asset_id"])["status"]["phase"] != "uploading"
