"""The built distribution: what a user installs from the package index."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import PROJECT_ROOT


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
