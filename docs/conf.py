"""Sphinx configuration of the provider's documentation site (``python3 dev.py docs`` builds it).

The pages are MyST Markdown; every code example of a how-to page is included from ``example_dags/``
between ``[START name]`` / ``[END name]`` markers. The build is strict: ``dev.py docs`` runs
``sphinx-build -W --keep-going -n``, so a missing marker, a reference to a class that does not exist or a
dead link between pages fails it. No intersphinx: the build needs no network, and names of other projects
that cannot resolve are listed in ``nitpick_ignore_regex`` below.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The checkout being documented, before any installed copy of the provider.
sys.path.insert(0, str(ROOT))
# autodoc imports the provider, so Airflow: a throwaway home, not the user's.
if "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="livepeer-docs-airflow-")

from airflow_provider_livepeer import __version__  # noqa: E402

project = "airflow-provider-livepeer"
author = "airflow-provider-livepeer developers"
copyright = "the airflow-provider-livepeer developers"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3

nitpicky = True
#: Names of Airflow, pydantic and the standard library in signatures and bases: without intersphinx (no
#: network), Sphinx cannot link them; a name of this project never matches and must resolve.
nitpick_ignore_regex = [
    (r"py:.*", r"(airflow|pydantic|fastapi|requests|aiohttp|tenacity|openlineage|sqlalchemy)(\..*)?"),
    (r"py:.*", r"(datetime|collections|typing|os|urllib|pathlib|hmac)(\..*)?"),
    # The same names as the modules import them, by their bare names.
    (r"py:class", r"AirflowFailException|ResumableJobMixin|ObjectStoragePath|OperatorLineage|Dataset"),
    (r"py:(class|exc)", r"AirflowException|AirflowSensorTimeout|SkipValidation"),
    # Private helpers (a leading underscore) in field annotations are left out of the reference.
    (r"py:class", r"(airflow_provider_livepeer\.[\w.]+\.)?_\w+"),
]

autodoc_member_order = "bysource"
autodoc_default_options = {
    "members": True,
    "exclude-members": "model_config, model_post_init",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"

html_theme = "furo"
html_title = f"airflow-provider-livepeer {release}"
html_static_path: list[str] = []
