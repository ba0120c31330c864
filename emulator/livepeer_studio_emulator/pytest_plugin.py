"""Pytest plugin (entry point ``pytest11``): the ``livepeer_emulator`` fixtures.

Tests ask for the fixture; nothing needs importing from this package:

.. doc-test: file: tests/test_emulator_fixture.py
.. code-block:: python

    import requests


    def test_list_tasks(livepeer_emulator):
        answer = requests.get(
            f"{livepeer_emulator.url}/api/task",
            headers={"Authorization": f"Bearer {livepeer_emulator.api_key}"},
        )
        assert answer.status_code == 200 and answer.json() == []

``livepeer_emulator`` runs a fresh emulator per test with a fast clock (``speed=1000``: a task completes
in a few tens of milliseconds) and two accounts (``api_keys[0]`` and ``api_keys[1]``). Change its options
with a marker, e.g. ``@pytest.mark.livepeer_emulator(speed=10, faults={"rates": {"503": 0.2}})``, or start
more with ``livepeer_emulator_factory(**run_emulator_options)``.

This module stays light: the emulator (FastAPI, uvicorn) is only imported when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from livepeer_studio_emulator.handle import EmulatorHandle

#: The fixture's defaults, changed per test by ``@pytest.mark.livepeer_emulator(...)``.
FIXTURE_DEFAULTS: dict[str, Any] = {
    "api_keys": ["emulator-key", "emulator-key-2"],
    "speed": 1000.0,
}


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``livepeer_emulator`` marker."""
    config.addinivalue_line(
        "markers",
        "livepeer_emulator(**options): options of run_emulator() for the livepeer_emulator fixture",
    )


@pytest.fixture
def livepeer_emulator_factory() -> Iterator[Callable[..., EmulatorHandle]]:
    """Start emulators with any :func:`run_emulator` options; all are stopped after the test."""
    from livepeer_studio_emulator import run_emulator

    with ExitStack() as stack:

        def start(**options: Any) -> EmulatorHandle:
            return stack.enter_context(run_emulator(**options))

        yield start


@pytest.fixture
def livepeer_emulator(
    request: pytest.FixtureRequest, livepeer_emulator_factory: Callable[..., EmulatorHandle]
) -> EmulatorHandle:
    """A running emulator with a fast clock, stopped after the test (see the module docs)."""
    options = dict(FIXTURE_DEFAULTS)
    marker = request.node.get_closest_marker("livepeer_emulator")
    if marker is not None:
        options.update(marker.kwargs)
    return livepeer_emulator_factory(**options)
