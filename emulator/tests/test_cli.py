"""The livepeer-emulator command (``python -m livepeer_studio_emulator``)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from livepeer_studio_emulator.accounts import DEFAULT_API_KEY, default_api_keys
from livepeer_studio_emulator.cli import build_parser, fault_config, main
from livepeer_studio_emulator.state import EmulatorState

from tests.support.emulator_api import ApiClient, recorded_playback_id
from tests.support.tasks import transcode_body


def _start(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "livepeer_studio_emulator", "--port", "0", *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            match = re.search(r"listening on (http://\S+)", line)
            if match:
                found.append(match[1])
            if found and "Accounts" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(30)
    if not found:
        process.kill()
        pytest.fail("the emulator command did not start:\n" + "".join(lines))
    return process, found[0], lines


def _stop(process: subprocess.Popen[str], sig: int = signal.SIGINT) -> int:
    process.send_signal(sig)
    try:
        return process.wait(10)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_command_serves_and_stops_on_a_signal(tmp_path: Path, sig: int) -> None:
    state_file = tmp_path / "state.json"
    process, url, lines = _start(
        "--api-key", "cli-secret-key-1234", "--api-key", "second-secret-key", "--speed", "1000",
        "--state-file", str(state_file), "--fault", "503=0", "--seed", "3",
    )  # fmt: skip
    try:
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(f"{url}/_emulator/health", timeout=5).json()["accounts"] == 2
        api = ApiClient(url, "cli-secret-key-1234")
        clip = api.post("/clip", json={"playbackId": recorded_playback_id(api), "startTime": 1})
        assert clip.status_code == 200
        assert api.wait_task(clip.json()["task"]["id"])["status"]["phase"] == "completed"
        assert ApiClient(url, "second-secret-key").get("/task").json() == []
        # Made just before the signal: the state file may not have been written since.
        stream = api.post("/stream", json={"name": "last change"}).json()
    finally:
        assert _stop(process, sig) == 0
    output = "".join(lines)
    assert "cli-secret-key-1234" not in output and "second-secret-key" not in output
    assert "cli-****" in output and "seco****" in output
    assert stream["id"] in [saved["id"] for saved in json.loads(state_file.read_text())["streams"]]


def test_list_lag_and_clock_offset_options() -> None:
    process, url, _ = _start("--api-key", "k", "--list-lag", "30", "--clock-offset", "3600")
    try:
        api = ApiClient(url, "k")
        before_ms = time.time() * 1000
        task = api.post("/transcode", json=transcode_body()).json()
        # Stamped an hour ahead; the list, served 30 s behind, does not show the new task yet.
        assert task["createdAt"] - before_ms > 3_500_000
        assert api.get(f"/task/{task['id']}").status_code == 200
        assert api.get("/task").json() == []
    finally:
        assert _stop(process) == 0


def test_command_takes_its_key_from_the_environment() -> None:
    process, url, _ = _start(env={"LIVEPEER_EMULATOR_API_KEY": "env-key-abcdef"})
    try:
        assert ApiClient(url, "env-key-abcdef").get("/task").status_code == 200
        assert ApiClient(url, DEFAULT_API_KEY).get("/task").status_code == 401
    finally:
        assert _stop(process) == 0


def test_default_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIVEPEER_EMULATOR_API_KEY", raising=False)
    assert default_api_keys() == ["emulator-key"]
    monkeypatch.setenv("LIVEPEER_EMULATOR_API_KEY", "a, b")
    assert default_api_keys() == ["a", "b"]
    state = EmulatorState()
    assert state.api_keys == ["a", "b"]
    state.close()


def test_bad_options_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--fault", "teapot=0.5"], ["--fault", "503"], ["--fault-rate", "2"], ["--speed", "0"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2, argv
    assert "--fault expects KIND=P" in capsys.readouterr().err


def test_port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--port", str(taken.getsockname()[1]), "--log-level", "error"]) == 1


def test_fault_options() -> None:
    args = build_parser().parse_args(
        [
            "--fault-rate",
            "0.4",
            "--fault",
            "drop=0.1",
            "--retry-after",
            "9",
            "--latency-ms",
            "5",
            "--seed",
            "1",
        ]
    )
    config = fault_config(args)
    assert config.rates == {"500": 0.1, "502": 0.1, "503": 0.1, "429": 0.1, "drop": 0.1}
    assert (config.retry_after, config.latency_ms, config.seed) == (9, 5, 1)


def test_help_is_fast_and_light() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "livepeer_studio_emulator", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--api-key" in result.stdout and "--state-file" in result.stdout
    assert time.monotonic() - started < 15


def test_a_missing_requirement_is_one_line_with_the_install_command_and_exit_2() -> None:
    # PyAV made unimportable, as in an install that skipped it: the command must not start.
    code = (
        "import sys; sys.modules['av'] = None; "
        "from livepeer_studio_emulator.__main__ import main; sys.exit(main())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "--port", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "livepeer-emulator: The Livepeer emulator needs av (PyAV), which this Python cannot import: "
        "run `pip install livepeer-studio-emulator`."
    )
    assert done.stdout == ""


def test_run_emulator_refuses_to_start_without_its_requirements() -> None:
    code = "import sys; sys.modules['uvicorn'] = None\nfrom livepeer_studio_emulator import run_emulator\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "livepeer_studio_emulator.requirements.MissingRequirement: The Livepeer emulator needs uvicorn, "
        "which this Python cannot import: run `pip install livepeer-studio-emulator`."
    )
