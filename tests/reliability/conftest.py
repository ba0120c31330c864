"""Reliability and security tests: shared fixtures, and the opt-in ``slow`` marker."""

from __future__ import annotations

import os

import pytest

from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS

#: Set to 1 to run the tests marked ``slow`` (longer soaks); they are skipped otherwise.
SLOW_ENV = "LIVEPEER_SLOW_TESTS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"slow: a longer variant of a reliability test, run only with {SLOW_ENV}=1"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SLOW_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow reliability variant: set {SLOW_ENV}=1 to run it")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def reschedule_history(request: pytest.FixtureRequest) -> None:
    """Airflow 2's reschedule-mode sensor reads its earlier pokes from the metadata database."""
    if not AIRFLOW_V_3_0_PLUS:
        request.getfixturevalue("airflow_db")
