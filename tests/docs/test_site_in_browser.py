"""The built documentation site in a real Chromium: its navigation leads to a how-to page, whose example
is the example DAG's code.

Opened from disk (``file://``): the site needs no server. Each step's screenshot is kept as the UI tests
keep theirs (a folder printed at the start, ``$LIVEPEER_SCREENSHOTS/docs-site`` when that is set).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from airflow_provider_livepeer import __version__
from tests.support.browser import Screenshots, browser_page, screenshot_folder
from tests.support.project import PROJECT_ROOT

#: The sensor's example, as the how-to page includes it from the example DAG.
EXAMPLE = PROJECT_ROOT / "example_dags" / "example_livepeer_import_pipeline.py"
MARKERS = ("# [START howto_sensor_livepeer_task]", "# [END howto_sensor_livepeer_task]")


def included_lines() -> list[str]:
    """The example's lines between its markers, as the page shows them (dedented, blank ones left out)."""
    text = EXAMPLE.read_text()
    start, end = (text.index(marker) for marker in MARKERS)
    body = text[start:end].splitlines()[1:]
    return [line.strip() for line in body if line.strip()]


@pytest.mark.timeout(120)
def test_the_navigation_leads_to_the_sensor_how_to_and_its_included_example(
    docs_site: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = screenshot_folder("docs-site", tmp_path_factory.mktemp("docs-site"))
    with browser_page() as page:
        page.set_default_timeout(10_000)  # a page from disk, no server: an element is there or missing
        shots = Screenshots(page, folder)
        page.goto((docs_site / "index.html").as_uri())
        expect(page).to_have_title(f"airflow-provider-livepeer {__version__}")
        sidebar = page.locator(".sidebar-tree")
        for caption in ("User guide", "Reference", "Contributors"):
            expect(sidebar.get_by_text(caption, exact=True)).to_be_visible()
        shots.take("index")

        sidebar.get_by_role("link", name="How-to guides").click()
        expect(page.get_by_role("heading", name="How-to guides", exact=False).first).to_be_visible()
        shots.take("how-to guides")

        page.locator("article").get_by_role("link", name="Waiting for a Livepeer task: the sensor").click()
        expect(page).to_have_url(docs_site.joinpath("howto", "sensor.html").as_uri())
        code = page.locator("article div.highlight").first
        for line in included_lines():
            expect(code).to_contain_text(line)
        shots.take("sensor how-to")

        sidebar.get_by_role("link", name="API reference").click()
        expect(
            page.locator("[id='airflow_provider_livepeer.sensors.livepeer.LivepeerTaskSensor']")
        ).to_be_visible()
        shots.take("API reference")
    assert [path.name for path in shots.taken] == [
        "01-index.png",
        "02-how-to-guides.png",
        "03-sensor-how-to.png",
        "04-api-reference.png",
    ]
