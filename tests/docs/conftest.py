"""The built documentation site the browser test opens."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.docs_site import DOCS, build_site


@pytest.fixture(scope="session")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``dev.py docs``'s (``LIVEPEER_DOCS_HTML``), else one built for the session."""
    built = os.environ.get("LIVEPEER_DOCS_HTML")
    if built:
        site = Path(built).resolve()
        assert (site / "index.html").is_file(), f"LIVEPEER_DOCS_HTML={built} holds no built site"
        return site
    site = tmp_path_factory.mktemp("docs-html")
    result = build_site(DOCS, site)
    assert result.returncode == 0, result.stdout + result.stderr
    return site
