"""Test-wide set-up: a throwaway AIRFLOW_HOME, the shared fixtures, the deployment and docs tests left out.

Helpers live in :mod:`tests.support` (plain modules that tests import); the fixtures every folder uses are
in :mod:`tests.support.fixtures`, loaded below as a plugin. Conftest modules hold fixtures and hooks only.
"""

from __future__ import annotations

import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.support.project import DAG_FOLDERS, PROJECT_ROOT

# Airflow reads its home and config when first imported, so this runs before any test module imports it.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="livepeer-test-airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
if version("apache-airflow").startswith("2."):
    # Airflow 2 defaults to the LocalExecutor, which refuses the tests' SQLite database.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAG_FOLDERS["tests"])
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path), "refresh_interval": 0},
        }
        for name, path in DAG_FOLDERS.items()
    ]
)

# Imported once Airflow's environment is set: the fixtures import Airflow.
pytest_plugins = ("tests.support.fixtures",)

#: The folders of tests that a command of their own runs: ``dev.py deployment`` the deployment tests (a
#: whole Airflow deployment, for minutes), ``dev.py docs`` the documentation site's (after building it).
OWN_COMMAND_TESTS = (PROJECT_ROOT / "tests" / "deployment", PROJECT_ROOT / "tests" / "docs")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the folders of :data:`OWN_COMMAND_TESTS` out unless one (or a file in it) is named on the
    command line."""
    if collection_path not in OWN_COMMAND_TESTS:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == collection_path or collection_path in path.parents for path in named)
