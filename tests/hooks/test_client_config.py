"""One client configuration for the sync and the async client: the environment's proxy, read once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from tests.support.tasks import task_json

TASK = task_json()


@pytest.fixture
def api_server() -> Iterator[HTTPServer]:
    """A second server, standing for the API behind the proxy: it must receive nothing."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


async def test_both_clients_send_through_the_environment_proxy(
    httpserver: HTTPServer, api_server: HTTPServer, livepeer_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = livepeer_connection(api_server.url_for("/").rstrip("/"))
    proxy = httpserver  # a plain HTTP server: a client using it as proxy sends it the API's absolute URL
    proxy.expect_request("/api/task/t1").respond_with_json(TASK)
    for name in ("no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy.url_for("/").rstrip("/"))
    hook = LivepeerHook(conn_id, max_attempts=1)
    try:
        read = hook.get_task("t1")
        aread = await hook.aget_task("t1")
    finally:
        await hook.aclose()
    assert read.phase == aread.phase == "running"
    for task in (read, aread):  # the answer's Date header, on the model
        assert task.answered_at is not None and abs(task.answered_at - time.time()) < 60
    api_host = api_server.url_for("/").split("//")[1].rstrip("/")
    assert [request.headers["Host"] for request, _ in proxy.log] == [api_host, api_host]
    assert not api_server.log, "neither client went around the proxy"


async def test_no_proxy_is_honoured_by_both_clients(
    httpserver: HTTPServer, livepeer_connection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request("/api/task/t1").respond_with_json(TASK)
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://proxy.invalid:3128")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    hook = LivepeerHook(conn_id, max_attempts=1)
    try:
        assert hook.get_task("t1").phase == "running"
        assert (await hook.aget_task("t1")).phase == "running"
    finally:
        await hook.aclose()
    assert len(httpserver.log) == 2
