"""Test-wide set-up: a throwaway AIRFLOW_HOME, and connections pointing at local servers."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

# Airflow reads its home and config when first imported, so this runs before any test module imports it.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="livepeer-test-airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"

#: A key that is easy to find if it leaks anywhere.
LEAKY_KEY = "lp-secret-key-DO-NOT-LEAK-7f3a9c"


@pytest.fixture
def livepeer_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define a ``livepeer`` connection through the environment; returns its conn id."""

    def define(
        host: str, api_key: str | None = LEAKY_KEY, conn_id: str = "livepeer_test", **extra: object
    ) -> str:
        conn: dict[str, object] = {"conn_type": "livepeer", "host": host}
        if api_key is not None:
            conn["password"] = api_key
        if extra:
            conn["extra"] = extra
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return define


def shared_file(*parts: str) -> Path:
    """A file of ../shared, or skip the test with the reason when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared Livepeer reference data is not beside the project")
    return path
