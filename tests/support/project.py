"""Where the tests find things, and the API key they use."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
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
    """Build the wheel of the distribution in ``project`` (its ``pyproject.toml``) into ``out``; its path.

    The wheel's modules are checked to be its packages' source files, no more and no fewer.
    """
    # setuptools builds in the tree's build/ and never removes what the source has lost since: a wheel
    # built from a used tree would carry modules deleted long ago (dev.py's build_wheels clears it too).
    shutil.rmtree(project / "build", ignore_errors=True)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(project)]
    subprocess.run(pip_wheel, check=True, timeout=600)
    [wheel] = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.endswith(".py")}
    packages = {name.split("/")[0] for name in shipped}
    sources = {
        path.relative_to(project).as_posix() for name in packages for path in (project / name).rglob("*.py")
    }
    assert shipped == sources, (
        f"shipped, not in the source: {shipped - sources}; left out: {sources - shipped}"
    )
    return wheel
