"""The pytest plugin's fixtures, the handle's helpers, and the package's independence from Airflow."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests
from livepeer_studio_emulator import run_emulator

from tests.support.emulator_api import ApiClient, recorded_playback_id


def test_fixture_gives_a_fast_running_emulator(livepeer_emulator: Any) -> None:
    assert livepeer_emulator.running
    assert livepeer_emulator.url.startswith("http://127.0.0.1:")
    assert not livepeer_emulator.url.endswith("/")
    assert livepeer_emulator.api_url == f"{livepeer_emulator.url}/api"
    assert livepeer_emulator.api_key == livepeer_emulator.api_keys[0]
    assert len(livepeer_emulator.api_keys) == 2
    api = ApiClient(livepeer_emulator.url, livepeer_emulator.api_key)
    clip_of = {"playbackId": recorded_playback_id(api), "startTime": 1}
    task_id = api.post("/clip", json=clip_of).json()["task"]["id"]
    assert livepeer_emulator.state.speed == 1000  # phases of milliseconds, not seconds
    assert api.wait_task(task_id, timeout=30)["status"]["phase"] == "completed"
    assert livepeer_emulator.task(task_id)["status"]["phase"] == "completed"


@pytest.mark.livepeer_emulator(speed=2, api_keys=["marker-key"])
def test_marker_sets_fixture_options(livepeer_emulator: Any) -> None:
    assert livepeer_emulator.api_keys == ["marker-key"]
    assert livepeer_emulator.state.speed == 2


def test_factory_starts_independent_emulators(livepeer_emulator_factory: Any) -> None:
    one, two = livepeer_emulator_factory(api_keys=["k"]), livepeer_emulator_factory(api_keys=["k"])
    assert one.url != two.url
    ApiClient(one.url, "k").post(
        "/clip", json={"playbackId": recorded_playback_id(ApiClient(one.url, "k")), "startTime": 1}
    )
    assert len(ApiClient(one.url, "k").get("/task").json()) == 1
    assert ApiClient(two.url, "k").get("/task").json() == []


def test_run_emulator_stops_on_exit() -> None:
    with run_emulator("solo-key") as emulator:
        url = emulator.url
        assert requests.get(f"{url}/_emulator/health", timeout=5).status_code == 200
    assert not emulator.running
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/_emulator/health", timeout=2)


def test_airflow_connection_forms(livepeer_emulator: Any) -> None:
    key = livepeer_emulator.api_key
    assert json.loads(livepeer_emulator.airflow_conn_json()) == {
        "conn_type": "livepeer",
        "host": livepeer_emulator.url,
        "password": key,
    }
    assert json.loads(livepeer_emulator.airflow_conn_json("emulator-key-2"))["password"] == "emulator-key-2"
    assert livepeer_emulator.airflow_env("my_conn") == {
        "AIRFLOW_CONN_MY_CONN": livepeer_emulator.airflow_conn_json()
    }


def _modules_after(statement: str) -> dict[str, bool]:
    modules = "('fastapi', 'uvicorn', 'airflow')"
    code = f"{statement}; import sys, json; print(json.dumps({{m: m in sys.modules for m in {modules}}}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_plugin_import_is_light() -> None:
    assert _modules_after("import livepeer_studio_emulator.pytest_plugin") == {
        "fastapi": False,
        "uvicorn": False,
        "airflow": False,
    }


def test_emulator_never_imports_airflow() -> None:
    loaded = _modules_after(
        "from livepeer_studio_emulator import run_emulator, create_app, EmulatorState; "
        "import livepeer_studio_emulator.cli"
    )
    assert loaded == {"fastapi": True, "uvicorn": True, "airflow": False}
