"""Run one test DAG with ``dag.test()`` in this process: ``python -m tests.system.run_dag DAG_ID RUN_CONF``.

For tests that need Airflow set up differently from the test process (e.g. with OpenLineage enabled,
which Airflow reads once, when it loads its plugins).
"""

from __future__ import annotations

import importlib.util
import json
import sys

from tests.support.airflow import as_the_dag_processor_leaves_it
from tests.support.project import DAG_FOLDERS

#: Starts the output line with the run's outcome (Airflow logs to stdout too).
OUTCOME_PREFIX = "DAG RUN OUTCOME: "


def main(dag_id: str, run_conf: str) -> None:
    spec = importlib.util.spec_from_file_location(dag_id, DAG_FOLDERS["tests"] / f"{dag_id}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag_run = as_the_dag_processor_leaves_it(module.dag).test(run_conf=json.loads(run_conf))
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    print(f"{OUTCOME_PREFIX}{json.dumps({'state': str(dag_run.state), 'tasks': states})}", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
