"""The built distribution: what a user installs from the package index."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.project import PROJECT_ROOT


def test_the_installed_distribution_carries_the_apache_license() -> None:
    """What pip installed (the wheel, in the version matrix) has the license text."""
    from importlib.metadata import distribution

    dist = distribution("airflow-provider-livepeer")
    [license_file] = [path for path in dist.files or [] if path.name == "LICENSE"]
    text = license_file.read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert dist.metadata["License-Expression"] == "Apache-2.0"


@pytest.mark.skipif(
    not (PROJECT_ROOT / "airflow_provider_livepeer").is_dir(),
    reason="the tests run against an installed wheel, not the source tree: the test above checks it",
)
def test_the_wheel_ships_the_apache_license(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(PROJECT_ROOT),
        ],
        check=True,
        timeout=600,
    )
    [wheel] = tmp_path.glob("airflow_provider_livepeer-*.whl")
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
