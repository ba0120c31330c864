"""Below Airflow 3.3 the operators say a retry creates new work: a warning only when the DAG asked for more.

The line itself is checked on Airflow 2.11 to 3.2 by ``tests/reliability/test_restarts.py``; here its level,
on any Airflow, with the version check made to answer "before 3.3".
"""

from __future__ import annotations

import logging

import pytest

from airflow_provider_livepeer import version_compat
from airflow_provider_livepeer.version_compat import AIRFLOW_VERSION_STRING, log_reattach_unavailable

LOG = logging.getLogger("tests.reattach")


@pytest.mark.parametrize(
    ("durable", "level"),
    [(True, logging.WARNING), (None, logging.INFO)],
    ids=["durable-asked", "durable-default"],
)
def test_before_airflow_3_3_the_line_warns_only_when_the_dag_asked_for_durable(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, durable: bool | None, level: int
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", False)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        log_reattach_unavailable(LOG, durable)
    [record] = caplog.records
    assert record.levelno == level
    assert record.getMessage() == (
        "Re-attaching a retry to the Livepeer task of an earlier try (durable, task_state_store) needs "
        f"Airflow 3.3 or newer; this is Airflow {AIRFLOW_VERSION_STRING}, so every try of this task creates "
        "new Livepeer work."
    )


@pytest.mark.parametrize("before_3_3", [True, False])
def test_nothing_is_logged_with_durable_false_or_on_airflow_3_3(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, before_3_3: bool
) -> None:
    monkeypatch.setattr(version_compat, "AIRFLOW_V_3_3_PLUS", not before_3_3)
    with caplog.at_level(logging.DEBUG, logger=LOG.name):
        log_reattach_unavailable(LOG, False)
        if not before_3_3:
            log_reattach_unavailable(LOG, True)
            log_reattach_unavailable(LOG, None)
    assert caplog.records == []
