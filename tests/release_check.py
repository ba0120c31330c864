"""Does this venv's Airflow work at all? Run before a release's tests: ``python release_check.py 3.1.8``.

A library released after an Airflow release can break that release's own code (cryptography 51 broke the
Fernet encryption of Airflow 2.11 to 3.1, and no connection with a password could be stored or read). The
tests then fail by the dozen with messages far from the cause. This script does, in a throwaway Airflow
home, the few things every test needs: migrate the database, store a connection with a password under a
Fernet key, read it back, and run a one-task DAG that reads it. The first step that fails stops it with
one message: the release, the step, the error, and the versions of the packages its traceback names.

It imports only the standard library and Airflow, and uses nothing of the provider but what Airflow loads
of every installed provider (its provider info), so what it reports is Airflow's health in that venv.
Exit status 0: every step passed; 1: one failed (the message is on stderr).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from importlib.metadata import packages_distributions, version
from pathlib import Path

CONN_ID = "release_check"
PASSWORD = "release-check-password"  # a throwaway value in a throwaway database
DAG_ID = "release_check"
#: The flag that makes this script run the one-task DAG (in a process of its own, whose output it reads).
RUN_DAG = "--run-dag"


class StepFailed(Exception):
    """A step failed; ``detail`` is the text to look for the culprit in (a traceback, a command's output)."""

    def __init__(self, summary: str, detail: str) -> None:
        super().__init__(summary)
        self.detail = detail


def migrate() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        raise StepFailed(f"`airflow db migrate` exited {done.returncode}", output)


def store_connection() -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        session.add(Connection(conn_id=CONN_ID, conn_type="http", host="127.0.0.1", password=PASSWORD))


def read_connection() -> None:
    from airflow.models import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        stored = session.query(Connection).filter(Connection.conn_id == CONN_ID).one()
        if not stored.is_encrypted:
            raise StepFailed("the password was stored unencrypted, though a Fernet key is set", "")
        if stored.password != PASSWORD:
            raise StepFailed(f"the password read back is {stored.password!r}, not what was stored", "")


def run_dag() -> None:
    done = subprocess.run(
        [sys.executable, __file__, RUN_DAG], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600,
    )  # fmt: skip
    if done.returncode != 0:
        trace = last_traceback(done.stdout)
        error = (trace or done.stdout.strip() or "no output").splitlines()[-1]
        raise StepFailed(f"the DAG run failed: {error}", trace or done.stdout)


def last_traceback(output: str) -> str:
    """The last Python traceback in ``output``, up to its exception line; ``""`` if there is none.

    Both forms end at the first line that starts with an exception's name: Python's plain tracebacks and
    the boxed ones Airflow 3.0's task logs draw (``╭── Traceback (most recent call last) ──╮``).
    """
    start = output.rfind("Traceback (most recent call last)")
    if start < 0:
        return ""
    lines = output[start:].splitlines()
    ends = (i for i, line in enumerate(lines[1:], 1) if re.match(r"[A-Za-z_][\w.]*(: |$)", line))
    return "\n".join(lines[: next(ends, len(lines) - 1) + 1])


def dag_file(expected_password: str) -> str:
    """The one-task DAG, written to the throwaway home's DAG folder (Airflow 3 runs only DAGs of a bundle):
    its task fails unless the connection's password is ``expected_password``."""
    return f"""
from datetime import datetime

try:
    from airflow.sdk import DAG, BaseHook, task
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.decorators import task
    from airflow.hooks.base import BaseHook

with DAG({DAG_ID!r}, schedule=None, start_date=datetime(2026, 1, 1)) as dag:

    @task
    def read_password() -> None:
        if BaseHook.get_connection({CONN_ID!r}).password != {expected_password!r}:
            raise ValueError("the task read another password than the one stored")

    read_password()
"""


def dag_run_in_this_process() -> int:
    """Run the one-task DAG with ``dag.test()``; 0 if the run succeeded."""
    import importlib.util

    path = Path(os.environ["AIRFLOW_HOME"], "dags", f"{DAG_ID}.py")
    spec = importlib.util.spec_from_file_location(DAG_ID, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag_run = module.dag.test()
    print(f"DAG run state: {dag_run.state}")
    return 0 if dag_run.state == "success" else 1


STEPS: list[tuple[str, Callable[[], None]]] = [
    ("migrate the metadata database", migrate),
    ("store a connection with a password under a Fernet key", store_connection),
    ("read that connection back", read_connection),
    ("run a one-task DAG that reads the connection", run_dag),
]


def packages_named_in(text: str) -> list[str]:
    """``name version`` of each installed package (Airflow's own left out) that ``text`` names.

    A package is named by a path into it (``site-packages/cryptography/...``) or a dotted name
    (``'cryptography.hazmat.bindings...'``), as tracebacks and error messages write them.
    """
    importable = packages_distributions()
    names = set(re.findall(r"site-packages/([A-Za-z_]\w*)", text))
    names |= set(re.findall(r"\b([A-Za-z_]\w*)\.[A-Za-z_]", text))
    found: set[str] = set()
    for name in names - set(sys.stdlib_module_names) - {"airflow"}:
        for distribution in importable.get(name, []):
            if not distribution.lower().startswith("apache-airflow"):
                found.add(f"{distribution} {version(distribution)}")
    return sorted(found, key=str.lower)


def check(release: str, task_expects: str = PASSWORD) -> int:
    """Run the steps in a throwaway Airflow home; 0 if all pass, else 1 after one message on stderr.

    :param task_expects: the password the DAG's task expects to read (another one makes the run fail).
    """
    from cryptography.fernet import Fernet

    for name in [name for name in os.environ if name.startswith("AIRFLOW")]:
        del os.environ[name]  # Airflow's defaults, not the caller's settings (e.g. another DAG folder)
    with tempfile.TemporaryDirectory(prefix=f"airflow-release-check-{release}-") as home:
        os.environ.update(
            AIRFLOW_HOME=home,
            AIRFLOW__CORE__FERNET_KEY=Fernet.generate_key().decode(),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
        )
        if release.startswith("2."):
            os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"  # LocalExecutor refuses SQLite
        (Path(home) / "dags").mkdir()
        (Path(home) / "dags" / f"{DAG_ID}.py").write_text(dag_file(task_expects))
        for name, step in STEPS:
            try:
                step()
            except Exception as error:
                report(release, name, error)
                return 1
            print(f"Airflow {release}: {name}: ok", flush=True)
    return 0


def report(release: str, step: str, error: Exception) -> None:
    """The one message of a failed step, on stderr, and the step's output below it."""
    summary = str(error) if isinstance(error, StepFailed) else f"{type(error).__name__}: {error}"
    detail = error.detail if isinstance(error, StepFailed) else traceback.format_exc()
    named = packages_named_in(detail + summary)
    print(
        f"Airflow {release} does not work in {Path(sys.prefix).name}: the step '{step}' failed: "
        f"{summary}. Packages its failure names: {', '.join(named) or 'none'}. A library newer "
        f"than this release may have broken it: hold it back in dev.py's RELEASE_PINS.",
        file=sys.stderr,
    )
    if detail:
        print(f"--- the step's output ---\n{detail.strip()[-4000:]}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(dag_run_in_this_process() if sys.argv[1:] == [RUN_DAG] else check(sys.argv[1]))
