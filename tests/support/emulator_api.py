"""The emulator's API as the tests use it: a client that checks every body against Livepeer's OpenAPI
document, streams with recordings, and sample media.

Every JSON body the emulator returns through :class:`ApiClient` is validated (``tests/support/schema.py``),
so no test can forget to.
"""

from __future__ import annotations

import asyncio
import functools
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from livepeer_studio_emulator.samples import make_sample_video

from tests.support.schema import assert_response_valid, assert_valid

TERMINAL = ("completed", "failed", "cancelled")

# OpenAPI path templates of the emulated operations; None: not in the document (export answers {task});
# "#name": a body of the document's schema "name", for an answer whose status the document does not list.
_OPERATIONS: list[tuple[str, re.Pattern[str], str | None]] = [
    ("GET", re.compile(r"^/task$"), "/task"),
    ("GET", re.compile(r"^/task/[^/]+$"), "/task/{taskId}"),
    ("GET", re.compile(r"^/asset$"), "/asset"),
    ("GET", re.compile(r"^/asset/[^/]+$"), "/asset/{assetId}"),
    ("DELETE", re.compile(r"^/asset/[^/]+$"), "/asset/{assetId}"),
    ("POST", re.compile(r"^/asset/upload/url$"), "/asset/upload/url"),
    ("POST", re.compile(r"^/asset/request-upload$"), "/asset/request-upload"),
    ("POST", re.compile(r"^/asset/[^/]+/export$"), None),
    ("POST", re.compile(r"^/clip$"), "/clip"),
    ("POST", re.compile(r"^/transcode$"), "/transcode"),
    ("POST", re.compile(r"^/stream$"), "/stream"),
    ("GET", re.compile(r"^/stream$"), "/stream"),
    ("GET", re.compile(r"^/stream/[^/]+$"), "/stream/{id}"),
    ("GET", re.compile(r"^/webhook$"), "/webhook"),
    ("GET", re.compile(r"^/webhook/[^/]+$"), "/webhook/{id}"),
    # Livepeer's create answers 201, which the document does not list (it says 200): the webhook schema.
    ("POST", re.compile(r"^/webhook$"), "#webhook"),
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
            elif template.startswith("#"):
                assert_valid(body, template[1:])
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


def recorded_stream(emulator: Any, recording_url: str, api_key: str | None = None) -> str:
    """Make a stream in ``emulator`` (``POST /api/stream``) with a recording session of ``recording_url``
    (a real media file); returns its playback id, which can be clipped."""
    headers = {"Authorization": f"Bearer {api_key or emulator.api_key}"}
    response = requests.post(
        f"{emulator.api_url}/stream", json={"name": "live", "record": True}, headers=headers, timeout=10
    )
    response.raise_for_status()
    stream = response.json()
    emulator.add_recording_session(stream["id"], recording_url)
    return str(stream["playbackId"])


def stalled_and_failed_imports(emulator: Any, source_url: str, error_message: str) -> dict[str, str]:
    """Import ``source_url`` twice through the default connection: one import ``emulator`` never finishes,
    one it fails with ``error_message``; returns their ids as the run conf of the
    ``livepeer_sensor_failures`` DAG (``stalled_task_id``, ``failed_task_id``)."""
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    stalled_url, failed_url = f"{source_url}?stall", f"{source_url}?fail"
    emulator.script_outcome(stalled_url, "stall")
    emulator.script_outcome(failed_url, "fail", error_message=error_message)
    hook = LivepeerHook()
    return {
        "stalled_task_id": hook.import_asset(stalled_url, "stalled").task.id,
        "failed_task_id": hook.import_asset(failed_url, "failed").task.id,
    }


async def answered(emulator: Any, count: int, path: str = "/api/task", limit: float = 30) -> None:
    """Wait, in the event loop, until ``emulator`` has answered ``count`` GET requests of ``path`` (a
    prefix with ``*``, as :meth:`request_count` takes it) since its last reset."""
    deadline = time.monotonic() + limit
    while emulator.request_count("GET", path) < count:
        assert time.monotonic() < deadline, f"fewer than {count} GET {path} in {limit} s"
        await asyncio.sleep(0.01)


def list_requests(emulator: Any) -> int:
    """How many list requests (``GET /api/task``) ``emulator`` has answered since its last reset."""
    return int(emulator.request_count("GET", "/api/task"))


def release_after_first_read(emulator: Any, media: Any, paths: list[str]) -> threading.Thread:
    """Release ``media``'s held ``paths`` in turn, each once ``emulator`` has answered a read of the task
    importing it (``GET /api/task/{id}``): until then that import cannot finish, so the reader found it
    unfinished, however fast or slow the machine. Runs in a daemon thread, which it returns."""
    from tests.support.servers import HOLD_LIMIT

    def read_of_import(url: str, deadline: float) -> bool:
        looked = 0  # the requests already looked at: each is looked at once
        while time.monotonic() < deadline:
            records = emulator.requests
            if len(records) < looked:  # the log was reset: look at all of it again
                looked = 0
            for record in records[looked:]:
                if record.matches("GET", "/api/task/*", 200):
                    task = emulator.task(record.path.removeprefix("/api/task/"))
                    if task["params"].get("upload", {}).get("url") == url:
                        return True
            looked = len(records)
            time.sleep(0.02)
        return False

    def release_in_turn() -> None:
        deadline = time.monotonic() + HOLD_LIMIT
        for path in paths:
            if read_of_import(media.url + path, deadline):
                media.hold(path).set()

    thread = threading.Thread(target=release_in_turn, daemon=True)
    thread.start()
    return thread
