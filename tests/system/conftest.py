"""Real Airflow for the system tests: a migrated SQLite metadata database in the throwaway AIRFLOW_HOME."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests._airflow import as_the_dag_processor_leaves_it
from tests.conftest import DAG_FOLDERS


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Run ``airflow db migrate`` once per test session."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"], check=True, capture_output=True, env=dict(os.environ), timeout=600
    )


@pytest.fixture
def load_dag(airflow_db: None) -> Callable[[str, str], Any]:
    """Import a DAG file of one of the DAG folders and return the named DAG."""

    def load(folder: str, dag_id: str) -> Any:
        path = DAG_FOLDERS[folder] / f"{dag_id}.py"
        spec = importlib.util.spec_from_file_location(f"livepeer_test_dag_{dag_id}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return as_the_dag_processor_leaves_it(module.dag)

    return load


#: A line Airflow's console log renderer writes at error level or above: ``<time> [error    ] ...``.
_ERROR_LINE = re.compile(r"^\S+ \[(error|critical)\s*\]", re.MULTILINE)


def error_log_lines(capfd: pytest.CaptureFixture[str]) -> list[str]:
    """The error-level lines Airflow logged (to the captured stdout and stderr) since the last read."""
    captured = capfd.readouterr()
    text = captured.out + captured.err
    return [text[m.start() : text.find("\n", m.start())] for m in _ERROR_LINE.finditer(text)]
