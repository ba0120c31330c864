#!/usr/bin/env python3
"""The project's commands, needing nothing but Python 3.11+.

    python3 dev.py demo                   # the main job (see README)
    python3 dev.py test                   # the whole test suite: ruff, mypy, pytest (default Airflow)
    python3 dev.py test --airflow 3.0.6   # pytest on one Airflow version, from a freshly built wheel
    python3 dev.py matrix                 # that, for every supported Airflow version in turn
    python3 dev.py matrix --jobs 2        # two versions at a time (each one's output printed when it ends)
    python3 dev.py deployment             # the deployment tests: a real Airflow deployment on PostgreSQL

``demo`` and ``test`` use ``.venv`` beside this file (created on first use, reinstalled whenever
``pyproject.toml`` changes), with the project installed editable next to :data:`DEFAULT_AIRFLOW`. The
version runs use one venv per Airflow version under ``.matrix/``: the project goes in from a wheel built
anew for every run, and the tests run from a copy of ``tests/`` outside the source tree, so what they
import is what the wheel installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MATRIX = ROOT / ".matrix"
#: The newest patch of each Airflow minor that the package index serves; a new minor is one more entry.
AIRFLOW_VERSIONS = ("2.11.2", "3.0.6", "3.1.8", "3.2.2", "3.3.2")
#: Libraries released after an Airflow release that break its own code, held below the version that broke
#: it, as that release's constraints file holds them (users install old releases with it: see the README):
#: - cryptography 51: its ``MultiFernet`` takes no new attributes, and Airflow up to 3.1 sets
#:   ``is_encrypted`` on it, so no connection with a password can be stored or read (3.2 wraps it);
#: - 3.0: its in-process execution API fails every task with FastAPI 0.117+ (a 422) and with Cadwyn 6+;
#: - 3.2: Cadwyn 8+ models, and svcs 26 has no ``svcs_registry``.
#: A new venv is checked by ``tests/release_check.py`` before its tests run: it names the package that broke.
RELEASE_PINS = {
    "2.11.2": ["cryptography<51"],
    "3.0.6": ["cryptography<51", "fastapi[standard]==0.116.1", "cadwyn<6"],
    "3.1.8": ["cryptography<51"],
    "3.2.2": ["fastapi<0.137", "svcs<26"],
}
#: The Airflow of ``.venv``: what ``python3 dev.py test`` and the demo run on.
DEFAULT_AIRFLOW = AIRFLOW_VERSIONS[-1]
#: What a version run copies out of the source tree to run the tests against the installed wheel.
TEST_TREE = ("tests", "example_dags", "demo.py", "README.md", "pyproject.toml")


def bin_dir(env: Path) -> Path:
    """The folder of a virtual environment's executables."""
    return env / ("Scripts" if os.name == "nt" else "bin")


def ensure_venv(
    env: Path, requirements: list[str], key: str, release: str, out: IO[str] | None = None
) -> Path:
    """Create ``env``, install ``requirements``, check that Airflow ``release`` works; returns its Python.

    Done once per ``key``: packages change only when they are installed, so a venv that passed its check
    keeps passing it. A failed check stops the run with the message of ``tests/release_check.py``.
    """
    python = bin_dir(env) / "python"
    stamp = env / f".installed-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    if stamp.exists():
        return python
    if not python.exists():
        print(f"Creating {env} ...", file=out or sys.stdout, flush=True)
        venv.EnvBuilder(with_pip=True).create(env)
    print(f"Installing into {env} (about a minute) ...", file=out or sys.stdout, flush=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--upgrade", "pip"], **redirected(out))
    run([*pip, *requirements], **redirected(out))
    for old in env.glob(".installed-*"):
        old.unlink()
    print(f"Checking that Airflow {release} works in {env.name} ...", file=out or sys.stdout, flush=True)
    run([str(python), str(ROOT / "tests" / "release_check.py"), release], **redirected(out))
    stamp.touch()
    return python


def pyproject_hash() -> str:
    """Changes whenever the declared dependencies may have."""
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def dev_venv() -> Path:
    """``.venv``: the project editable, with its dev extras, on the default Airflow."""
    return ensure_venv(
        VENV,
        ["-e", f"{ROOT}[dev]", f"apache-airflow=={DEFAULT_AIRFLOW}"],
        f"{DEFAULT_AIRFLOW}-{pyproject_hash()}",
        DEFAULT_AIRFLOW,
    )


def run(command: list[str], **kwargs: object) -> None:
    """Run a command from the project root; stop with its exit code if it fails."""
    kwargs.setdefault("cwd", ROOT)
    result = subprocess.run(command, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        sys.exit(result.returncode)


def redirected(out: IO[str] | None) -> dict[str, Any]:
    """The ``subprocess`` arguments that send a command's output to ``out`` (``None``: this terminal)."""
    return {} if out is None else {"stdout": out, "stderr": subprocess.STDOUT}


def test() -> None:
    """Lint, type-check and run every test; or, with ``--airflow VERSION``, the tests on that version."""
    args = sys.argv[2:]
    if args[:1] == ["--airflow"]:
        if len(args) < 2:
            sys.exit(f"--airflow needs a version, one of {', '.join(AIRFLOW_VERSIONS)}")
        sys.exit(run_tests_on_airflow(args[1], args[2:], None))
    tool = str(bin_dir(VENV) / "{}")
    dev_venv()
    run([tool.format("ruff"), "check", "."])
    run([tool.format("ruff"), "format", "--check", "."])
    run([tool.format("mypy")])
    run([tool.format("pytest"), "-p", "no:cacheprovider", *args])


def build_wheel() -> Path:
    """Build the project's wheel from the source tree as it is now; returns its path."""
    out = MATRIX / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps"]
    run([*pip_wheel, "--wheel-dir", str(out), str(ROOT)])
    [wheel] = out.glob("*.whl")
    return wheel


def run_tests_on_airflow(
    version: str, pytest_args: list[str], wheel: Path | None, out: IO[str] | None = None
) -> int:
    """Run pytest on one Airflow version, with the project installed from a fresh wheel; the exit code.

    :param out: where the output goes (a file, when versions run side by side); this terminal by default.
    """
    if not version.replace(".", "").isdigit() or version.count(".") != 2:
        sys.exit(f"--airflow takes a full version such as {DEFAULT_AIRFLOW}, not {version!r}")
    wheel = wheel or build_wheel()
    env = MATRIX / f"airflow-{version}"
    spec = f"{wheel}[emulator,probe,test]"
    pins = RELEASE_PINS.get(version, [])
    requirements = [spec, f"apache-airflow=={version}", *pins]
    python = ensure_venv(env, requirements, f"{version}-{pins}-{pyproject_hash()}", version, out)
    # The dependencies are in place; the provider itself is reinstalled from this run's wheel every time.
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--force-reinstall", str(wheel)], **redirected(out))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=f"livepeer-airflow-{version}-") as scratch:
        project = Path(scratch) / "project"
        project.mkdir()
        for name in TEST_TREE:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, project / name)
        if (ROOT.parent / "shared").is_dir():
            (Path(scratch) / "shared").symlink_to(ROOT.parent / "shared")
        where = subprocess.run([str(python), "--version"], capture_output=True, text=True).stdout.strip()
        print(
            f"=== Airflow {version} on {where}: pytest from the wheel {wheel.name}",
            file=out or sys.stdout,
            flush=True,
        )
        command = [str(python), "-m", "pytest", "-p", "no:cacheprovider", *pytest_args]
        env_vars = {**os.environ, "LIVEPEER_TEST_FROM_WHEEL": "1"}
        return subprocess.run(command, cwd=project, env=env_vars, **redirected(out)).returncode


def matrix() -> None:
    """Run the tests on every Airflow version of :data:`AIRFLOW_VERSIONS`; a summary line each.

    Versions named (``matrix 2.11.2 3.0.6``) narrow it to those; ``--jobs N`` runs N versions at a time,
    each one's output kept in a file under ``.matrix/`` and printed when it ends (a suite mostly waits on
    Airflow and the emulator, so two share two cores well); the other arguments go to pytest.
    """
    args = sys.argv[2:]
    jobs = 1
    if "--jobs" in args:
        at = args.index("--jobs")
        if at + 1 >= len(args) or not args[at + 1].isdigit() or int(args[at + 1]) < 1:
            sys.exit("--jobs needs a whole number of versions to run at a time, such as 2")
        jobs = int(args[at + 1])
        del args[at : at + 2]
    named = [arg for arg in args if arg in AIRFLOW_VERSIONS]
    pytest_args = [arg for arg in args if arg not in named]
    wheel = build_wheel()

    def run_version(version: str) -> tuple[str, int, float]:
        started = time.monotonic()
        log = MATRIX / f"airflow-{version}.log"
        with log.open("w") if jobs > 1 else contextlib.nullcontext() as out:
            try:
                code = run_tests_on_airflow(version, pytest_args, wheel, out)
            except SystemExit as stop:  # a failed install or release check, from run(): the next release
                code = stop.code if isinstance(stop.code, int) else 1
        if jobs > 1:
            print(log.read_text(), end="", flush=True)
        return version, code, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(run_version, named or AIRFLOW_VERSIONS))
    print("\n=== Airflow version matrix")
    for version, code, seconds in results:
        print(
            f"Airflow {version:<8} {'passed' if code == 0 else f'FAILED (exit {code})':<16} {seconds:5.0f} s"
        )
    sys.exit(max(code for _, code, _ in results))


def deployment() -> None:
    """Run the scenarios of tests/deployment against a real Airflow deployment (a few minutes).

    With ``--airflow VERSION``, on that Airflow release, from a fresh wheel (as ``test --airflow``).
    """
    args = sys.argv[2:]
    pytest_args = ["--durations=0", "tests/deployment"]
    if args[:1] == ["--airflow"]:
        if len(args) < 2:
            sys.exit(f"--airflow needs a version, one of {', '.join(AIRFLOW_VERSIONS)}")
        sys.exit(run_tests_on_airflow(args[1], [*pytest_args, *args[2:]], None))
    dev_venv()
    run([str(bin_dir(VENV) / "pytest"), "-p", "no:cacheprovider", *pytest_args, *args])


def demo() -> None:
    """Run the main job."""
    dev_venv()
    run([str(bin_dir(VENV) / "python"), str(ROOT / "demo.py"), *sys.argv[2:]])


def main() -> None:
    """Dispatch a command."""
    if sys.version_info < (3, 11):  # noqa: UP036 - the one place that must still run on an old Python
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    commands = {"demo": demo, "test": test, "matrix": matrix, "deployment": deployment}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(commands)}}} [args...]")
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
