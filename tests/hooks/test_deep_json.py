"""JSON nested deeper than Python's decoder recurses is a bad answer like any other, on both clients."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from airflow_provider_livepeer.exceptions import LivepeerBadResponseError, LivepeerServerError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

#: Deeper than the decoder's recursion limit: ``json.loads`` raises RecursionError on it.
NESTED = b"[" * 100_000 + b"]" * 100_000


async def test_a_deeply_nested_body_is_a_bad_response_on_both_clients(
    httpserver: HTTPServer, livepeer_connection: Any
) -> None:
    httpserver.expect_request("/api/task/t1").respond_with_data(NESTED, content_type="application/json")
    async with LivepeerHook(livepeer_connection(httpserver.url_for("/").rstrip("/"))) as hook:
        with pytest.raises(LivepeerBadResponseError, match=r"GET /api/task/t1 with HTTP 200 .* not JSON"):
            hook.get_task("t1")
        with pytest.raises(LivepeerBadResponseError, match=r"GET /api/task/t1 with HTTP 200 .* not JSON"):
            await hook.aget_task("t1")
    assert len(httpserver.log) == 2, "not retried: the same answer would come again"


async def test_a_deeply_nested_error_body_keeps_the_error_of_its_status(
    httpserver: HTTPServer, livepeer_connection: Any
) -> None:
    httpserver.expect_request("/api/task/t1").respond_with_data(
        NESTED, status=503, content_type="application/json"
    )
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    async with LivepeerHook(conn_id, max_attempts=1) as hook:
        with pytest.raises(LivepeerServerError, match=r"\[application/json\] \[\[\[") as sync_error:
            hook.get_task("t1")
        with pytest.raises(LivepeerServerError) as async_error:
            await hook.aget_task("t1")
    assert sync_error.value.status == async_error.value.status == 503
    assert str(sync_error.value) == str(async_error.value)
