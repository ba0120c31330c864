"""Messages and retry lines name the path a request was really sent to, the connection's schema included.

A connection's schema is a path before ``/api`` (a proxy's, say): a parse error or a retry line naming
``/api/...`` alone would point at the wrong place.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.exceptions import LivepeerBadResponseError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from tests.support.tasks import task_json

CREATED = {"asset": {"id": "a1", "playbackId": "p1"}, "task": {"id": "t1"}}


@pytest.fixture
def hook(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> LivepeerHook:
    conn = {
        "conn_type": "livepeer",
        "host": httpserver.host,
        "port": httpserver.port,
        "schema": "proxy",
        "password": "key",
    }
    monkeypatch.setenv("AIRFLOW_CONN_LIVEPEER_PROXIED", json.dumps(conn))
    return LivepeerHook("livepeer_proxied", max_attempts=2, backoff_initial=0.01, backoff_max=0.01)


@pytest.mark.parametrize(
    ("path", "call"),
    [
        ("/proxy/api/task/t1", lambda hook: hook.get_task("t1")),
        ("/proxy/api/asset/a1", lambda hook: hook.get_asset("a1")),
        ("/proxy/api/transcode", lambda hook: hook.transcode("ipfs://cid", {"type": "s3"}, {"hls": {}})),
    ],
    ids=["task", "asset", "create"],
)
def test_a_parse_error_names_the_real_path(
    httpserver: HTTPServer, hook: LivepeerHook, path: str, call: object
) -> None:
    httpserver.expect_request(path).respond_with_json({"unexpected": True})
    with pytest.raises(LivepeerBadResponseError, match=f"^Livepeer answered [A-Z]+ {re.escape(path)} with "):
        call(hook)  # type: ignore[operator]


def test_a_list_that_is_not_an_array_names_the_real_path(httpserver: HTTPServer, hook: LivepeerHook) -> None:
    httpserver.expect_request("/proxy/api/task").respond_with_json({"tasks": []})
    with pytest.raises(LivepeerBadResponseError, match=r"^Livepeer answered GET /proxy/api/task with dict"):
        list(hook.list_tasks())


def test_retry_lines_name_the_real_path(
    httpserver: HTTPServer,
    hook: LivepeerHook,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The import's own retries (after a 5xx it may have acted on) and the clip's rate limit, and the
    # read's: each names the path under the schema.
    httpserver.expect_ordered_request("/proxy/api/task/t1").respond_with_json({}, status=503)
    httpserver.expect_ordered_request("/proxy/api/task/t1").respond_with_json(task_json("t1"))
    httpserver.expect_ordered_request("/proxy/api/asset/upload/url").respond_with_json({}, status=502)
    httpserver.expect_ordered_request("/proxy/api/task").respond_with_json([])
    httpserver.expect_ordered_request("/proxy/api/asset/upload/url").respond_with_json(CREATED)
    httpserver.expect_ordered_request("/proxy/api/clip").respond_with_json(
        {"errors": ["Too many clips are being processed."]}, status=403
    )
    httpserver.expect_ordered_request("/proxy/api/clip").respond_with_json(CREATED)
    with caplog.at_level(logging.WARNING):
        hook.get_task("t1")
        hook.import_asset("https://example.com/v.mp4", "n")
        hook.create_clip("pb1", 1000)
    httpserver.check_assertions()
    # Newer Airflow prints the hook's log lines (structlog); Airflow 2 and 3.0 hand them to logging, and
    # their console handler prints them as well: each line is read from one of the two, not both.
    retried = r"Livepeer (\S+ \S+) failed \(.*retrying in"
    in_logging = re.findall(retried, "\n".join(r.getMessage() for r in caplog.records))
    in_output = re.findall(retried, capsys.readouterr().out)
    assert (in_logging or in_output) == [
        "GET /proxy/api/task/t1",
        "POST /proxy/api/asset/upload/url",
        "POST /proxy/api/clip",
    ]
