"""Fixtures for the emulator's tests: API clients that schema-check every body, and a media server."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.emulator_api import ApiClient
from tests.support.servers import MediaServer, serve_media

# The plugin is auto-loaded through its pytest11 entry point once the package is (re)installed; until
# then its fixtures are imported here so these tests run either way.
if not any(ep.name == "livepeer_emulator" for ep in importlib.metadata.entry_points(group="pytest11")):
    from airflow_provider_livepeer.emulator.pytest_plugin import (  # noqa: F401
        livepeer_emulator,
        livepeer_emulator_factory,
    )

    def pytest_configure(config: pytest.Config) -> None:
        config.addinivalue_line("markers", "livepeer_emulator(**options): run_emulator() options")


@pytest.fixture
def api(livepeer_emulator: Any) -> ApiClient:
    """A client of the fixture emulator's main account."""
    return ApiClient(livepeer_emulator.url, livepeer_emulator.api_keys[0])


@pytest.fixture
def other_api(livepeer_emulator: Any) -> ApiClient:
    """A client of the fixture emulator's second account."""
    return ApiClient(livepeer_emulator.url, livepeer_emulator.api_keys[1])


@pytest.fixture
def media_host() -> Iterator[MediaServer]:
    """A :class:`MediaServer` on 127.0.0.1 (answers released by default); not the session's
    ``media_server`` fixture, which is the URL of a folder of sample files."""
    with serve_media() as server:
        yield server
