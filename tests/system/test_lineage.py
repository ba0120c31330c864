"""OpenLineage: a real DAG run with the OpenLineage provider and a file transport; the events' datasets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator_api import recorded_stream
from tests.support.project import PROJECT_ROOT
from tests.system.run_dag import OUTCOME_PREFIX

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage provider is not installed")


def run_with_openlineage(dag_id: str, run_conf: dict[str, Any], events_file: Path) -> dict[str, Any]:
    """Run the DAG in a process of its own, where Airflow loads the OpenLineage listener at start."""
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "livepeer-tests",
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.system.run_dag", dag_id, json.dumps(run_conf)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    [outcome] = [line for line in done.stdout.splitlines() if line.startswith(OUTCOME_PREFIX)]
    return json.loads(outcome.removeprefix(OUTCOME_PREFIX))  # type: ignore[no-any-return]


def read_events(text: str) -> list[dict[str, Any]]:
    """The file transport's events: JSON objects one after the other (not always one per line)."""
    decoder, events, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        event, at = decoder.raw_decode(text, at)
        events.append(event)
    return events


def datasets(event: dict[str, Any], side: str) -> set[tuple[str, str]]:
    return {(dataset["namespace"], dataset["name"]) for dataset in event.get(side) or []}


@pytest.mark.livepeer_emulator(speed=20)
def test_each_operator_and_the_sensor_report_exactly_their_datasets(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, airflow_db: None, tmp_path: Path
) -> None:
    events_file = tmp_path / "openlineage.jsonl"
    export_url = "https://uploads.example.invalid/videos/talk.mp4?signature=abc"
    stream = recorded_stream(livepeer_emulator, sample_video_url)
    run_conf = {"source_url": sample_video_url, "export_url": export_url, "stream_playback_id": stream}
    outcome = run_with_openlineage("livepeer_lineage", run_conf, events_file)
    assert outcome["state"].endswith("success"), outcome
    events = read_events(events_file.read_text())
    by_task: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        task = event["job"]["name"].removeprefix("livepeer_lineage.")
        by_task[(task, event["eventType"])] = event  # the last event of each kind wins
    host = livepeer_emulator.url.removeprefix("http://")
    livepeer = f"livepeer://{host}"
    media = sample_video_url.removeprefix("http://").split("/", 1)[0]
    made = livepeer_emulator.state.list_tasks(livepeer_emulator.state.account())
    [imported] = [task for task in made if task["type"] == "upload"]
    asset = f"assets/{imported['outputAssetId']}"
    [ipfs_export] = [task for task in made if task["type"] == "export" and "ipfs" in task["params"]["export"]]
    cid = ipfs_export["output"]["export"]["ipfs"]["videoFileCid"]
    [clip] = [task for task in made if task["type"] == "clip"]

    source = {(f"http://{media}", "/sample.mp4")}
    expected_complete = {
        "import_video": (source, {(livepeer, asset)}),
        "wait": (set(), {(livepeer, asset)}),
        "export_ipfs": ({(livepeer, asset)}, {(f"ipfs://{cid}", "/")}),
        "export_custom": ({(livepeer, asset)}, {("https://uploads.example.invalid", "/videos/talk.mp4")}),
        "transcode_url": (source, {("s3://out", "talk/hls"), ("s3://out", "talk/mp4")}),
        "transcode_s3": ({("s3://raw", "uploads/talk.mp4")}, {("s3://out", "s3/mp4")}),
        "clip": ({(livepeer, f"streams/{stream}")}, {(livepeer, f"assets/{clip['outputAssetId']}")}),
    }
    for task_id, (inputs, outputs) in expected_complete.items():
        complete = by_task[(task_id, "COMPLETE")]
        assert (datasets(complete, "inputs"), datasets(complete, "outputs")) == (inputs, outputs), task_id
    # Known before the call: every input, and the outputs the arguments name.
    expected_start = {
        "import_video": (source, set()),
        "export_ipfs": ({(livepeer, asset)}, set()),
        "export_custom": ({(livepeer, asset)}, {("https://uploads.example.invalid", "/videos/talk.mp4")}),
        "transcode_url": (source, {("s3://out", "talk/hls"), ("s3://out", "talk/mp4")}),
        "transcode_s3": ({("s3://raw", "uploads/talk.mp4")}, {("s3://out", "s3/mp4")}),
        "clip": ({(livepeer, f"streams/{stream}")}, set()),
        "wait": (set(), set()),
    }
    for task_id, (inputs, outputs) in expected_start.items():
        start = by_task[(task_id, "START")]
        assert (datasets(start, "inputs"), datasets(start, "outputs")) == (inputs, outputs), task_id


def test_without_openlineage_nothing_imports_it() -> None:
    """The provider's modules load, and its operators are made, with the OpenLineage client unimportable."""
    program = """
import sys

class Unimportable:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "openlineage":
            raise ImportError(f"{name} is not installed")

sys.meta_path.insert(0, Unimportable())
from airflow_provider_livepeer import get_provider_info
from airflow_provider_livepeer.operators.livepeer import LivepeerImportAssetOperator
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor

get_provider_info()
LivepeerImportAssetOperator(task_id="i", url="https://h/v.mp4", name="v")
LivepeerTaskSensor(task_id="w", livepeer_task_id="t1")
print(sorted(m for m in sys.modules if m.split(".")[0] == "openlineage"))
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
