"""Scenario f: the example pipeline, its extra links and the connection test, through the REST API."""

from __future__ import annotations

import pytest
import requests

from tests.deployment.harness import API_KEY, EXAMPLE_DAG_ID, Deployment

pytestmark = [pytest.mark.deployment, pytest.mark.timeout(900)]

DAG_ID = EXAMPLE_DAG_ID


def test_example_pipeline_links_and_connection_test(airflow_deployment: Deployment) -> None:
    rest, emulator_url = airflow_deployment.rest, airflow_deployment.emulator_url
    run_id = rest.trigger(DAG_ID, {"source_url": airflow_deployment.sources.open_url("example")})
    state = rest.wait_for_run(DAG_ID, run_id, timeout=300)
    assert state == "success", rest.states(DAG_ID, run_id)
    states = {ti["task_id"]: ti["state"] for ti in rest.task_instances(DAG_ID, run_id)}
    assert states["export_to_ipfs"] == "success" and states["report_unsuitable"] == "skipped", states

    livepeer_task_id = rest.xcom(DAG_ID, run_id, "import_video", "livepeer_task_id")
    asset_id = rest.xcom(DAG_ID, run_id, "wait_for_import", "output_asset_id")
    task = airflow_deployment.emulator_task(livepeer_task_id)
    assert task["task"]["outputAssetId"] == asset_id
    # Links a person can open: the asset's page (served by the emulator), never the API.
    asset_page = f"{emulator_url}/dashboard/assets/{asset_id}"
    assert rest.extra_links(DAG_ID, run_id, "import_video")["Livepeer task"] == asset_page
    assert rest.extra_links(DAG_ID, run_id, "wait_for_import") == {
        "Livepeer task": asset_page,
        "Livepeer asset": asset_page,
    }
    page = requests.get(asset_page, timeout=30)
    assert page.status_code == 200 and f"<td>{asset_id}</td>" in page.text
    exported = rest.xcom(DAG_ID, run_id, "export_to_ipfs", "output")
    assert (
        rest.extra_links(DAG_ID, run_id, "export_to_ipfs")["Livepeer task"]
        == (exported["export"]["ipfs"]["videoFileGatewayUrl"])
    )

    good = rest.test_connection("livepeer_check", "livepeer", emulator_url, API_KEY)
    assert good["status"] is True, good
    assert emulator_url in good["message"]
    bad = rest.test_connection("livepeer_check", "livepeer", emulator_url, "wrong-key")
    assert bad["status"] is False, bad
    assert "401" in bad["message"], bad
