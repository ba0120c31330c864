"""The built distribution: what a user installs from the package index."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.project import PROJECT_ROOT, built_wheel


def test_the_installed_distribution_carries_the_apache_license() -> None:
    """What pip installed (the wheel, in the version matrix) has the license text."""
    from importlib.metadata import distribution

    dist = distribution("airflow-provider-livepeer")
    [license_file] = [path for path in dist.files or [] if path.name == "LICENSE"]
    text = license_file.read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert dist.metadata["License-Expression"] == "Apache-2.0"


#: For the tests of the wheel built from the source tree (the version matrix installs one: nothing to build).
from_source_tree = pytest.mark.skipif(
    not (PROJECT_ROOT / "airflow_provider_livepeer").is_dir(),
    reason="the tests run against an installed wheel, not the source tree: the tests above check it",
)


# One worker builds the wheel for every test here: setuptools builds in the tree's build/, which two
# workers building at once would share.
pytestmark = pytest.mark.xdist_group("provider-wheel")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The provider's wheel, built from the source tree."""
    return built_wheel(PROJECT_ROOT, tmp_path_factory.mktemp("wheel"))


@from_source_tree
def test_the_wheel_ships_the_apache_license(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        licenses = [name for name in archive.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
        assert len(licenses) == 1, archive.namelist()
        shipped = archive.read(licenses[0]).decode()
        metadata = archive.read(licenses[0].replace("licenses/LICENSE", "METADATA")).decode()
    assert shipped == (PROJECT_ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in shipped
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in shipped
    assert "License-File: LICENSE" in metadata
    assert "License-Expression: Apache-2.0" in metadata


#: What the provider's wheel must not bring: the emulator's libraries and the test and development tools.
NOT_RUN_TIME = {"httpx", "fastapi", "uvicorn", "av", "pytest", "trustme", "playwright",
                "psycopg2-binary", "asyncpg", "jsonschema", "ruff", "mypy"}  # fmt: skip


@from_source_tree
def test_the_wheel_alone_installs_beside_airflow_and_every_module_imports(
    wheel: Path, tmp_path: Path
) -> None:
    from importlib.metadata import version

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [metadata_name] = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode()
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"airflow_provider_livepeer"}, packages
    assert not [name for name in names if "emulator" in name], "the emulator is a distribution of its own"
    requires = [
        line.removeprefix("Requires-Dist: ")
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:")
    ]
    run_time = {
        re.split(r"[<>=!~;\[ ]", requirement)[0].lower()
        for requirement in requires
        if "extra ==" not in requirement
    }
    assert run_time == {"apache-airflow", "apache-airflow-providers-common-compat", "requests", "certifi",
                        "urllib3", "aiohttp", "tenacity", "pydantic", "packaging"}  # fmt: skip
    assert not run_time & NOT_RUN_TIME
    extras = {
        line.removeprefix("Provides-Extra: ")
        for line in metadata.splitlines()
        if line.startswith("Provides-Extra:")
    }
    assert extras == {"emulator", "openlineage"}

    # A fresh venv with this Airflow and the wheel, nothing else: every module of the package imports.
    env = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True, timeout=120)
    python = env / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel),
         f"apache-airflow=={version('apache-airflow')}"],
        check=True, timeout=900,
    )  # fmt: skip
    code = (
        "import importlib, pkgutil, airflow_provider_livepeer as p\n"
        "names = [m.name for m in pkgutil.walk_packages(p.__path__, 'airflow_provider_livepeer.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "import importlib.util\n"
        "print(len(names), importlib.util.find_spec('livepeer_studio_emulator') is None)"
    )
    home = tmp_path / "airflow-home"
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=300,
        env={"PATH": os.environ["PATH"], "AIRFLOW_HOME": str(home)}, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    count, no_emulator = done.stdout.split()[-2:]
    assert int(count) >= 15 and no_emulator == "True", done.stdout
