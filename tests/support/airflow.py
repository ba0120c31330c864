"""What differs between the supported Airflow versions, and what the tests read back from Airflow.

Airflow 3 renamed Datasets to Assets and split the XCom table model from the SDK's ``XCom``; these helpers
read the same facts through whichever names this Airflow has (flags from the provider's version_compat).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from airflow_provider_livepeer.version_compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_V_3_1_PLUS,
    AIRFLOW_V_3_3_PLUS,
)

try:
    from airflow.sdk.exceptions import AirflowRescheduleException
except ImportError:  # Airflow 2
    from airflow.exceptions import AirflowRescheduleException  # type: ignore[no-redef]

__all__ = [
    "AirflowRescheduleException",
    "as_the_dag_processor_leaves_it",
    "asset_events_of_run",
    "dag_bag",
    "error_log_lines",
    "needs_task_state_store",
    "prepare_thread",
    "reschedule_mode_works",
    "xcom_value",
]

#: For DAG runs with reschedule-mode sensors: Airflow 3.0's own sensor code fails at a reschedule-mode
#: sensor's second poke (its ``get_first_reschedule_date`` hands back a string, which it then subtracts
#: from a datetime: seen on 3.0.6), and such runs did not finish within the tests' 300 s.
reschedule_mode_works = pytest.mark.skipif(
    AIRFLOW_V_3_0_PLUS and not AIRFLOW_V_3_1_PLUS,
    reason="Airflow 3.0's reschedule-mode sensors fail at their second poke (an Airflow bug, seen on 3.0.6)",
)

#: For tests of the durable re-attach, which Airflow before 3.3 cannot do (it has no task_state_store).
needs_task_state_store = pytest.mark.skipif(
    not AIRFLOW_V_3_3_PLUS, reason="the durable re-attach needs Airflow 3.3's task_state_store"
)


def as_the_dag_processor_leaves_it(dag: Any) -> Any:
    """The DAG, with what a DAG processor would have written to the database before any run.

    Airflow 3's ``dag.test()`` serializes the DAG itself. Airflow 2's does not, and a task that publishes
    through a ``DatasetAlias`` then fails to flush the alias it never saw; so the DAG is synced first.
    """
    if not AIRFLOW_V_3_0_PLUS:
        dag.sync_to_db()
    return dag


def prepare_thread() -> None:
    """Let a worker thread call ``operator.execute()``, as a task process's main thread does.

    Airflow 2 guards ``execute`` with a thread-local that only its importing thread has; Airflow 3 has none.
    """
    if not AIRFLOW_V_3_0_PLUS:
        from airflow.models.baseoperator import ExecutorSafeguard

        ExecutorSafeguard._sentinel.callers = {}


def asset_events_of_run(run_id: str) -> dict[str, dict[str, Any]]:
    """The Airflow Asset (Dataset) events a DAG run published: URI -> the event's ``extra``."""
    from airflow.utils.session import create_session

    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.asset import AssetEvent as Event
    else:
        from airflow.models.dataset import DatasetEvent as Event
    with create_session() as session:
        events = session.scalars(select(Event).where(Event.source_run_id == run_id)).all()
        target = "asset" if AIRFLOW_V_3_0_PLUS else "dataset"
        return {getattr(event, target).uri: dict(event.extra) for event in events}


def xcom_value(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
    """One XCom value of a finished task instance, deserialized."""
    from airflow.utils.session import create_session

    if AIRFLOW_V_3_0_PLUS:
        from airflow.models.xcom import XComModel

        query = XComModel.get_many(run_id=run_id, key=key, dag_ids=dag_id, task_ids=task_id)
        with create_session() as session:
            return XComModel.deserialize_value(session.scalars(query).one())
    from airflow.models.xcom import XCom

    return XCom.get_one(run_id=run_id, key=key, dag_id=dag_id, task_id=task_id)


def dag_bag(folder: str) -> Any:
    """A DagBag of one folder, parsed as the DAG processor would."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # its home before Airflow 3.1
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=folder)  # no examples: the tests set [core] load_examples = False


#: A line Airflow's console log renderer writes at error level or above: ``<time> [error    ] ...``.
_ERROR_LINE = re.compile(r"^\S+ \[(error|critical)\s*\]", re.MULTILINE)


def error_log_lines(capfd: pytest.CaptureFixture[str]) -> list[str]:
    """The error-level lines Airflow logged (to the captured stdout and stderr) since the last read."""
    captured = capfd.readouterr()
    text = captured.out + captured.err
    return [text[m.start() : text.find("\n", m.start())] for m in _ERROR_LINE.finditer(text)]
