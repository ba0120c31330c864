"""Where the tests find things, and the API key they use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: Livepeer's OpenAPI document, the seed data and notes on the real server, beside the project.
SHARED = PROJECT_ROOT.parent / "shared"
#: The DAG folders ``dag.test()`` syncs from: the test DAGs and the example DAGs users copy.
DAG_FOLDERS = {"tests": PROJECT_ROOT / "tests" / "system" / "dags", "examples": PROJECT_ROOT / "example_dags"}

#: A key that is easy to find if it leaks anywhere.
LEAKY_KEY = "lp-secret-key-DO-NOT-LEAK-7f3a9c"


def shared_file(*parts: str) -> Path:
    """A file of ../shared, or skip the test with the reason when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared Livepeer reference data is not beside the project")
    return path


def built_wheel(project: Path, out: Path) -> Path:
    """Build the wheel of the distribution in ``project`` (its ``pyproject.toml``) into ``out``; its path."""
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(project)]
    subprocess.run(pip_wheel, check=True, timeout=600)
    [wheel] = out.glob("*.whl")
    return wheel
