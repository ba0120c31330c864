#!/usr/bin/env python3
"""The project's commands, needing nothing but Python 3.11+.

    python3 dev.py demo                   # the main job (see the README)
    python3 dev.py test                   # the whole test suite: ruff, mypy, the provider's and the
                                          # emulator's pytest (default Airflow; the emulator's without any;
                                          # the provider's in four workers, unless pytest arguments follow)
    python3 dev.py test --airflow 3.0.6   # the provider's pytest on one Airflow version, from fresh wheels
    python3 dev.py matrix                 # that, for every supported Airflow version in turn
    python3 dev.py matrix --jobs 2        # two versions at a time (each one's output printed when it ends)
    python3 dev.py deployment             # the deployment tests: a real Airflow deployment on PostgreSQL
    python3 dev.py docs                   # the documentation site, warnings as errors, then its tests

The repository builds two distributions: the provider (``pyproject.toml``) and the emulator
(``emulator/pyproject.toml``, which needs no Airflow). ``demo`` and ``test`` use ``.venv`` beside this
file (created on first use, reinstalled whenever a ``pyproject.toml`` changes), with both installed
editable next to :data:`DEFAULT_AIRFLOW` and the provider's ``dev`` dependency group; the emulator's own
tests run in ``.venv-emulator``, which has the emulator and its ``test`` group but no Airflow. The
version runs use one venv per Airflow version under ``.matrix/``: both go in from wheels built anew for
every run, and the provider's tests run from a copy of ``tests/`` outside the source tree, so what they
import is what the wheels installed.
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
import tomllib
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
EMULATOR = ROOT / "emulator"
EMULATOR_VENV = ROOT / ".venv-emulator"
MATRIX = ROOT / ".matrix"
DOCS = ROOT / "docs"
#: Where ``dev.py docs`` builds the site (ignored by git).
DOCS_HTML = DOCS / "_build" / "html"
#: How: every warning an error (all reported), nitpicky (a reference that resolves nowhere is a warning),
#: every page read anew (an incremental build would not repeat an unchanged page's warnings).
SPHINX_OPTIONS = ("-W", "--keep-going", "-n", "-E", "-q", "-b", "html")
#: The newest patch of each Airflow minor that the package index serves; a new minor is one more entry.
AIRFLOW_VERSIONS = ("2.11.2", "3.0.6", "3.1.8", "3.2.2", "3.3.2")
#: Libraries released after an Airflow release that break its own code, held below the version that broke
#: it, as that release's constraints file holds them (users install old releases with it: see
#: docs/installation.md):
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
#: The pytest workers of ``dev.py test`` and the version runs (pytest-xdist): the suite mostly waits on
#: servers and Airflow (one process keeps a quarter of two cores busy), so four share two cores well;
#: tests marked with one ``xdist_group`` run in one worker (``loadgroup``), the others anywhere.
PYTEST_WORKERS = ["--numprocesses", "4", "--dist", "loadgroup"]
#: What a version run copies out of the source tree to run the tests against the installed wheel.
TEST_TREE = (
    "tests",
    "example_dags",
    "docs",
    "demo.py",
    "README.md",
    "CHANGELOG.md",
    "CONTRIBUTING.md",
    "ARCHITECTURE.md",
    "pyproject.toml",
)


def bin_dir(env: Path) -> Path:
    """The folder of a virtual environment's executables."""
    return env / ("Scripts" if os.name == "nt" else "bin")


def ensure_venv(
    env: Path, requirements: list[list[str]], key: str, release: str | None, out: IO[str] | None = None
) -> Path:
    """Create ``env``, install ``requirements``, check that Airflow ``release`` works; returns its Python.

    Each item of ``requirements`` is one pip call, made in turn. Done once per ``key``: packages change
    only when they are installed, so a venv that passed its check keeps passing it. A failed check stops
    the run with the message of ``tests/release_check.py``. ``release`` ``None``: no Airflow to check.
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
    for step in requirements:
        run([*pip, *step], **redirected(out))
    for old in env.glob(".installed-*"):
        old.unlink()
    if release is not None:
        print(f"Checking that Airflow {release} works in {env.name} ...", file=out or sys.stdout, flush=True)
        run([str(python), str(ROOT / "tests" / "release_check.py"), release], **redirected(out))
    stamp.touch()
    return python


def pyproject_hash(*folders: Path) -> str:
    """Changes whenever the declared dependencies of the distributions in ``folders`` (default: both) may."""
    declared = b"".join((folder / "pyproject.toml").read_bytes() for folder in folders or (ROOT, EMULATOR))
    return hashlib.sha256(declared).hexdigest()


def lowest_bounds() -> list[str]:
    """The provider's run-time dependencies, Airflow left out, pinned at their lower bounds.

    ``requests>=2.31`` becomes ``requests==2.31``: the oldest Airflow release's matrix run installs these,
    so the bounds the package declares are the versions it is tested with.
    """
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    unbounded = [requirement for requirement in declared if ">=" not in requirement]
    if unbounded:
        sys.exit(f"Each run-time dependency needs a lower bound (name>=version): {', '.join(unbounded)}")
    pinned = (requirement.replace(">=", "==") for requirement in declared)
    return [requirement for requirement in pinned if not requirement.startswith("apache-airflow==")]


def dev_venv() -> Path:
    """``.venv``: both distributions editable, with the provider's ``dev`` group, on the default Airflow."""
    return ensure_venv(
        VENV,
        # The emulator first: pip matches the test group's "livepeer-studio-emulator" with an installed
        # editable, not with one named in the same call.
        [["-e", str(EMULATOR)], ["-e", str(ROOT), "--group", "dev", f"apache-airflow=={DEFAULT_AIRFLOW}"]],
        f"{DEFAULT_AIRFLOW}-{pyproject_hash()}",
        DEFAULT_AIRFLOW,
    )


def emulator_venv() -> Path:
    """``.venv-emulator``: the emulator editable with its ``test`` group, and no Airflow."""
    group = f"{EMULATOR / 'pyproject.toml'}:test"
    return ensure_venv(
        EMULATOR_VENV, [["-e", str(EMULATOR), "--group", group]], pyproject_hash(EMULATOR), None
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
    """Lint, type-check and run every test; or, with ``--airflow VERSION``, the provider's tests there.

    The emulator's tests run once, in a venv without Airflow (the emulator needs none); arguments go to
    the provider's pytest, in place of :data:`PYTEST_WORKERS`.
    """
    args = sys.argv[2:]
    if args[:1] == ["--airflow"]:
        if len(args) < 2:
            sys.exit(f"--airflow needs a version, one of {', '.join(AIRFLOW_VERSIONS)}")
        sys.exit(run_tests_on_airflow(args[1], args[2:] or PYTEST_WORKERS, None))
    tool = str(bin_dir(VENV) / "{}")
    dev_venv()
    run([tool.format("ruff"), "check", "."])
    run([tool.format("ruff"), "format", "--check", "."])
    run([tool.format("mypy")])
    provider_tests = [tool.format("pytest"), "-p", "no:cacheprovider", *(args or PYTEST_WORKERS)]
    if args:
        run(provider_tests)
        return
    # The emulator's tests beside the provider's: both mostly wait on servers, so two share two cores.
    emulator_venv()
    log = EMULATOR_VENV / "pytest.log"
    with log.open("w") as out:
        emulator_tests = subprocess.Popen(
            [str(bin_dir(EMULATOR_VENV) / "pytest"), "-p", "no:cacheprovider"],
            cwd=EMULATOR,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        print("=== The provider's tests (the emulator's run beside them, without Airflow)", flush=True)
        code = subprocess.run(provider_tests, cwd=ROOT).returncode
        emulator_code = emulator_tests.wait()
    print(f"=== The emulator's tests (no Airflow installed)\n{log.read_text()}", end="", flush=True)
    sys.exit(code or emulator_code)


def build_wheels() -> tuple[Path, Path]:
    """Build the provider's and the emulator's wheels from the source tree as it is now; their paths."""
    out = MATRIX / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    for folder in (ROOT, EMULATOR):
        # setuptools builds in the tree's build/ and never removes what the source has lost since: a wheel
        # built from a used tree would carry modules deleted long ago.
        shutil.rmtree(folder / "build", ignore_errors=True)
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps"]
    run([*pip_wheel, "--wheel-dir", str(out), str(ROOT), str(EMULATOR)])
    [provider] = out.glob("airflow_provider_livepeer-*.whl")
    [emulator] = out.glob("livepeer_studio_emulator-*.whl")
    return provider, emulator


def run_tests_on_airflow(
    version: str, pytest_args: list[str], wheels: tuple[Path, Path] | None, out: IO[str] | None = None
) -> int:
    """Run the provider's tests on one Airflow version from fresh wheels of both; the exit code.

    The oldest version gets the provider's dependencies at their lower bounds (:func:`lowest_bounds`).

    :param out: where the output goes (a file, when versions run side by side); this terminal by default.
    """
    if not version.replace(".", "").isdigit() or version.count(".") != 2:
        sys.exit(f"--airflow takes a full version such as {DEFAULT_AIRFLOW}, not {version!r}")
    wheels = wheels or build_wheels()
    env = MATRIX / f"airflow-{version}"
    pins = RELEASE_PINS.get(version, []) + (lowest_bounds() if version == AIRFLOW_VERSIONS[0] else [])
    group = f"{ROOT / 'pyproject.toml'}:test"
    provider, emulator = wheels
    # The emulator through the provider's extra, as users install it; the test group needs it too.
    airflow = [f"apache-airflow=={version}", *pins]
    requirements = [f"{provider}[emulator]", str(emulator), "--group", group, *airflow]
    python = ensure_venv(env, [requirements], f"{version}-{pins}-{pyproject_hash()}", version, out)
    # The dependencies are in place; the distributions are reinstalled from this run's wheels every time.
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--force-reinstall", str(provider), str(emulator)], **redirected(out))  # fmt: skip
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
            f"=== Airflow {version} on {where}: pytest from the wheels {provider.name}, {emulator.name}",
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
    pytest_args = [arg for arg in args if arg not in named] or PYTEST_WORKERS
    wheels = build_wheels()

    def run_version(version: str) -> tuple[str, int, float]:
        started = time.monotonic()
        log = MATRIX / f"airflow-{version}.log"
        with log.open("w") if jobs > 1 else contextlib.nullcontext() as out:
            try:
                code = run_tests_on_airflow(version, pytest_args, wheels, out)
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


def docs() -> None:
    """Build the documentation site into ``docs/_build/html``, then run its tests (``tests/docs``).

    Built with :data:`SPHINX_OPTIONS`: a missing include marker, a reference to a class that does not
    exist or a dead link between pages fails the build. The tests check that such mistakes do fail it, and
    open the built site in Chromium; arguments go to their pytest.
    """
    dev_venv()
    started = time.monotonic()
    run([str(bin_dir(VENV) / "sphinx-build"), *SPHINX_OPTIONS, str(DOCS), str(DOCS_HTML)])
    print(f"=== Built {DOCS_HTML / 'index.html'} in {time.monotonic() - started:.0f} s", flush=True)
    env = {**os.environ, "LIVEPEER_DOCS_HTML": str(DOCS_HTML)}
    run([str(bin_dir(VENV) / "pytest"), "-p", "no:cacheprovider", "tests/docs", *sys.argv[2:]], env=env)


def demo() -> None:
    """Run the main job."""
    dev_venv()
    run([str(bin_dir(VENV) / "python"), str(ROOT / "demo.py"), *sys.argv[2:]])


def main() -> None:
    """Dispatch a command."""
    if sys.version_info < (3, 11):  # noqa: UP036 - the one place that must still run on an old Python
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    commands = {"demo": demo, "test": test, "matrix": matrix, "deployment": deployment, "docs": docs}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(f"usage: python3 {Path(__file__).name} {{{'|'.join(commands)}}} [args...]")
    commands[sys.argv[1]]()


if __name__ == "__main__":
    main()
