"""The browser scenarios of the deployment's UI: which UIs they follow, their marks, Airflow 2's sign-in.

The browser itself (Debian's ``chromium`` driven by Playwright) and the screenshots are
:mod:`tests.support.browser`'s, shared with the documentation site's browser test.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_3_PLUS
from tests.support.browser import UI_TIMEOUT_MS

#: The marks of every browser scenario's module.
BROWSER_SCENARIO = [pytest.mark.deployment, pytest.mark.timeout(900)]
#: The scenarios follow two UIs: the Flask UI of Airflow 2 and the React UI of Airflow 3.3, the newest.
FOLLOWED_UI = AIRFLOW_V_3_3_PLUS or not AIRFLOW_V_3_0_PLUS
SKIP_OTHER_UIS = pytest.mark.skipif(
    not FOLLOWED_UI,
    reason="the browser scenarios follow the React UI of Airflow 3.3 (and the Flask UI of Airflow 2); "
    "the React UI of 3.0 to 3.2 differs in its pages",
)
expect.set_options(timeout=UI_TIMEOUT_MS)


def log_in(page: Page) -> None:
    """Sign in to Airflow 2's Flask UI as the deployment's admin (Airflow 3 signs every visitor in)."""
    page.goto("/login/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("admin")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("link", name="DAGs", exact=True)).to_be_visible()
