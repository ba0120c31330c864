"""The check each release's venv passes before its tests run (tests/release_check.py, run by dev.py)."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from tests import release_check
from tests.support.project import PROJECT_ROOT

# What Airflow 2.11 to 3.1 said when cryptography 51 was installed.
FERNET_ERROR = """Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/sqlalchemy/orm/state.py", line 479, in _initialize_instance
  File "/venv/lib/python3.11/site-packages/airflow/models/crypto.py", line 88, in get_fernet
    _fernet.is_encrypted = True
AttributeError: 'cryptography.hazmat.bindings._rust.fernet.MultiFernet' object has no attribute 'is_encrypted'
"""


def test_the_failure_names_the_packages_with_their_versions_but_not_airflow() -> None:
    named = release_check.packages_named_in(FERNET_ERROR)
    assert f"cryptography {version('cryptography')}" in named
    assert f"SQLAlchemy {version('sqlalchemy')}" in named
    assert not any(name.lower().startswith("apache-airflow") for name in named), named


def test_the_last_traceback_ends_at_its_exception_line() -> None:
    later = "Traceback (most recent call last):\n  x\nKeyError: 'k'"
    output = f"log line\n{FERNET_ERROR}later log line\n{later}\nmore"
    assert release_check.last_traceback(output) == later
    assert release_check.last_traceback("no traceback here") == ""
    assert release_check.last_traceback(FERNET_ERROR).endswith("no attribute 'is_encrypted'")
    # Airflow 3.0 draws a task's traceback in a box; the exception line follows it.
    boxed = "╭── Traceback (most recent call last) ──╮\n│ ❱ raise ValueError('x') │\n╰──╯\nValueError: x\n"
    assert release_check.last_traceback(boxed).splitlines()[-1] == "ValueError: x"


def test_a_failing_dag_run_stops_the_check_with_one_message_naming_release_and_step() -> None:
    # The steps before the DAG pass (as every venv's check shows); then the DAG's task reads a password
    # other than the one it expects, as it would if Airflow handed it a wrong one.
    release = version("apache-airflow")
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import release_check as check; "
        "sys.exit(check.check(sys.argv[2], task_expects='another password'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(PROJECT_ROOT / "tests"), release],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    assert done.stdout.count(": ok") == len(release_check.STEPS) - 1, done.stdout
    # Airflow's own warnings may come first (2.11 prints some at import); the check's message is one line.
    [message] = [line for line in done.stderr.splitlines() if line.startswith(f"Airflow {release} does not")]
    assert "'run a one-task DAG that reads the connection' failed" in message
    assert "ValueError: the task read another password than the one stored" in message
