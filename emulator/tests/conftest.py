"""Fixtures for the emulator's tests: API clients that schema-check every body, and a media server.

The ``livepeer_emulator`` fixtures come from the emulator's own pytest plugin (its ``pytest11`` entry point).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.emulator_api import ApiClient
from tests.support.servers import MediaServer, serve_media


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
    """A :class:`MediaServer` on 127.0.0.1 (answers released by default)."""
    with serve_media() as server:
        yield server
