"""The receiver plugin on every Airflow: served from 3.1 on, one log line before."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_livepeer import get_provider_info
from airflow_provider_livepeer.plugins.livepeer import LivepeerWebhookPlugin
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_1_PLUS


def test_the_provider_info_registers_the_plugin() -> None:
    assert get_provider_info()["plugins"] == [
        {
            "name": "livepeer_webhooks",
            "plugin-class": "airflow_provider_livepeer.plugins.livepeer.LivepeerWebhookPlugin",
        }
    ]


def test_the_plugin_mounts_the_receiver_from_31_and_says_in_one_line_why_not_before(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        LivepeerWebhookPlugin.on_load()
    lines = [r.getMessage() for r in caplog.records if "Livepeer webhooks" in r.getMessage()]
    if AIRFLOW_V_3_1_PLUS:
        assert [app["url_prefix"] for app in LivepeerWebhookPlugin.fastapi_apps] == ["/livepeer"]
        assert lines == []
    else:
        assert LivepeerWebhookPlugin.fastapi_apps == []
        [line] = lines
        assert "needs Airflow 3.1 or newer" in line and "not received" in line
