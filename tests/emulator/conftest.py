"""Fixtures for the emulator's tests: an API client that schema-checks every body, and a media server.

Every JSON body the emulator returns through :class:`ApiClient` is validated against Livepeer's OpenAPI
document (``tests/_schema.py``), so no test can forget to.
"""

from __future__ import annotations

import functools
import http.server
import importlib.metadata
import json
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_livepeer.emulator.samples import make_sample_video
from tests._schema import assert_response_valid, assert_valid

# The plugin is auto-loaded through its pytest11 entry point once the package is (re)installed; until
# then its fixtures are imported here so these tests run either way.
if not any(ep.name == "livepeer_emulator" for ep in importlib.metadata.entry_points(group="pytest11")):
    from airflow_provider_livepeer.emulator.pytest_plugin import (  # noqa: F401
        livepeer_emulator,
        livepeer_emulator_factory,
    )

    def pytest_configure(config: pytest.Config) -> None:
        config.addinivalue_line("markers", "livepeer_emulator(**options): run_emulator() options")


TERMINAL = ("completed", "failed", "cancelled")

# OpenAPI path templates of the emulated operations; None: not in the document (export answers {task}).
_OPERATIONS: list[tuple[str, re.Pattern[str], str | None]] = [
    ("GET", re.compile(r"^/task$"), "/task"),
    ("GET", re.compile(r"^/task/[^/]+$"), "/task/{taskId}"),
    ("GET", re.compile(r"^/asset$"), "/asset"),
    ("GET", re.compile(r"^/asset/[^/]+$"), "/asset/{assetId}"),
    ("DELETE", re.compile(r"^/asset/[^/]+$"), "/asset/{assetId}"),
    ("POST", re.compile(r"^/asset/upload/url$"), "/asset/upload/url"),
    ("POST", re.compile(r"^/asset/[^/]+/export$"), None),
    ("POST", re.compile(r"^/clip$"), "/clip"),
    ("POST", re.compile(r"^/transcode$"), "/transcode"),
    ("POST", re.compile(r"^/stream$"), "/stream"),
    ("GET", re.compile(r"^/stream$"), "/stream"),
    ("GET", re.compile(r"^/stream/[^/]+$"), "/stream/{id}"),
]


def check_body(method: str, path: str, response: requests.Response) -> Any:
    """Validate a response body of ``method /api<path>`` against the OpenAPI document; returns the JSON."""
    if response.status_code == 204:
        assert response.content == b"", "a 204 answer must have no body"
        return None
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None  # an injected HTML error page
    body = response.json()
    if response.status_code >= 400:
        assert_valid(body, "error")
        return body
    for op_method, pattern, template in _OPERATIONS:
        if op_method == method and pattern.match(path):
            if template is None:
                assert set(body) == {"task"}, f"export answers {{task}}, not {sorted(body)}"
                assert_valid(body["task"], "task")
            else:
                assert_response_valid(body, method, template, response.status_code)
            return body
    raise AssertionError(f"no OpenAPI operation known for {method} {path}")


class ApiClient:
    """``requests`` against the emulator's ``/api`` with one account's key; checks every JSON body."""

    def __init__(self, base_url: str, api_key: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.trust_env = False
        if api_key is not None:
            self.session.headers["Authorization"] = f"Bearer {api_key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        response = self.session.request(method, f"{self.base_url}/api{path}", **kwargs)
        check_body(method, path, response)
        return response

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def task(self, task_id: str) -> dict[str, Any]:
        response = self.get(f"/task/{task_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def wait_task(
        self, task_id: str, phases: tuple[str, ...] = TERMINAL, timeout: float = 10
    ) -> dict[str, Any]:
        """Poll until the task is in one of ``phases``."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.task(task_id)
            if task["status"]["phase"] in phases:
                return task
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {task['status']} after {timeout} s")
            time.sleep(0.005)

    def import_url(self, url: str, name: str = "video", **headers: str) -> tuple[dict[str, Any], str]:
        """Start an import; returns (asset, task id)."""
        response = self.post("/asset/upload/url", json={"name": name, "url": url}, headers=headers)
        assert response.status_code == 201, response.text
        body = response.json()
        return body["asset"], body["task"]["id"]


@pytest.fixture
def api(livepeer_emulator: Any) -> ApiClient:
    """A client of the fixture emulator's main account."""
    return ApiClient(livepeer_emulator.url, livepeer_emulator.api_keys[0])


@pytest.fixture
def other_api(livepeer_emulator: Any) -> ApiClient:
    """A client of the fixture emulator's second account."""
    return ApiClient(livepeer_emulator.url, livepeer_emulator.api_keys[1])


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class MediaServer:
    """A loopback HTTP server: serves registered files, records uploads, can hold answers or fail."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    gets: int = 0

    def add(self, path: str, content: bytes) -> str:
        self.files[path] = content
        return self.url + path


def _handler(server: MediaServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            server.gets += 1
            if self.path in server.redirects:
                self.send_response(302)
                self.send_header("Location", server.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            if self.path in server.statuses:
                return self._answer(server.statuses[self.path], b"nope")
            if self.path not in server.files:
                return self._answer(404, b"not here")
            server.release.wait(10)
            self._answer(200, server.files[self.path])

        def _upload(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            server.received.append(Received(self.command, self.path, dict(self.headers), body))
            self._answer(server.statuses.get(self.path, 200))

        do_PUT = do_POST = _upload

    return Handler


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    """A :class:`MediaServer` on 127.0.0.1 (answers released by default)."""
    server = MediaServer()
    server.release.set()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def sample_bytes(size: int = 200_000, seed: int = 7) -> bytes:
    """Deterministic, incompressible-looking bytes (not media: an import of them fails)."""
    import random

    return random.Random(seed).randbytes(size)


@functools.cache
def video_bytes(seconds: float = 1.0, width: int = 160, height: int = 128) -> bytes:
    """A real H.264/AAC MP4 (made once per shape with PyAV), for imports that must succeed."""
    with tempfile.TemporaryDirectory() as folder:
        path = make_sample_video(Path(folder) / "v.mp4", seconds=seconds, width=width, height=height)
        return path.read_bytes()


def new_stream(api: ApiClient, recording: str | None = None, name: str = "live") -> dict[str, Any]:
    """Create a stream through ``POST /api/stream``; with ``recording`` (a media file's URL) also give it a
    recording session through the admin API (its id is added to the answer as ``sessionId``)."""
    response = api.post("/stream", json={"name": name, "record": True})
    assert response.status_code == 201, response.text
    stream: dict[str, Any] = response.json()
    if recording is not None:
        admin = f"{api.base_url}/_emulator/streams/{stream['id']}/sessions"
        session = requests.post(admin, json={"recordingUrl": recording}, timeout=10)
        assert session.status_code == 201, session.text
        stream["sessionId"] = session.json()["id"]
    return stream


@functools.cache
def video_file() -> str:
    """The ``file://`` URL of a real one-second video (made once), e.g. a stream's recording."""
    path = Path(tempfile.mkdtemp(prefix="livepeer-test-video-")) / "recording.mp4"
    path.write_bytes(video_bytes())
    return path.as_uri()


def recorded_playback_id(api: ApiClient) -> str:
    """The playback id of a new stream of ``api``'s account with a recording session: clips of it work."""
    return str(new_stream(api, video_file())["playbackId"])


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.005)


def dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True)
