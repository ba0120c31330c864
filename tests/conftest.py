"""Test-wide set-up: a throwaway AIRFLOW_HOME, and connections pointing at local servers."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

# Airflow reads its home and config when first imported, so this runs before any test module imports it.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="livepeer-test-airflow-home-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
if version("apache-airflow").startswith("2."):
    # Airflow 2 defaults to the LocalExecutor, which refuses the tests' SQLite database.
    os.environ["AIRFLOW__CORE__EXECUTOR"] = "SequentialExecutor"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
#: The DAG folders ``dag.test()`` syncs from: the test DAGs and the example DAGs users copy.
DAG_FOLDERS = {"tests": PROJECT_ROOT / "tests" / "system" / "dags", "examples": PROJECT_ROOT / "example_dags"}
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAG_FOLDERS["tests"])
os.environ["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
    [
        {
            "name": name,
            "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
            "kwargs": {"path": str(path), "refresh_interval": 0},
        }
        for name, path in DAG_FOLDERS.items()
    ]
)

DEPLOYMENT_TESTS = PROJECT_ROOT / "tests" / "deployment"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the deployment tests out unless their folder (or a file in it) is named on the command line.

    They start a whole Airflow deployment for minutes: ``python3 dev.py deployment`` runs them.
    """
    if collection_path != DEPLOYMENT_TESTS:
        return None
    named = (Path(arg.split("::")[0]).resolve() for arg in config.args)
    return not any(path == DEPLOYMENT_TESTS or DEPLOYMENT_TESTS in path.parents for path in named)


#: A key that is easy to find if it leaks anywhere.
LEAKY_KEY = "lp-secret-key-DO-NOT-LEAK-7f3a9c"


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


def shared_file(*parts: str) -> Path:
    """A file of ../shared, or skip the test with the reason when that folder is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared Livepeer reference data is not beside the project")
    return path


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a real two-second H.264/AAC MP4, ``sample.mp4`` (made with PyAV)."""
    from airflow_provider_livepeer.emulator.samples import make_sample_video

    folder = tmp_path_factory.mktemp("media")
    make_sample_video(folder / "sample.mp4", seconds=2.0, width=320, height=240)
    return folder


@pytest.fixture(scope="session")
def media_server(media_dir: Path) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 serving :func:`media_dir`; yields its base URL."""
    import functools
    import http.server
    import threading

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(QuietHandler, directory=str(media_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join(5)


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


def recorded_stream(emulator: Any, recording_url: str, api_key: str | None = None) -> str:
    """Make a stream in ``emulator`` (``POST /api/stream``) with a recording session of ``recording_url``
    (a real media file); returns its playback id, which can be clipped."""
    import requests

    headers = {"Authorization": f"Bearer {api_key or emulator.api_key}"}
    response = requests.post(
        f"{emulator.api_url}/stream", json={"name": "live", "record": True}, headers=headers, timeout=10
    )
    response.raise_for_status()
    stream = response.json()
    emulator.add_recording_session(stream["id"], recording_url)
    return str(stream["playbackId"])


@pytest.fixture
def stream_playback_id(livepeer_emulator: Any, sample_video_url: str) -> str:
    """The playback id of a stream of the test emulator's main account, recorded as the sample video."""
    return recorded_stream(livepeer_emulator, sample_video_url)
