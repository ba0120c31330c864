"""The ``livepeer`` connection in Airflow's UI, in a real browser: the form, saving it, the Test button."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from airflow_provider_livepeer.connection_form import EXTRA_FIELDS, FIELD_BEHAVIOUR
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS
from tests.deployment.browser import BROWSER_SCENARIO, SKIP_OTHER_UIS, log_in
from tests.deployment.harness import API_KEY, Deployment
from tests.support.browser import Screenshots, browser_page, screenshot_folder

pytestmark = [*BROWSER_SCENARIO, SKIP_OTHER_UIS]

#: A plain-http host that is not loopback: the hook refuses it before sending anything.
REMOTE_HTTP_HOST = "http://10.0.0.5"
#: The titles of Airflow's toasts for a connection test.
SUCCESS, FAILED = "Test Connection Successful", "Test Connection Failed"


def open_livepeer_form(page: Page, shots: Screenshots, conn_id: str) -> None:
    """Open the connections page, start a new connection and choose the type "Livepeer"."""
    page.goto("/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Connection ID").fill(conn_id)
    dialog.get_by_role("combobox", name="Connection Type").fill("Livepeer")
    page.get_by_role("option", name="Livepeer", exact=True).click()
    expect(dialog.get_by_label("API host")).to_be_visible()
    shots.take("form for type Livepeer")


def fill_livepeer_fields(
    page: Page, shots: Screenshots, host_url: str, key_value: str, read_timeout: int
) -> None:
    """The form labels, explains and hides the fields as the provider info says; fill them in."""
    dialog = page.get_by_role("dialog")
    relabeled, placeholders = FIELD_BEHAVIOUR["relabeling"], FIELD_BEHAVIOUR["placeholders"]
    host, key = dialog.get_by_label(relabeled["host"]), dialog.get_by_label(relabeled["password"])
    expect(host).to_have_attribute("placeholder", placeholders["host"])
    expect(key).to_have_attribute("placeholder", placeholders["password"])
    expect(key).to_have_attribute("type", "password")
    for shown in ("host", "password"):
        expect(dialog.locator(f'[name="{shown}"]')).to_have_count(1)
    for hidden in FIELD_BEHAVIOUR["hidden-fields"]:
        expect(dialog.locator(f'[name="{hidden}"]')).to_have_count(0)
        expect(dialog.get_by_label(hidden.capitalize(), exact=True)).to_have_count(0)
    host.fill(host_url)
    key.fill(key_value)
    shots.take("standard fields filled in")
    # The sections are an accordion: opening "Extra Fields" closes "Standard Fields".
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    timeout = EXTRA_FIELDS["read_timeout"]
    field = dialog.get_by_label(timeout["label"])
    expect(field).to_be_visible()
    expect(field).to_have_accessible_description(timeout["description"])
    field.fill(str(read_timeout))
    shots.take("extra field read timeout with its help text")


def press_test_button(page: Page, shots: Screenshots, conn_id: str, title: str, message: str) -> None:
    """Press the connection's Test button in the list; the toast has ``title`` and ``message``."""
    page.goto("/connections")
    row = page.get_by_role("row").filter(has=page.get_by_text(conn_id, exact=True))
    row.get_by_role("button", name="Test Connection").click()
    toast = page.locator('[data-scope="toast"][data-part="root"]').filter(has_text=title)
    expect(toast).to_contain_text(message)
    toast.evaluate("e => Promise.all(e.getAnimations({subtree: true}).map(a => a.finished))")  # slid in
    shots.take(f"test {conn_id}")


def react_ui_scenario(airflow_deployment: Deployment, shots: Screenshots) -> None:
    """Airflow 3's UI: the form in a dialog, the Test button in the list of connections."""
    rest, emulator_url, page = airflow_deployment.rest, airflow_deployment.emulator_url, shots.page
    emulator_port = urlsplit(emulator_url).port
    open_livepeer_form(page, shots, "livepeer_ui")
    fill_livepeer_fields(page, shots, emulator_url, API_KEY, 45)
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="livepeer_ui")).to_contain_text(emulator_url)
    shots.take("connection saved")

    # Airflow 3.3's Test button sends a connection without a port as port 0, which the API server
    # takes for another endpoint (HTTP 400, nothing tested). These connections carry their port, as
    # the URI form ``livepeer://:KEY@127.0.0.1:PORT`` stores it.
    for conn_id, host, key in [
        ("livepeer_ui_good", "http://127.0.0.1", API_KEY),
        ("livepeer_ui_wrong_key", "http://127.0.0.1", "wrong-key"),
    ]:
        rest.create_connection(conn_id, "livepeer", host, key, port=emulator_port)
    rest.create_connection("livepeer_ui_remote_http", "livepeer", REMOTE_HTTP_HOST, API_KEY, port=80)
    press_test_button(
        page, shots, "livepeer_ui_good", SUCCESS, f"Connected to Livepeer Studio at {emulator_url}/api"
    )
    press_test_button(page, shots, "livepeer_ui_wrong_key", FAILED, "401")
    press_test_button(
        page,
        shots,
        "livepeer_ui_remote_http",
        FAILED,
        f"Refusing plain http:// Livepeer API host {REMOTE_HTTP_HOST!r}",
    )


def flask_ui_scenario(airflow_deployment: Deployment, shots: Screenshots) -> None:
    """Airflow 2's UI: the form on a page of its own, with a Test button that tests what it holds."""
    emulator_url, page = airflow_deployment.emulator_url, shots.page
    relabeled, placeholders = FIELD_BEHAVIOUR["relabeling"], FIELD_BEHAVIOUR["placeholders"]
    timeout = EXTRA_FIELDS["read_timeout"]
    log_in(page)
    page.goto("/connection/add")
    page.get_by_label("Connection Id").fill("livepeer_ui")
    page.select_option("#conn_type", "livepeer")
    host, key = page.get_by_label(relabeled["host"]), page.get_by_label(relabeled["password"])
    expect(host).to_have_attribute("placeholder", placeholders["host"])
    expect(key).to_have_attribute("placeholder", placeholders["password"])
    for hidden in FIELD_BEHAVIOUR["hidden-fields"]:  # in the page, hidden by the form's script
        expect(page.locator(f'[name="{hidden}"]')).to_have_count(1)
        expect(page.locator(f'[name="{hidden}"]')).to_be_hidden()
    field = page.get_by_label(timeout["label"])
    expect(field).to_be_visible()
    expect(page.get_by_role("row").filter(has=field).locator(".help-block")).to_have_text(
        timeout["description"]
    )
    shots.take("form for type Livepeer")

    alert = page.locator(".alert").filter(has_text="Livepeer")
    for case, host_url, key_value, message in [
        ("wrong key", emulator_url, "wrong-key", "401"),
        (
            "remote http",
            REMOTE_HTTP_HOST,
            API_KEY,
            f"Refusing plain http:// Livepeer API host {REMOTE_HTTP_HOST!r}",
        ),
        ("good", emulator_url, API_KEY, f"Connected to Livepeer Studio at {emulator_url}/api"),
    ]:
        host.fill(host_url)
        key.fill(key_value)
        page.get_by_role("button", name="Test").click()
        expect(alert).to_contain_text(message)
        shots.take(f"test {case}")
    field.fill("45")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Added Row")).to_be_visible()
    page.goto("/connection/list/")
    expect(page.get_by_role("row").filter(has_text="livepeer_ui")).to_contain_text(emulator_url)
    shots.take("connection saved")


def test_livepeer_connection_form_and_test_button(
    airflow_deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = screenshot_folder("ui-connection-form", tmp_path_factory.mktemp("ui-connection-form"))
    airflow_deployment.forget_requests()
    with browser_page(airflow_deployment.base_url) as page:
        shots = Screenshots(page, folder)
        if AIRFLOW_V_3_0_PLUS:
            react_ui_scenario(airflow_deployment, shots)
        else:
            flask_ui_scenario(airflow_deployment, shots)
    stored = airflow_deployment.rest.connection("livepeer_ui")
    assert (stored["conn_type"], stored["host"]) == ("livepeer", airflow_deployment.emulator_url), stored
    # The form's other extra (verify) was left empty: a UI may store it as null or "", which means true.
    filled = {key: value for key, value in json.loads(stored["extra"]).items() if value not in (None, "")}
    assert filled == {"read_timeout": 45}, stored
    refused = [r for r in airflow_deployment.emulator_requests() if r["status"] == 401]
    assert len(refused) == 1, refused  # the wrong key's one call
    assert len(shots.taken) == (7 if AIRFLOW_V_3_0_PLUS else 5)
