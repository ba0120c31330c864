"""The deployment shared by the scenarios, and the process logs of a failed scenario."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.deployment.harness import RUNNING, Deployment, deployment


@pytest.fixture(scope="session")
def airflow_deployment(tmp_path_factory: pytest.TempPathFactory, media_dir: Path) -> Iterator[Deployment]:
    """One deployment for every scenario of the session, stopped (all its ports freed) at the end."""
    with deployment(tmp_path_factory.mktemp("airflow-home"), media_dir / "sample.mp4") as running:
        yield running


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    """Attach the tail of every process's log to the report of a failed scenario."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and RUNNING:
        report.sections.append(("deployment process logs (tails)", RUNNING[-1].log_tails()))
