"""The hook against the bundled emulator: create, list, read and delete, and Livepeer's errors."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_livepeer.exceptions import (
    LivepeerAuthenticationError,
    LivepeerNotFoundError,
    LivepeerPermissionError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import TaskPhase


def wait_done(hook: LivepeerHook, livepeer_task_id: str) -> Any:
    deadline = time.monotonic() + 10
    while not (task := hook.get_task(livepeer_task_id)).is_terminal and time.monotonic() < deadline:
        time.sleep(0.02)
    return task


def test_import_read_list_delete(
    livepeer_emulator: Any, emulator_conn: str, media_server: str, media_dir: Any
) -> None:
    hook = LivepeerHook()
    created = [hook.import_asset(f"{media_server}/sample.mp4?n={n}", f"video {n}") for n in range(5)]
    assert all(work.asset is not None and work.asset.phase == "waiting" for work in created)
    done = [wait_done(hook, work.task.id) for work in created]
    assert [task.known_phase for task in done] == [TaskPhase.COMPLETED] * 5

    task = done[0]
    assert task.type == "upload" and task.output_asset_id == created[0].asset.id  # type: ignore[union-attr]
    assert (
        task.asset_spec is not None and task.asset_spec["size"] == (media_dir / "sample.mp4").stat().st_size
    )
    asset = hook.get_asset(task.output_asset_id)  # type: ignore[arg-type]
    assert asset.phase == "ready" and asset.size == task.asset_spec["size"]
    assert asset.video_spec is not None and asset.video_spec["duration"] == pytest.approx(2.0, abs=0.1)

    livepeer_emulator.reset_requests()
    listed = [t.id for t in hook.list_tasks(limit=2)]
    assert listed == [work.task.id for work in reversed(created)]  # newest first, over three pages
    assert livepeer_emulator.request_count("GET", "/api/task") == 3
    assert [t.id for t in hook.list_tasks(limit=2, max_items=3)] == listed[:3]
    uploads = [{"id": "type", "value": "upload"}, {"id": "outputAssetId", "value": asset.id}]
    assert [t.id for t in hook.list_tasks(filters=uploads)] == [task.id]

    hook.delete_asset(asset.id)
    with pytest.raises(LivepeerNotFoundError):
        hook.get_asset(asset.id)


def test_export_transcode_and_clip(
    livepeer_emulator: Any, emulator_conn: str, media_server: str, stream_playback_id: str
) -> None:
    hook = LivepeerHook()
    imported = wait_done(hook, hook.import_asset(f"{media_server}/sample.mp4", "source").task.id)
    export = wait_done(hook, hook.export_asset(imported.output_asset_id, ipfs=True).task.id)
    assert export.type == "export" and export.input_asset_id == imported.output_asset_id
    assert export.output["export"]["ipfs"]["videoFileCid"] and export.asset_spec is None

    storage = {"type": "web3.storage", "credentials": {"proof": "UCAN"}}
    transcode = wait_done(
        hook, hook.transcode(f"{media_server}/sample.mp4", storage, {"mp4": {"path": "/o"}}).task.id
    )
    assert transcode.type == "transcode-file" and transcode.known_phase is TaskPhase.COMPLETED

    clip = hook.create_clip(stream_playback_id, 1_700_000_000_000, 1_700_000_003_000, name="highlight")
    assert clip.asset is not None and clip.asset.name == "highlight"
    clipped = wait_done(hook, clip.task.id)
    assert clipped.output_asset_id == clip.asset.id and clipped.asset_spec["id"] == clip.asset.id  # type: ignore[index]


def test_livepeer_errors(
    livepeer_emulator: Any, emulator_conn: str, media_server: str, monkeypatch: Any
) -> None:
    hook = LivepeerHook()
    task_id = hook.import_asset(f"{media_server}/sample.mp4", "mine").task.id
    with pytest.raises(LivepeerNotFoundError, match="HTTP 404 for GET /api/task/missing"):
        hook.get_task("missing")
    monkeypatch.setenv(
        "AIRFLOW_CONN_OTHER", livepeer_emulator.airflow_conn_json(livepeer_emulator.api_keys[1])
    )
    with pytest.raises(LivepeerPermissionError, match="HTTP 403"):
        LivepeerHook("other").get_task(task_id)
    assert [t.id for t in LivepeerHook("other").list_tasks()] == []  # accounts are kept apart
    monkeypatch.setenv("AIRFLOW_CONN_WRONG", livepeer_emulator.airflow_conn_json("wrong-key"))
    ok, message = LivepeerHook("wrong").test_connection()
    assert not ok and "HTTP 401" in message and "wrong-key" not in message
    with pytest.raises(LivepeerAuthenticationError):
        LivepeerHook("wrong").get_task(task_id)


def test_connection_uri_form_works(livepeer_emulator: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FROM_URI", livepeer_emulator.airflow_conn_uri())
    ok, message = LivepeerHook("from_uri").test_connection()
    assert ok, message
    assert livepeer_emulator.api_url in message


@pytest.mark.parametrize(
    "uri",
    [
        "livepeer://:{key}@127.0.0.1:{port}",  # a bare loopback host: http
        "livepeer://http://:{key}@127.0.0.1:{port}",  # Airflow's protocol form: host and port apart
        "livepeer://:{key}@http%3A%2F%2F127.0.0.1%3A{port}",  # the whole URL percent-encoded as the host
        "livepeer://:{key}@localhost:{port}/api",  # the schema is the path
    ],
)
def test_uri_connection_forms_reach_the_port(
    livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch, uri: str
) -> None:
    port = int(livepeer_emulator.url.rsplit(":", 1)[1])
    monkeypatch.setenv("AIRFLOW_CONN_LIVEPEER_URI", uri.format(key=livepeer_emulator.api_key, port=port))
    hook = LivepeerHook("livepeer_uri", max_attempts=1)
    ok, message = hook.test_connection()
    assert ok, message
    assert hook.base_url.endswith(f":{port}/api") and hook.base_url.startswith("http://")
    assert livepeer_emulator.request_count("GET", "/api/task") == 1


def test_json_connection_port_field(livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    port = int(livepeer_emulator.url.rsplit(":", 1)[1])
    conn = {"conn_type": "livepeer", "host": "127.0.0.1", "port": port, "password": livepeer_emulator.api_key}
    monkeypatch.setenv("AIRFLOW_CONN_LIVEPEER_JSON", json.dumps(conn))
    hook = LivepeerHook("livepeer_json", max_attempts=1)
    assert hook.test_connection() == (True, f"Connected to Livepeer Studio at http://127.0.0.1:{port}/api")


def test_the_emulators_connection_uri_reads_as_a_livepeer_connection(livepeer_emulator: Any) -> None:
    from airflow.models.connection import Connection

    key = livepeer_emulator.api_key
    conn = Connection(conn_id="x", uri=livepeer_emulator.airflow_conn_uri())
    assert (conn.conn_type, conn.host, conn.password) == ("livepeer", livepeer_emulator.url, key)
    second = Connection(conn_id="y", uri=livepeer_emulator.airflow_conn_uri("emulator-key-2"))
    assert second.password == "emulator-key-2"
