"""A bounded soak in real Airflow: 12 imports and their deferred sensors while Livepeer misbehaves."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

COUNT = 12


@pytest.mark.livepeer_emulator(speed=20)
def test_mapped_imports_and_deferred_sensors_under_faults(
    livepeer_emulator: Any,
    emulator_conn: str,
    sample_video_url: str,
    load_dag: Callable[..., Any],
    tmp_path: Path,
) -> None:
    livepeer_emulator.set_faults(
        rates={"503": 0.08, "html-502": 0.04, "429": 0.06, "429-no-retry-after": 0.02, "drop": 0.04},
        retry_after=0,
        spike_rate=0.05,
        spike_ms=50,
        seed=11,
    )
    started = time.monotonic()
    dag_run = load_dag("tests", "livepeer_soak").test(
        run_conf={"source_url": sample_video_url, "count": COUNT, "report_dir": str(tmp_path)}
    )
    elapsed = time.monotonic() - started
    states = Counter(ti.state for ti in dag_run.get_task_instances())
    faults = Counter(r.fault for r in livepeer_emulator.requests if r.fault)
    total = len(livepeer_emulator.requests)
    print(
        f"SOAK-DAG imports={COUNT} states={dict(states)} requests={total} "
        f"faults={dict(faults)} {elapsed:.1f}s"
    )
    assert dag_run.state == "success", states
    summaries = json.loads((tmp_path / "soak.json").read_text())
    assert len(summaries) == COUNT
    for summary in summaries:
        task = livepeer_emulator.task(summary["livepeer_task_id"])
        assert summary == {
            "livepeer_task_id": task["id"],
            "type": "upload",
            "phase": "completed",
            "output_asset_id": task["outputAssetId"],
        }
    urls = {livepeer_emulator.task(s["livepeer_task_id"])["params"]["upload"]["url"] for s in summaries}
    assert urls == {f"{sample_video_url}?n={n}" for n in range(COUNT)}  # one Livepeer task per import
    assert sum(faults.values()) > 0, "the faults were injected"
    # Bounded: creates (with retries) plus first looks, polls and safety nets stay well under 20 per import.
    assert total < 20 * COUNT
