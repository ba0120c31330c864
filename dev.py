#!/usr/bin/env python3
"""The project's commands, needing nothing but Python 3.10+.

    python3 dev.py demo         # the main job (see README)
    python3 dev.py test         # the test suite: ruff, mypy, pytest (all but the deployment tests)
    python3 dev.py deployment   # the deployment tests: a real Airflow deployment on PostgreSQL

Each creates ``.venv`` beside this file on first use and reinstalls the project there whenever
``pyproject.toml`` changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def ensure_venv() -> None:
    """Create the virtual environment and install the project with its dev extras, once per pyproject."""
    stamp = VENV / f".installed-{hashlib.sha256((ROOT / 'pyproject.toml').read_bytes()).hexdigest()[:16]}"
    if stamp.exists():
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("Installing the project and its test tools into .venv (about a minute) ...", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--upgrade", "pip"])
    run([*pip, "-e", f"{ROOT}[dev]"])
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.touch()


def run(command: list[str], **kwargs: object) -> None:
    """Run a command from the project root; stop with its exit code if it fails."""
    result = subprocess.run(command, cwd=ROOT, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(result.returncode)


def test() -> None:
    """Lint, type-check and run every test."""
    tool = str(BIN / "{}")
    run([tool.format("ruff"), "check", "."])
    run([tool.format("ruff"), "format", "--check", "."])
    run([tool.format("mypy")])
    run([tool.format("pytest"), "-p", "no:cacheprovider", *sys.argv[2:]])


def deployment() -> None:
    """Run the scenarios of tests/deployment against a real Airflow deployment (a few minutes)."""
    run([str(BIN / "pytest"), "-p", "no:cacheprovider", "--durations=0", "tests/deployment", *sys.argv[2:]])


def demo() -> None:
    """Run the main job."""
    run([str(PYTHON), str(ROOT / "demo.py"), *sys.argv[2:]])


def main() -> None:
    """Dispatch ``demo``, ``test`` or ``deployment``."""
    if sys.version_info < (3, 10):  # noqa: UP036 - the one place that must still run on an old Python
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    commands = {"demo": demo, "test": test, "deployment": deployment}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(commands)}}} [args...]")
    ensure_venv()
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
