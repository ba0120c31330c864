"""The fixtures every test folder may use; ``tests/conftest.py`` loads this module as a plugin.

Connections point at servers on 127.0.0.1 (the emulator of the ``livepeer_emulator`` fixture, a
``pytest-httpserver``, a real media server); ``airflow_db`` and ``load_dag`` give real Airflow.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.airflow import as_the_dag_processor_leaves_it
from tests.support.emulator_api import recorded_stream
from tests.support.project import DAG_FOLDERS, LEAKY_KEY
from tests.support.servers import folder_server

if TYPE_CHECKING:
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook


@pytest.fixture
def livepeer_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Define a ``livepeer`` connection through the environment; returns its conn id."""

    def define(
        host: str, api_key: str | None = LEAKY_KEY, conn_id: str = "livepeer_test", **extra: object
    ) -> str:
        conn: dict[str, object] = {"conn_type": "livepeer", "host": host}
        if api_key is not None:
            conn["password"] = api_key
        if extra:
            conn["extra"] = extra
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return define


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a real two-second H.264/AAC MP4, ``sample.mp4`` (made with PyAV)."""
    from livepeer_studio_emulator.samples import make_sample_video

    folder = tmp_path_factory.mktemp("media")
    make_sample_video(folder / "sample.mp4", seconds=2.0, width=320, height=240)
    return folder


@pytest.fixture(scope="session")
def media_server(media_dir: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving :func:`media_dir`; yields its base URL."""
    with folder_server(media_dir) as server:
        yield server.url


@pytest.fixture
def sample_video_url(media_server: str) -> str:
    """The URL of the sample video, for imports into the emulator."""
    return f"{media_server}/sample.mp4"


@pytest.fixture
def emulator_conn(livepeer_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the ``livepeer_default`` connection at the test's emulator; returns the conn id."""
    for name, value in livepeer_emulator.airflow_env("livepeer_default").items():
        monkeypatch.setenv(name, value)
    return "livepeer_default"


@pytest.fixture
def clocked_emulator(livepeer_emulator_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Start an emulator whose tasks move only when the test advances its clock
    (``emulator.state.clock.advance(seconds)``), as the ``livepeer_default`` connection: what a test sees of
    a task's phases does not hang on the machine's speed.

    Call it with :func:`~livepeer_studio_emulator.run_emulator`'s options (``durations=...``).
    """

    def start(**options: Any) -> Any:
        from livepeer_studio_emulator.clock import ManualClock

        emulator = livepeer_emulator_factory(clock=ManualClock(), **options)
        for name, value in emulator.airflow_env().items():
            monkeypatch.setenv(name, value)
        return emulator

    return start


@pytest.fixture
def emulator_hook(emulator_conn: str) -> Iterator[LivepeerHook]:
    """A hook of the ``livepeer_default`` connection, which points at the test's emulator; closed after
    the test."""
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    with LivepeerHook(emulator_conn) as hook:
        yield hook


@pytest.fixture
def stream_playback_id(livepeer_emulator: Any, sample_video_url: str) -> str:
    """The playback id of a stream of the test emulator's main account, recorded as the sample video."""
    return recorded_stream(livepeer_emulator, sample_video_url)


@pytest.fixture(scope="session")
def airflow_db() -> None:
    """Run ``airflow db migrate`` once per test session."""
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run(
        [str(airflow), "db", "migrate"], check=True, capture_output=True, env=dict(os.environ), timeout=600
    )


@pytest.fixture
def load_dag(airflow_db: None) -> Callable[[str, str], Any]:
    """Import a DAG file of one of the DAG folders and return the named DAG."""

    def load(folder: str, dag_id: str) -> Any:
        path = DAG_FOLDERS[folder] / f"{dag_id}.py"
        spec = importlib.util.spec_from_file_location(f"livepeer_test_dag_{dag_id}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return as_the_dag_processor_leaves_it(module.dag)

    return load
