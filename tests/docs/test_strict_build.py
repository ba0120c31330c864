"""A mistake in the documentation fails its build: ``dev.py docs`` builds with warnings as errors.

Each test builds a small site (``docs/conf.py``, one real how-to page with its include, an API page that
declares one class, as autodoc does for each documented one) with one mistake in it; the first builds it as
it is, so a failure is the mistake's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docs_site import DOCS, build_site, small_site

INDEX = "# Site\n\n```{toctree}\nhowto/clip\napi\n```\n"
API = "# API\n\n```{py:class} airflow_provider_livepeer.exceptions.LivepeerTaskFailedError\n```\n"
CLIP_PAGE = (DOCS / "howto" / "clip.md").read_text()
MARKER = "[START howto_operator_livepeer_clip]"


def built(tmp_path: Path, clip_page: str = CLIP_PAGE, example_edit: tuple[str, str] | None = None) -> str:
    """Build the small site; what Sphinx said if it failed, ``""`` if it built."""
    source = small_site(tmp_path, {"index.md": INDEX, "api.md": API, "howto/clip.md": clip_page})
    if example_edit is not None:
        example = tmp_path / "example_dags" / "example_livepeer_highlights.py"
        old, new = example_edit
        assert example.read_text().count(old) == 1, old
        example.write_text(example.read_text().replace(old, new))
    result = build_site(source, tmp_path / "html")
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_the_small_site_builds_as_it_is(tmp_path: Path) -> None:
    assert built(tmp_path) == ""
    page = (tmp_path / "html" / "howto" / "clip.html").read_text()
    assert "LivepeerClipOperator" in page and "clip_highlight" in page  # the included example


def test_a_missing_include_marker_fails_the_build(tmp_path: Path) -> None:
    failure = built(tmp_path, example_edit=(MARKER, "[START renamed]"))
    assert f"start-after pattern not found: # {MARKER}" in failure


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("[the sensor](sensor.md)", "cross-reference target not found: 'sensor.md'"),
        ("[this page](#no-such-section)", "'no-such-section'"),
    ],
    ids=["page", "section"],
)
def test_a_dead_internal_link_fails_the_build(tmp_path: Path, link: str, message: str) -> None:
    failure = built(tmp_path, clip_page=f"{CLIP_PAGE}\nSee {link}.\n")
    assert message in failure


@pytest.mark.parametrize(
    ("name", "fails"),
    [("LivepeerTaskFailedError", False), ("LivepeerNoSuchError", True)],
    ids=["documented", "nonexistent"],
)
def test_a_reference_to_a_class_that_does_not_exist_fails_the_build(
    tmp_path: Path, name: str, fails: bool
) -> None:
    reference = f"{{class}}`airflow_provider_livepeer.exceptions.{name}`"
    failure = built(tmp_path, clip_page=f"{CLIP_PAGE}\nFails with {reference}.\n")
    assert bool(failure) == fails, failure
    if fails:
        assert f"reference target not found: airflow_provider_livepeer.exceptions.{name}" in failure
