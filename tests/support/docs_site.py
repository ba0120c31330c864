"""The documentation site (``docs/``), built as ``python3 dev.py docs`` builds it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from dev import SPHINX_OPTIONS
from tests.support.project import PROJECT_ROOT

DOCS = PROJECT_ROOT / "docs"


def build_site(source: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """Build the Sphinx project in ``source`` into ``out`` with ``dev.py docs``'s options; the process,
    its output captured."""
    command = [sys.executable, "-m", "sphinx", *SPHINX_OPTIONS, str(source), str(out)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def small_site(root: Path, pages: dict[str, str]) -> Path:
    """A Sphinx project of ``docs/conf.py`` and the given pages (path: text) in ``root/docs``, beside a copy
    of ``example_dags/`` (what the pages include); its source folder."""
    source = root / "docs"
    source.mkdir(parents=True)
    shutil.copy(DOCS / "conf.py", source / "conf.py")
    shutil.copytree(PROJECT_ROOT / "example_dags", root / "example_dags")
    for name, text in pages.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    return source
