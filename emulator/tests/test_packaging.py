"""The emulator's wheel: what `pip install livepeer-studio-emulator` installs."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.support.project import built_wheel

EMULATOR = Path(__file__).parents[1]


def test_the_wheel_is_the_emulator_alone_with_its_command_plugin_and_license(tmp_path: Path) -> None:
    wheel = built_wheel(EMULATOR, tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(name for name in names if name.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        shipped_license = archive.read(f"{info}/licenses/LICENSE").decode()
    assert {name.split("/")[0] for name in names} == {"livepeer_studio_emulator", info}
    assert "livepeer_studio_emulator/py.typed" in names
    assert "livepeer-emulator = livepeer_studio_emulator.__main__:main" in entry_points
    assert "livepeer_emulator = livepeer_studio_emulator.pytest_plugin" in entry_points
    assert "Requires-Python: >=3.11" in metadata  # an older Python is refused by pip, from the metadata
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and not [line for line in requires if "airflow" in line.lower()], requires
    # The same Apache License 2.0 text as the repository's (the provider's wheel ships that one).
    assert shipped_license == (EMULATOR / "LICENSE").read_text() == (EMULATOR.parent / "LICENSE").read_text()
