"""Every example DAG parses in a real DagBag and succeeds in a ``dag.test()`` run against the emulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS
from tests.support.airflow import as_the_dag_processor_leaves_it, dag_bag, error_log_lines, xcom_value
from tests.support.emulator_api import answered, recorded_stream
from tests.support.project import DAG_FOLDERS, PROJECT_ROOT

EXAMPLE_DAG_IDS = {
    "example_livepeer_import_pipeline",
    "example_livepeer_import_pipeline_deferrable",
    "example_livepeer_asset_producer",
    "example_livepeer_asset_consumer",
    "example_livepeer_file_upload",
    "example_livepeer_highlights",
    "example_livepeer_custom_operator",
    # Event triggers (AssetWatcher) arrived in Airflow 3.0: on Airflow 2 the file defines no DAG.
    *(["example_livepeer_uploads"] if AIRFLOW_V_3_0_PLUS else []),
    # The webhook receiver is a plugin app of Airflow 3.1's api-server: before, the file defines no DAG.
    *(["example_livepeer_webhook_setup", "example_livepeer_webhook_uploads"] if AIRFLOW_V_3_1_PLUS else []),
}


@pytest.fixture(autouse=True)
def fast_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEPEER_EXAMPLE_POLL_INTERVAL", "0.2")


def example_module(file: str) -> Any:
    """Import an example DAG file as Airflow would."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"example_{file}", DAG_FOLDERS["examples"] / f"{file}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_dag(airflow_db: None, file: str, dag_id: str) -> Any:
    """Import an example DAG file as Airflow would and return one of its DAGs."""
    from airflow.providers.common.compat.sdk import DAG

    module = example_module(file)
    [dag] = [value for value in vars(module).values() if isinstance(value, DAG) and value.dag_id == dag_id]
    return as_the_dag_processor_leaves_it(dag)


def exports(emulator: Any) -> int:
    return sum(1 for r in emulator.requests if r.method == "POST" and r.path.endswith("/export"))


def test_every_example_parses_in_a_dagbag(airflow_db: None) -> None:
    bag = dag_bag(str(DAG_FOLDERS["examples"]))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXAMPLE_DAG_IDS


@pytest.mark.parametrize(
    "dag_id", ["example_livepeer_import_pipeline", "example_livepeer_import_pipeline_deferrable"]
)
@pytest.mark.livepeer_emulator(speed=8)
def test_import_pipeline(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    airflow_db: None,
    dag_id: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    dag = example_dag(airflow_db, "example_livepeer_import_pipeline", dag_id)
    dag_run = dag.test(run_conf={"source_url": sample_video_url})
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    # A successful run logs nothing at error level (no "XCom not found" for a link never stored).
    assert error_log_lines(capfd) == []
    # The 2 s, 320x240 sample clears the default bar, so the branch exported it.
    assert states["export_to_ipfs"] == "success" and states["report_unsuitable"] == "skipped"
    assert exports(livepeer_emulator) == 1


@pytest.mark.livepeer_emulator(speed=8)
def test_import_pipeline_branches_on_quality(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, airflow_db: None
) -> None:
    dag = example_dag(airflow_db, "example_livepeer_import_pipeline", "example_livepeer_import_pipeline")
    dag_run = dag.test(run_conf={"source_url": sample_video_url, "min_height": 1080})
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert states["report_unsuitable"] == "success" and states["export_to_ipfs"] == "skipped", states
    assert exports(livepeer_emulator) == 0


@pytest.mark.livepeer_emulator(speed=8)
def test_asset_producer_then_consumer(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    airflow_db: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    producer = example_dag(airflow_db, "example_livepeer_assets", "example_livepeer_asset_producer")
    consumer = example_dag(airflow_db, "example_livepeer_assets", "example_livepeer_asset_consumer")
    assert producer.test(run_conf={"source_url": sample_video_url}).state == "success"
    dag_run = consumer.test()
    assert dag_run.state == "success"
    assert error_log_lines(capfd) == []
    [ti] = dag_run.get_task_instances()
    received = xcom_value(consumer.dag_id, dag_run.run_id, ti.task_id)
    assert received["type"] == "upload"
    host = livepeer_emulator.url.removeprefix("http://")
    assert received["uri"] == f"livepeer://{host}/assets/{received['output_asset_id']}"
    assert livepeer_emulator.asset(received["output_asset_id"])["status"]["phase"] == "ready"


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="event triggers (AssetWatcher) arrived in Airflow 3.0")
@pytest.mark.livepeer_emulator(speed=20)
def test_uploads_example_processes_the_upload_of_a_trigger_event(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, airflow_db: None
) -> None:
    import asyncio
    from types import SimpleNamespace

    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    module = example_module("example_livepeer_uploads")
    dag, uploads = as_the_dag_processor_leaves_it(module.dag), module.uploads
    [watcher] = uploads.watchers

    async def next_event() -> dict[str, Any]:
        run = watcher.trigger.run()
        first = asyncio.ensure_future(anext(run))
        try:
            # The trigger has started once its watcher lists the account: the upload below is news to it.
            await answered(livepeer_emulator, 1)
            LivepeerHook().import_asset(sample_video_url, "uploaded by an app")
            event = await asyncio.wait_for(first, 30)
            return dict(event.payload)
        finally:
            first.cancel()
            await run.aclose()

    payload = asyncio.run(next_event())
    # The asset event the AssetWatcher makes of it (Airflow keeps the payload under "payload").
    # Keyed by the Asset's URI here: Airflow 3.0's Asset is not hashable; the task only reads the events.
    events = {uploads.uri: [SimpleNamespace(extra={"from_trigger": True, "payload": payload})]}
    [processed] = dag.get_task("process_upload").python_callable(triggering_asset_events=events)
    spec = livepeer_emulator.asset(payload["output_asset_id"])
    assert processed == {
        "livepeer_task_id": payload["livepeer_task_id"],
        "asset_id": spec["id"],
        "name": "uploaded by an app",
        "playback_id": spec["playbackId"],
        "size": spec["size"],
        "duration": spec["videoSpec"]["duration"],
    }


@pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="the webhook receiver is an Airflow 3.1+ plugin app")
def test_webhook_setup_registers_one_signed_webhook_however_often_it_runs(
    livepeer_emulator: Any, airflow_db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.webhooks import SECRET

    conn = json.loads(livepeer_emulator.airflow_conn_json())
    conn["extra"] = {"webhook_secret": SECRET}
    monkeypatch.setenv("AIRFLOW_CONN_LIVEPEER_DEFAULT", json.dumps(conn))
    dag = example_dag(airflow_db, "example_livepeer_webhooks", "example_livepeer_webhook_setup")
    for _ in range(2):
        assert dag.test(run_conf={"public_url": "https://airflow.example.com/"}).state == "success"
    [webhook] = [hook for hook in livepeer_emulator.state.webhooks.all() if not hook.deleted]
    assert webhook.url == "https://airflow.example.com/livepeer/webhooks/livepeer_default"
    assert webhook.shared_secret == SECRET
    assert webhook.events == ["task.completed", "task.failed", "asset.ready", "asset.failed"]


@pytest.mark.skipif(not AIRFLOW_V_3_1_PLUS, reason="the webhook receiver is an Airflow 3.1+ plugin app")
def test_webhook_uploads_example_reads_the_upload_from_the_receivers_event(airflow_db: None) -> None:
    from types import SimpleNamespace

    from airflow_provider_livepeer.webhooks import event_extra, parse_event
    from tests.support.webhooks import raw, task_event

    body = task_event()
    extra = event_extra(parse_event(raw(body)))  # type: ignore[arg-type]
    dag = example_dag(airflow_db, "example_livepeer_webhooks", "example_livepeer_webhook_uploads")
    events = {"livepeer_webhook_uploads": [SimpleNamespace(extra=extra)]}
    [processed] = dag.get_task("process_upload").python_callable(triggering_asset_events=events)
    snapshot = body["payload"]["task"]["snapshot"]
    assert processed == {
        "livepeer_event_id": body["id"],
        "livepeer_task_id": snapshot["id"],
        "asset_id": snapshot["outputAssetId"],
        "playback_id": "abcd1234efgh5678",
        "name": None,
        "size": 7170,
    }


def test_the_demo_command_imports_a_real_file(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LIVEPEER"))}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "demo.py")], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "example_livepeer_import_pipeline: success" in out
    assert "(upload): completed" in out
    assert re.search(r"^Size +7170 bytes$", out, re.MULTILINE), out
    assert "sha256" in out and "md5" in out
    assert "Duration          2." in out and "320x240" in out
    for phase in ("pending", "waiting", "running", "completed"):
        assert f"  {phase}" in out


@pytest.mark.livepeer_emulator(speed=1000)
def test_file_upload_example_renders_uploads_and_describes_the_clip(
    livepeer_emulator: Any, emulator_conn: str, airflow_db: None
) -> None:
    dag = example_dag(airflow_db, "example_livepeer_file_upload", "example_livepeer_file_upload")
    dag_run = dag.test()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    summary = xcom_value(dag.dag_id, dag_run.run_id, "describe_asset")
    assert summary["duration"] == pytest.approx(2.0, abs=0.1)  # Livepeer read the rendered clip itself
    assert livepeer_emulator.request_count("PUT", "/api/asset/upload/direct", status=200) == 1


@pytest.mark.livepeer_emulator(speed=20)
def test_highlights_example_clips_transcodes_and_deletes_the_clip(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    airflow_db: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LIVEPEER_TRANSCODE_STORAGE",
        json.dumps({"conn_type": "generic", "login": "key-id", "password": "key-secret"}),
    )
    dag = example_dag(airflow_db, "example_livepeer_highlights", "example_livepeer_highlights")
    dag_run = dag.test(
        run_conf={
            "stream_playback_id": recorded_stream(livepeer_emulator, sample_video_url),
            "start_ms": 1700000000000,
            "end_ms": 1700000004000,
            "source_url": sample_video_url,
            "storage_endpoint": "https://s3.example.invalid",
            "storage_bucket": "renditions",
        }
    )
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    clip_task = livepeer_emulator.task(
        xcom_value(dag.dag_id, dag_run.run_id, "clip_highlight", "livepeer_task_id")
    )
    transcode_task = livepeer_emulator.task(
        xcom_value(dag.dag_id, dag_run.run_id, "transcode_to_storage", "livepeer_task_id")
    )
    assert (clip_task["type"], transcode_task["type"]) == ("clip", "transcode-file")
    assert transcode_task["status"]["phase"] == "completed"
    deleted = f"/api/asset/{clip_task['outputAssetId']}"
    assert livepeer_emulator.request_count("DELETE", deleted, status=204) == 1


@pytest.mark.livepeer_emulator(speed=20)
def test_custom_operator_example_defers_on_the_trigger_and_describes_the_asset(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, airflow_db: None
) -> None:
    dag = example_dag(airflow_db, "example_livepeer_custom_operator", "example_livepeer_custom_operator")
    dag_run = dag.test(run_conf={"source_url": sample_video_url})
    assert dag_run.state == "success"
    described = xcom_value(dag.dag_id, dag_run.run_id, "import_and_describe")
    asset = livepeer_emulator.asset(described["asset_id"])
    assert described["size"] == asset["size"] == 7170
