"""The provider's extra links on a task instance, in Airflow's UI in a real browser."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from airflow_provider_livepeer.connection import api_base_url
from airflow_provider_livepeer.links.livepeer import LivepeerAssetLink, LivepeerTaskLink
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_3_PLUS
from tests.deployment.browser import BROWSER_SCENARIO
from tests.deployment.harness import Deployment
from tests.support.browser import Screenshots, browser_page, screenshot_folder

pytestmark = [
    *BROWSER_SCENARIO,
    pytest.mark.skipif(
        not AIRFLOW_V_3_3_PLUS,
        reason="the extra links are followed in the React UI of Airflow 3.3, the newest; the REST API's "
        "links are checked on every version by test_example_pipeline",
    ),
]

DAG_ID = "example_livepeer_import_pipeline"


def test_task_instance_shows_livepeer_links(
    airflow_deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rest = airflow_deployment.rest
    folder = screenshot_folder("ui-extra-links", tmp_path_factory.mktemp("ui-extra-links"))
    run_id = rest.trigger(DAG_ID, {"source_url": airflow_deployment.sources.open_url("ui-links")})
    assert rest.wait_for_run(DAG_ID, run_id, timeout=300) == "success", rest.states(DAG_ID, run_id)
    asset_id = rest.xcom(DAG_ID, run_id, "wait_for_import", "output_asset_id")
    base = api_base_url(airflow_deployment.emulator_url)  # the livepeer_default connection's host
    expected = {
        # The task link opens the page of the asset the task made (the API's task URL needs the key).
        "import_video": {LivepeerTaskLink.name: LivepeerTaskLink.url(base, asset_id)},
        "wait_for_import": {
            LivepeerTaskLink.name: LivepeerTaskLink.url(base, asset_id),
            LivepeerAssetLink.name: LivepeerAssetLink.url(base, asset_id),
        },
    }
    # On a loopback host the asset's page is the emulator's dashboard page.
    assert expected["wait_for_import"][LivepeerAssetLink.name] == (
        f"{airflow_deployment.emulator_url}/dashboard/assets/{asset_id}"
    )
    with browser_page(airflow_deployment.base_url) as page:
        shots = Screenshots(page, folder)
        for task, links in expected.items():
            page.goto(f"/dags/{DAG_ID}/runs/{quote(run_id)}/tasks/{task}/details")
            for name, url in links.items():
                link = page.get_by_role("link", name=name, exact=True)
                expect(link).to_have_attribute("href", url)
            shots.take(f"{task} extra links")
    assert len(shots.taken) == 2
