"""Bad input, matrix style: ids, responses, connection settings and operator arguments.

* Invalid ids raise ``ValueError`` naming the value, through every entry point, and send nothing.
* Malformed responses (from a purpose-built loopback server) raise the right exception class with a
  clear, bounded message; an unknown phase is not an error but "not done".
* Bad connection settings give a clear error naming the setting, and nothing is sent anywhere.
* Bad operator arguments raise ``ValueError`` naming the value, and nothing is sent.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.exceptions import (
    LivepeerBadResponseError,
    LivepeerError,
    LivepeerNotFoundError,
    LivepeerServerError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.operators.livepeer import (
    LivepeerClipOperator,
    LivepeerDeleteAssetOperator,
    LivepeerExportAssetOperator,
    LivepeerImportAssetOperator,
    LivepeerTranscodeOperator,
)
from airflow_provider_livepeer.sensors.livepeer import LivepeerTaskSensor
from airflow_provider_livepeer.triggers.livepeer import LivepeerTaskTrigger
from airflow_provider_livepeer.waiting import wait_for_task
from tests.support.running import context, fast_hook, trigger_events
from tests.support.tasks import task_json

#: The most characters an error message may have, whatever the server sent.
MAX_MESSAGE_CHARS = 2000
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


# ----------------------------------------------------------------------------------------------- helpers

_network: list[tuple[str, object]] = []
_watching = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _watching and event in ("socket.getaddrinfo", "socket.connect"):
        target = args[0] if event == "socket.getaddrinfo" else args[1]
        host = target[0] if isinstance(target, tuple) else target
        if isinstance(host, bytes):
            host = host.decode()
        if str(host) not in LOOPBACK:
            _network.append((event, target))


sys.addaudithook(_audit)


@contextmanager
def no_network() -> Iterator[None]:
    """Fail if the block resolves or connects to anything but loopback (Python's socket audit events)."""
    global _watching
    _network.clear()
    _watching = True
    try:
        yield
    finally:
        _watching = False
    assert _network == [], f"reached for the network: {_network}"


def message_of(call: Callable[[], Any]) -> tuple[type[BaseException], str]:
    try:
        call()
    except Exception as err:
        return type(err), str(err)
    raise AssertionError("no error raised")


def first_event(trigger: LivepeerTaskTrigger, limit: float = 10) -> dict[str, Any]:
    [event] = asyncio.run(trigger_events(trigger, limit))
    return event


# ------------------------------------------------------------------------------------------- invalid ids

BAD_IDS: list[Any] = [
    "",
    None,
    "../x",
    "a/b",
    "?",
    "#",
    " ",
    "abc ",
    "tab\there",
    "line\nbreak",
    "x" * 10240,
    42,
    3.5,
    ["abc"],
    "%2e%2e",
    "ab\x00c",
]


def id_entry_points(value: Any) -> dict[str, Callable[[], Any]]:
    async def aget() -> Any:
        hook = fast_hook()
        try:
            return await hook.aget_task(value)
        finally:
            await hook.aclose()

    return {
        "hook.get_task": lambda: fast_hook().get_task(value),
        "hook.aget_task": lambda: asyncio.run(aget()),
        "hook.get_asset": lambda: fast_hook().get_asset(value),
        "hook.delete_asset": lambda: fast_hook().delete_asset(value),
        "hook.export_asset": lambda: fast_hook().export_asset(value, ipfs=True),
        "hook.create_clip": lambda: fast_hook().create_clip(value, 1_000),
        "sensor.poke": lambda: LivepeerTaskSensor(task_id="w", livepeer_task_id=value).poke(context()),
        "sensor.execute(deferrable)": lambda: LivepeerTaskSensor(
            task_id="w", livepeer_task_id=value, deferrable=True
        ).execute(context()),
        "export operator": lambda: LivepeerExportAssetOperator(
            task_id="e", asset_id=value, ipfs=True
        ).execute(context()),
        "clip operator": lambda: LivepeerClipOperator(
            task_id="c", playback_id=value, start_time=1_000
        ).execute(context()),
        "delete operator": lambda: LivepeerDeleteAssetOperator(task_id="d", asset_id=value).execute(
            context()
        ),
    }


@pytest.mark.parametrize("value", BAD_IDS, ids=lambda v: repr(v)[:20])
def test_invalid_id_is_refused_everywhere_before_any_request(
    livepeer_emulator: Any, emulator_conn: str, value: Any
) -> None:
    shown = repr(value)[:50]
    wrong = []
    with no_network():
        for name, call in id_entry_points(value).items():
            error_class, message = message_of(call)
            if error_class is not ValueError or "Invalid Livepeer" not in message or shown not in message:
                wrong.append(f"{name}: {error_class.__name__}: {message[:200]}")
            elif len(message) > 300:
                wrong.append(f"{name}: a {len(message)}-character message")
        for shared_polling in (True, False):
            trigger = LivepeerTaskTrigger(value, poll_interval=0.05, shared_polling=shared_polling)
            event = first_event(trigger)
            if event["status"] != "error" or shown not in event["message"]:
                wrong.append(f"trigger(shared_polling={shared_polling}): {event}")
    assert wrong == []
    assert livepeer_emulator.request_count() == 0


# ----------------------------------------------------------------------------------- malformed responses


HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
HUGE = 5_000_000

MALFORMED: list[tuple[str, int, bytes, str, type[Exception], list[str]]] = [
    (
        "truncated JSON",
        200,
        b'{"id": "t1", "status": {"pha',
        "application/json",
        LivepeerBadResponseError,
        ["not JSON"],
    ),
    ("empty body", 200, b"", "application/json", LivepeerBadResponseError, ["not a Task"]),
    ("JSON null", 200, b"null", "application/json", LivepeerBadResponseError, ["not a Task"]),
    ("JSON array", 200, b'[{"id": "t1"}]', "application/json", LivepeerBadResponseError, ["not a Task"]),
    ("JSON string", 200, b'"completed"', "application/json", LivepeerBadResponseError, ["not a Task"]),
    (
        "task without status",
        200,
        json.dumps({"id": "t1", "type": "upload"}).encode(),
        "application/json",
        LivepeerBadResponseError,
        ["status: Field required"],
    ),
    (
        "status is a string",
        200,
        json.dumps({"id": "t1", "status": "completed"}).encode(),
        "application/json",
        LivepeerBadResponseError,
        ["status"],
    ),
    (
        "task without id",
        200,
        json.dumps({"status": {"phase": "completed"}}).encode(),
        "application/json",
        LivepeerBadResponseError,
        ["id: Field required"],
    ),
    ("invalid UTF-8", 200, b'{"id": "\xff\xfe"}', "application/json", LivepeerBadResponseError, ["not JSON"]),
    ("HTML with 200", 200, HTML_502, "text/html", LivepeerBadResponseError, ["not JSON", "[text/html]"]),
    (
        "huge non-JSON body",
        200,
        b"<" * HUGE,
        "text/plain",
        LivepeerBadResponseError,
        ["not JSON", f"({HUGE} bytes)"],
    ),
    (
        "404 with an HTML page",
        404,
        b"<html><body>Not Found</body></html>",
        "text/html",
        LivepeerNotFoundError,
        ["HTTP 404", "Not Found", "[text/html]"],
    ),
    (
        "404 with a huge error message",
        404,
        json.dumps({"errors": ["task not found " + "x" * 1_000_000]}).encode(),
        "application/json",
        LivepeerNotFoundError,
        ["HTTP 404", "task not found"],
    ),
    (
        "404 with a huge errors list",
        404,
        json.dumps({"errors": [f"problem {i}" for i in range(100_000)]}).encode(),
        "application/json",
        LivepeerNotFoundError,
        ["HTTP 404", "problem 0"],
    ),
]


@pytest.fixture
def server_conn(httpserver: HTTPServer, livepeer_connection: Callable[..., str]) -> str:
    return livepeer_connection(httpserver.url_for("/").rstrip("/"), conn_id="malformed")


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error_class", "expected"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_answer_is_a_clear_permanent_error(
    httpserver: HTTPServer,
    server_conn: str,
    status: int,
    body: bytes,
    content_type: str,
    error_class: type[Exception],
    expected: list[str],
) -> None:
    httpserver.expect_request("/api/task/t1").respond_with_data(
        body, status=status, content_type=content_type
    )
    messages = []
    # The hook, a poke, a whole in-process wait and a trigger of each kind: one request each.
    for call in (
        lambda: fast_hook(server_conn).get_task("t1"),
        lambda: wait_for_task(
            fast_hook(server_conn), "t1", poll_interval=0.01, timeout=5, log=LivepeerHook().log
        ),
    ):
        with pytest.raises(error_class) as err:
            call()
        messages.append(str(err.value))
    # No grace: a 404 is final at once (the grace is tested in test_server_fidelity.py).
    sensor = LivepeerTaskSensor(
        task_id="w", livepeer_task_id="t1", livepeer_conn_id=server_conn, not_found_grace=0
    )
    sensor.hook = fast_hook(server_conn)
    with pytest.raises(error_class) as err:
        sensor.poke(context())
    messages.append(str(err.value))
    for shared_polling in (True, False):
        trigger = LivepeerTaskTrigger("t1", server_conn, poll_interval=0.05, shared_polling=shared_polling)
        event = first_event(trigger)
        assert event["status"] == "error", event
        messages.append(event["message"])
        with pytest.raises(LivepeerError):
            sensor.execute_complete(context(), event)
    assert len(httpserver.log) == 5
    for message in messages:
        assert "GET /api/task/t1" in message
        for part in expected:
            assert part in message
        assert len(message) <= MAX_MESSAGE_CHARS, f"a {len(message)}-character message"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(HTML_502, "text/html"), (json.dumps({"errors": ["upstream timed out"]}).encode(), "application/json")],
    ids=["html-502", "json-502"],
)
def test_proxy_502_is_transient_then_a_server_error(
    httpserver: HTTPServer, server_conn: str, body: bytes, content_type: str
) -> None:
    httpserver.expect_request("/api/task/t1").respond_with_data(body, status=502, content_type=content_type)
    with pytest.raises(LivepeerServerError, match="HTTP 502") as err:
        fast_hook(server_conn, max_attempts=3).get_task("t1")
    assert len(httpserver.log) == 3
    assert ("502 Bad Gateway" if content_type == "text/html" else "upstream timed out") in str(err.value)
    # For a sensor it is "not done yet" after the hook's retries, never a failure of the Airflow task.
    sensor = LivepeerTaskSensor(task_id="w", livepeer_task_id="t1", livepeer_conn_id=server_conn)
    sensor.hook = fast_hook(server_conn, max_attempts=2)
    assert sensor.poke(context()) is False
    assert len(httpserver.log) == 5


def test_create_answer_of_the_wrong_shape(httpserver: HTTPServer, server_conn: str) -> None:
    httpserver.expect_request("/api/asset/upload/url", method="POST").respond_with_json(
        {"asset": {"id": "a1"}, "taskId": "t1"}
    )
    with pytest.raises(LivepeerBadResponseError, match=r"POST /api/asset/upload/url .*not a CreatedWork"):
        LivepeerImportAssetOperator(
            task_id="i", url="https://example.com/v.mp4", name="n", livepeer_conn_id=server_conn
        ).execute(context())
    assert len(httpserver.log) == 1


def test_huge_valid_task_is_parsed(httpserver: HTTPServer, server_conn: str) -> None:
    """A big answer is not an error: a 5 MB task with unknown fields still completes the wait."""
    httpserver.expect_request("/api/task/t1").respond_with_json(
        task_json("t1", "completed", newField=["x" * 100] * 50_000)
    )
    hook = fast_hook(server_conn)
    result = wait_for_task(hook, "t1", poll_interval=0.01, timeout=5, log=hook.log)
    assert result.phase == "completed" and result.livepeer_task_id == "t1"
    assert len(httpserver.log) == 1


@pytest.mark.parametrize("shared_polling", [True, False], ids=["shared", "polling"])
def test_unknown_phase_is_not_done_anywhere(
    httpserver: HTTPServer, server_conn: str, shared_polling: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    httpserver.expect_request("/api/task/t1").respond_with_json(task_json("t1", "paused", progress=0.5))
    httpserver.expect_request("/api/task").respond_with_json([])
    sensor = LivepeerTaskSensor(task_id="w", livepeer_task_id="t1", livepeer_conn_id=server_conn)
    sensor.hook = fast_hook(server_conn)
    assert sensor.poke(context()) is False
    with pytest.raises(AirflowSensorTimeout):
        wait_for_task(fast_hook(server_conn), "t1", poll_interval=0.05, timeout=0.2, log=sensor.log)
    trigger = LivepeerTaskTrigger(
        "t1", server_conn, poll_interval=0.05, end_time=time.time() + 0.5, shared_polling=shared_polling
    )
    assert first_event(trigger)["status"] == "timeout"
    assert "is paused (a phase this provider does not know: still waiting)" in capfd.readouterr().out


# ---------------------------------------------------------------------------- bad connection settings

BAD_CONNECTIONS: list[tuple[str, Callable[[str], dict[str, Any]], type[Exception], list[str]]] = [
    ("no key", lambda url: {"host": url}, LivepeerError, ["'bad'", "has no Livepeer API key"]),
    ("blank key", lambda url: {"host": url, "password": "   "}, LivepeerError, ["has no Livepeer API key"]),
    (
        "plain http remote host",
        lambda url: {"host": "http://example.com", "password": "k-12345"},
        ValueError,
        ["'http://example.com'", "clear text"],
    ),
    (
        "plain http private address",
        lambda url: {"host": "http://10.20.30.40:3000", "password": "k-12345"},
        ValueError,
        ["'http://10.20.30.40:3000'", "clear text"],
    ),
    (
        "ftp scheme",
        lambda url: {"host": url.replace("http://", "ftp://"), "password": "k-12345"},
        ValueError,
        ["ftp://127.0.0.1", "expected https://HOST"],
    ),
    (
        "port not a number",
        lambda url: {"host": "http://127.0.0.1:notaport", "password": "k-12345"},
        ValueError,
        ["'http://127.0.0.1:notaport'", "Invalid Livepeer API host"],
    ),
    (
        "query in host",
        lambda url: {"host": f"{url}/api?token=x", "password": "k-12345"},
        ValueError,
        ["?token=x", "expected https://HOST"],
    ),
    ("scheme only", lambda url: {"host": "https://", "password": "k-12345"}, ValueError, ["'https://'"]),
    (
        "read_timeout not a number",
        lambda url: {"host": url, "password": "k-12345", "extra": {"read_timeout": "soon"}},
        ValueError,
        ["read_timeout", "'soon'"],
    ),
]


@pytest.mark.parametrize(
    ("make", "error_class", "expected"),
    [case[1:] for case in BAD_CONNECTIONS],
    ids=[case[0] for case in BAD_CONNECTIONS],
)
def test_bad_connection_is_a_clear_error_and_sends_nothing(
    livepeer_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    make: Callable[[str], dict[str, Any]],
    error_class: type[Exception],
    expected: list[str],
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_BAD", json.dumps({"conn_type": "livepeer", **make(livepeer_emulator.url)})
    )

    def test_connection() -> None:
        ok, message = LivepeerHook("bad").test_connection()
        if not ok:
            raise error_class(message)

    calls: dict[str, Callable[[], Any]] = {
        "hook.get_task": lambda: LivepeerHook("bad").get_task("abc"),
        "hook.test_connection": test_connection,
        "sensor.poke": lambda: LivepeerTaskSensor(
            task_id="w", livepeer_task_id="abc", livepeer_conn_id="bad"
        ).poke(context()),
        "import operator": lambda: LivepeerImportAssetOperator(
            task_id="i", url="https://example.com/v.mp4", name="n", livepeer_conn_id="bad"
        ).execute(context()),
    }
    wrong = []
    with no_network():
        for name, call in calls.items():
            raised, message = message_of(call)
            if not issubclass(raised, error_class) or not all(part in message for part in expected):
                wrong.append(f"{name}: {raised.__name__}: {message[:300]}")
        for shared_polling in (True, False):
            # An error event at once, not a wait until the end time.
            trigger = LivepeerTaskTrigger(
                "abc", "bad", poll_interval=0.05, end_time=time.time() + 1.0, shared_polling=shared_polling
            )
            event = first_event(trigger)
            if event["status"] != "error" or not all(part in event["message"] for part in expected):
                wrong.append(f"trigger(shared_polling={shared_polling}): {event}")
    assert wrong == []
    assert livepeer_emulator.request_count() == 0


# ------------------------------------------------------------------------------- bad operator arguments

S3 = {
    "type": "s3",
    "endpoint": "https://s3.example.com",
    "bucket": "b",
    "credentials": {"accessKeyId": "a", "secretAccessKey": "s"},
}
BAD_ARGUMENTS: list[tuple[str, Callable[[], Any], str]] = [
    (
        "import name None",
        lambda: LivepeerImportAssetOperator(task_id="o", url="https://h/v.mp4", name=None),
        "None",
    ),
    (
        "import name number",
        lambda: LivepeerImportAssetOperator(task_id="o", url="https://h/v.mp4", name=7),
        "7",
    ),
    ("import url None", lambda: LivepeerImportAssetOperator(task_id="o", url=None, name="n"), "None"),
    ("import url blank", lambda: LivepeerImportAssetOperator(task_id="o", url="   ", name="n"), "'   '"),
    (
        "import url no host",
        lambda: LivepeerImportAssetOperator(task_id="o", url="https://", name="n"),
        "'https://'",
    ),
    (
        "import url javascript",
        lambda: LivepeerImportAssetOperator(task_id="o", url="javascript:alert(1)", name="n"),
        "'javascript:alert(1)'",
    ),
    (
        "import segment size NaN",
        lambda: LivepeerImportAssetOperator(
            task_id="o", url="https://h/v.mp4", name="n", target_segment_size_secs=float("nan")
        ),
        "nan",
    ),
    (
        "export custom url ftp",
        lambda: LivepeerExportAssetOperator(task_id="o", asset_id="a1", custom_url="ftp://h/v.mp4"),
        "'ftp://h/v.mp4'",
    ),
    (
        "export ipfs as a string",
        lambda: LivepeerExportAssetOperator(task_id="o", asset_id="a1", ipfs="False"),
        "(a str)",
    ),
    (
        "transcode input of unknown type",
        lambda: LivepeerTranscodeOperator(
            task_id="o", input={"type": "gcs", "bucket": "b"}, storage=S3, outputs={"hls": {"path": "/h"}}
        ),
        "of type 'gcs'",
    ),
    (
        "transcode input url ftp",
        lambda: LivepeerTranscodeOperator(
            task_id="o", input={"url": "ftp://h/v"}, storage=S3, outputs={"hls": {"path": "/h"}}
        ),
        "'ftp://h/v'",
    ),
    (
        "transcode storage string",
        lambda: LivepeerTranscodeOperator(
            task_id="o", input="https://h/v", storage="s3", outputs={"hls": {}}
        ),
        "(a str)",
    ),
    (
        "transcode outputs empty",
        lambda: LivepeerTranscodeOperator(task_id="o", input="https://h/v", storage=S3, outputs={}),
        "{}",
    ),
    (
        "clip start_time bool",
        lambda: LivepeerClipOperator(task_id="o", playback_id="pb1", start_time=True),
        "True",
    ),
    (
        "clip start_time None",
        lambda: LivepeerClipOperator(task_id="o", playback_id="pb1", start_time=None),
        "None",
    ),
    (
        "clip end_time word",
        lambda: LivepeerClipOperator(task_id="o", playback_id="pb1", start_time=5, end_time="later"),
        "'later'",
    ),
    (
        "clip start_time NaN",
        lambda: LivepeerClipOperator(task_id="o", playback_id="pb1", start_time="nan"),
        "nan",
    ),
    (
        "clip end_time infinite",
        lambda: LivepeerClipOperator(task_id="o", playback_id="pb1", start_time=5, end_time=float("inf")),
        "inf",
    ),
    (
        "sensor id None",
        lambda: LivepeerTaskSensor(task_id="o", livepeer_task_id=None),
        "None",
    ),
]


@pytest.mark.parametrize(
    ("make", "shown"), [case[1:] for case in BAD_ARGUMENTS], ids=[case[0] for case in BAD_ARGUMENTS]
)
def test_bad_operator_argument_is_a_value_error_naming_it(
    livepeer_emulator: Any, emulator_conn: str, make: Callable[[], Any], shown: str
) -> None:
    operator = make()
    operator.hook = fast_hook()  # were it sent and retried, let it fail in milliseconds, not minutes
    started = time.monotonic()
    with no_network():
        raised, message = message_of(lambda: operator.execute(context()))
    assert raised is ValueError, f"{raised.__name__}: {message[:300]}"
    assert shown in message and "expected" in message
    assert livepeer_emulator.request_count() == 0
    assert time.monotonic() - started < 1
