"""One client configuration for the sync and the async client: the environment's proxy, read once; the
read timeout's minimum; closing the sessions."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer import get_provider_info
from airflow_provider_livepeer.connection_form import EXTRA_FIELDS, READ_TIMEOUT_MINIMUM, form_widgets
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


def pooled_sockets(hook: LivepeerHook) -> list[socket.socket]:
    """The open sockets the hook's requests session keeps for reuse (keep-alive)."""
    pools = [adapter.poolmanager.pools for adapter in hook.session.adapters.values()]  # type: ignore[attr-defined]
    return [
        connection.sock
        for by_host in pools
        for key in list(by_host.keys())  # the container refuses plain iteration
        for connection in list(by_host[key].pool.queue)
        if connection is not None and connection.sock is not None
    ]


def test_with_closes_the_requests_session(livepeer_emulator: Any, emulator_conn: str) -> None:
    with LivepeerHook(emulator_conn) as hook:
        assert list(hook.list_tasks(limit=1)) == []
        session = hook.session
        [kept] = pooled_sockets(hook)  # the emulator keeps connections alive
        assert kept.fileno() != -1
    assert kept.fileno() == -1, "the pooled connection was closed"
    assert all(not adapter.poolmanager.pools for adapter in session.adapters.values())  # type: ignore[attr-defined]
    # A closed hook still works: the next call opens a new session.
    assert list(hook.list_tasks(limit=1)) == []
    assert hook.session is not session
    hook.close()


async def test_async_with_closes_both_sessions(livepeer_emulator: Any, emulator_conn: str) -> None:
    async with LivepeerHook(emulator_conn) as hook:
        assert [task async for task in hook.alist_tasks(limit=1)] == []
        assert list(hook.list_tasks(limit=1)) == []
        async_session = hook._client()._async_session
        assert async_session is not None and not async_session.closed
        session = hook.session  # held, so only closing can close its socket
        [kept] = pooled_sockets(hook)
    assert async_session.closed and async_session.connector is None
    assert hook._client()._async_session is None
    assert kept.fileno() == -1 and hook.session is not session


def test_read_timeout_minimum_is_the_forms(livepeer_connection: Callable[..., str]) -> None:
    schema = EXTRA_FIELDS["read_timeout"]["schema"]
    assert schema["minimum"] == READ_TIMEOUT_MINIMUM
    [widget_minimum] = [
        v.min for v in form_widgets()["read_timeout"].kwargs["validators"] if hasattr(v, "min")
    ]
    assert widget_minimum == READ_TIMEOUT_MINIMUM
    below = READ_TIMEOUT_MINIMUM / 2
    conn_id = livepeer_connection("https://livepeer.studio", read_timeout=below)
    with pytest.raises(
        ValueError, match=rf"read_timeout .* {below!r}: expected seconds, a finite number >= 1"
    ):
        LivepeerHook(conn_id).get_conn()
    conn_id = livepeer_connection("https://livepeer.studio", read_timeout=READ_TIMEOUT_MINIMUM)
    assert LivepeerHook(conn_id)._client().read_timeout == READ_TIMEOUT_MINIMUM


def test_the_form_has_the_verify_field() -> None:
    verify = EXTRA_FIELDS["verify"]
    assert verify["schema"]["type"] == ["string", "null"]
    assert "REQUESTS_CA_BUNDLE" in verify["description"]
    assert form_widgets()["verify"].field_class.__name__ == "StringField"
    assert get_provider_info()["connection-types"][0]["conn-fields"]["verify"] == verify
