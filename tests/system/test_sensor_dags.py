"""The sensor in real DAG runs (``dag.test()``) against the emulator, in each of its three modes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.airflow import asset_events_of_run, reschedule_mode_works
from tests.support.emulator_api import release_after_first_read, stalled_and_failed_imports
from tests.support.servers import serve_media


def task_states(dag_run: Any) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


@reschedule_mode_works
@pytest.mark.livepeer_emulator(speed=2)
def test_sensor_gates_downstream_in_each_mode(
    livepeer_emulator: Any,
    emulator_conn: str,
    media_dir: Path,
    load_dag: Callable[..., Any],
    tmp_path: Path,
) -> None:
    modes = ("poke", "reschedule", "deferrable")
    with serve_media() as media:
        # Each import's source is held until its sensor has read the task: the first poke finds it unfinished.
        for mode in modes:
            media.add(f"/sample.mp4?{mode}", (media_dir / "sample.mp4").read_bytes(), held=True)
        sample_video_url = f"{media.url}/sample.mp4"
        releaser = release_after_first_read(
            livepeer_emulator, media, [f"/sample.mp4?{mode}" for mode in modes]
        )
        dag_run = load_dag("tests", "livepeer_sensor_modes").test(
            run_conf={"source_url": sample_video_url, "report_dir": str(tmp_path)}
        )
        releaser.join(5)
    assert dag_run.state == "success", task_states(dag_run)
    for mode in modes:
        report = json.loads((tmp_path / f"downstream_{mode}.json").read_text())
        livepeer_task_id = report["summary"]["livepeer_task_id"]
        task = livepeer_emulator.task(livepeer_task_id)
        assert task["params"]["upload"]["url"] == f"{sample_video_url}?{mode}"
        asset = livepeer_emulator.asset(task["outputAssetId"])
        assert report["output_asset_id"] == asset["id"]
        assert report["asset_spec"] == task["output"]["upload"]["assetSpec"]
        assert report["asset_spec"]["size"] == asset["size"] and report["asset_spec"]["hash"] == asset["hash"]
        assert report["summary"] == {
            "livepeer_task_id": livepeer_task_id,
            "type": "upload",
            "phase": "completed",
            "output_asset_id": asset["id"],
        }
        # The sensor saw the task unfinished at least once: it waited, and did not just find it done.
        # Deferred, it read the task once before deferring, and the shared watcher's list saw the rest.
        reads = livepeer_emulator.request_count("GET", f"/api/task/{livepeer_task_id}")
        if mode == "deferrable":
            assert reads == 1 and livepeer_emulator.request_count("GET", "/api/task") >= 1, mode
        else:
            assert reads >= 2, mode

    # The deferrable sensor was given an alias: it published the asset it waited for.
    events = asset_events_of_run(dag_run.run_id)
    published = {uri: extra["livepeer_task_id"] for uri, extra in events.items()}
    deferred = json.loads((tmp_path / "downstream_deferrable.json").read_text())
    host = livepeer_emulator.url.removeprefix("http://")
    assert published == {
        f"livepeer://{host}/assets/{deferred['output_asset_id']}": deferred["summary"]["livepeer_task_id"]
    }


@reschedule_mode_works
def test_timeouts_soft_fail_and_remote_failure_in_each_mode(
    livepeer_emulator: Any, emulator_conn: str, media_server: str, load_dag: Callable[..., Any]
) -> None:
    conf = stalled_and_failed_imports(
        livepeer_emulator, f"{media_server}/sample.mp4", "the file is not a video"
    )
    dag_run = load_dag("tests", "livepeer_sensor_failures").test(run_conf=conf)
    states = task_states(dag_run)
    for mode in ("poke", "reschedule", "deferrable"):
        assert states[f"stalled_{mode}_hard"] == "failed", states
        assert states[f"stalled_{mode}_soft"] == "skipped", states
        assert states[f"failed_{mode}"] == "failed", states
    tries = {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()}
    assert all(tries[f"failed_{mode}"] == 1 for mode in ("poke", "reschedule", "deferrable")), tries
