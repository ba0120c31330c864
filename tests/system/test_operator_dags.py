"""The operators in real DAG runs (``dag.test()``) against the emulator."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow import asset_events_of_run, error_log_lines, needs_task_state_store
from tests.support.emulator_api import recorded_stream
from tests.support.servers import MediaServer, serve_media


@pytest.fixture
def export_receiver() -> Iterator[MediaServer]:
    """A loopback server that takes PUT uploads, as a custom export destination."""
    with serve_media() as server:
        yield server


@pytest.mark.livepeer_emulator(speed=20)
def test_every_operator_in_each_mode(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    media_dir: Path,
    export_receiver: MediaServer,
    load_dag: Callable[..., Any],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    export_url = f"{export_receiver.url}/upload/video.mp4"
    dag_run = load_dag("tests", "livepeer_operators").test(
        run_conf={
            "source_url": sample_video_url,
            "export_url": export_url,
            "stream_playback_id": recorded_stream(livepeer_emulator, sample_video_url),
            "report_dir": str(tmp_path),
        }
    )
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == "success", states
    assert error_log_lines(capfd) == []  # no "XCom not found" for a link a task never stored
    report = json.loads((tmp_path / "operators.json").read_text())

    for task_id in ("import_sync", "import_deferred"):
        xcoms = report[task_id]
        task = livepeer_emulator.task(xcoms["livepeer_task_id"])
        assert task["type"] == "upload" and task["status"]["phase"] == "completed"
        assert xcoms["output_asset_id"] == task["outputAssetId"]
        assert xcoms["asset_spec"] == task["output"]["upload"]["assetSpec"]
        assert xcoms["output"] is None  # an asset task publishes its asset, not its raw output
        assert xcoms["return_value"]["phase"] == "completed"
        asset_page = f"{livepeer_emulator.url}/dashboard/assets/{task['outputAssetId']}"
        assert xcoms["_link_LivepeerTaskLink"] == xcoms["_link_LivepeerAssetLink"] == asset_page
        assert "/api/" not in xcoms["_link_LivepeerTaskLink"]
    sync_spec = report["import_sync"]["asset_spec"]
    assert sync_spec["size"] == (media_dir / "sample.mp4").stat().st_size
    assert {
        "algorithm": "sha256",
        "hash": hashlib.sha256((media_dir / "sample.mp4").read_bytes()).hexdigest(),
    } in (sync_spec["hash"])
    assert report["import_sync"]["playback_id"] == sync_spec["playbackId"]

    nowait = report["import_nowait"]
    # The same shape as a waiting operator's result, with what the create call told.
    assert nowait["return_value"] == {
        "livepeer_task_id": nowait["livepeer_task_id"],
        "type": None,
        "phase": None,
        "output_asset_id": nowait["output_asset_id"],
    }
    assert nowait["output_asset_id"] == livepeer_emulator.task(nowait["livepeer_task_id"])["outputAssetId"]
    assert nowait["asset_spec"] is None  # not waited for: no spec yet

    ipfs = report["export_ipfs"]
    assert ipfs["output_asset_id"] is None and ipfs["asset_spec"] is None
    assert ipfs["output"]["export"]["ipfs"]["videoFileCid"]
    assert (
        livepeer_emulator.task(ipfs["livepeer_task_id"])["inputAssetId"]
        == report["import_sync"]["output_asset_id"]
    )
    assert ipfs["_link_LivepeerTaskLink"] == ipfs["output"]["export"]["ipfs"]["videoFileGatewayUrl"]
    assert report["export_custom"]["return_value"]["type"] == "export"
    # A custom export's page is the exported asset's.
    assert report["export_custom"]["_link_LivepeerTaskLink"] == (
        f"{livepeer_emulator.url}/dashboard/assets/{report['import_sync']['output_asset_id']}"
    )
    assert [(r.method, r.body) for r in export_receiver.received] == [
        ("PUT", (media_dir / "sample.mp4").read_bytes())
    ]

    for how in ("sync", "deferred"):
        transcode = report[f"transcode_{how}"]
        assert livepeer_emulator.task(transcode["livepeer_task_id"])["type"] == "transcode-file"
        assert transcode["return_value"]["phase"] == "completed" and transcode["output"] is not None
        assert not transcode["_link_LivepeerTaskLink"]  # no asset, no page: no link
        clip = report[f"clip_{how}"]
        clip_task = livepeer_emulator.task(clip["livepeer_task_id"])
        assert clip_task["type"] == "clip" and clip["output_asset_id"] == clip_task["outputAssetId"]
        assert clip["asset_spec"] == clip_task["output"]["clip"]["assetSpec"]

    deleted = livepeer_emulator.asset(report["import_deferred"]["output_asset_id"])
    assert deleted["status"]["phase"] == "deleting"  # as Livepeer marks a deleted asset

    # The import given an alias published its Livepeer asset as an Airflow Asset event.
    asset_id = report["import_sync"]["output_asset_id"]
    host = livepeer_emulator.url.removeprefix("http://")
    published = asset_events_of_run(dag_run.run_id)
    extra = published[f"livepeer://{host}/assets/{asset_id}"]
    assert {key: extra[key] for key in ("livepeer_task_id", "type", "output_asset_id", "playback_id")} == {
        "livepeer_task_id": report["import_sync"]["livepeer_task_id"],
        "type": "upload",
        "output_asset_id": asset_id,
        "playback_id": report["import_sync"]["playback_id"],
    }
    # Only the import with an alias publishes.
    assert len([uri for uri in published if uri.startswith("livepeer://")]) == 1


@needs_task_state_store
# The transcode takes 4 s: the first try's 1 s execution timeout ends it long before the transcode does.
@pytest.mark.livepeer_emulator(speed=2)
def test_a_retry_reattaches_instead_of_creating_again(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, load_dag: Callable[..., Any]
) -> None:
    dag_run = load_dag("tests", "livepeer_operator_reattach").test(run_conf={"source_url": sample_video_url})
    [ti] = dag_run.get_task_instances()
    assert ti.state == "success"
    # The first try died while waiting; a later one (the second, unless the machine is slow) re-attached.
    assert ti.try_number >= 2
    assert livepeer_emulator.request_count("POST", "/api/transcode") == 1


@pytest.mark.livepeer_emulator(speed=20)
def test_mapped_deferred_operators_resume_with_their_own_task(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, load_dag: Callable[..., Any]
) -> None:
    sources = [f"{sample_video_url}?n={n}" for n in range(3)]
    dag_run = load_dag("tests", "livepeer_mapped_deferred").test(run_conf={"sources": sources})
    imports = [ti for ti in dag_run.get_task_instances() if ti.task_id == "import_video"]
    assert dag_run.state == "success", {ti.map_index: ti.state for ti in imports}
    summaries = {
        ti.map_index: ti.xcom_pull(task_ids="import_video", map_indexes=ti.map_index) for ti in imports
    }
    for index, source in enumerate(sources):
        task = livepeer_emulator.task(summaries[index]["livepeer_task_id"])
        assert task["params"]["upload"]["url"] == source
        assert summaries[index]["output_asset_id"] == task["outputAssetId"]
