"""The operators and the sensor close their hook's session when their task is done with it, in real DAG runs.

After ``execute`` (waiting in the worker, or poking), after ``execute_complete`` (resumed from the
triggerer) and before deferring: a task leaves no keep-alive connection behind in the process that ran it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.mark.livepeer_emulator(speed=20)
def test_each_task_closes_its_hooks_session_when_done(
    livepeer_emulator: Any, emulator_conn: str, sample_video_url: str, load_dag: Callable[..., Any]
) -> None:
    dag = load_dag("tests", "livepeer_hooks_closed")
    hooks = type(dag.get_task("sensor_poke")).hooks
    dag_run = dag.test(run_conf={"source_url": sample_video_url})
    assert dag_run.state == "success", {ti.task_id: ti.state for ti in dag_run.get_task_instances()}

    made_by = {task_id for task_id, _ in hooks}
    assert made_by == {
        "import_waiting",
        "import_deferred",
        "sensor_poke",
        "sensor_deferrable",
        "delete_asset",
    }
    for task_id, hook in hooks:
        # A task's hook is only used synchronously (a trigger makes its own): its requests session.
        client = hook._http
        assert client is None or client._session is None, f"{task_id} left its hook's session open"
    # The hooks were used: their sessions sent the create calls and the reads.
    assert livepeer_emulator.request_count("POST", "/api/asset/upload/url") == 2
    assert livepeer_emulator.request_count("GET", "/api/task/*") >= 2
    assert livepeer_emulator.request_count("DELETE", "/api/asset/*") == 1
