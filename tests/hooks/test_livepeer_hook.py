from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from airflow_provider_livepeer import __version__
from airflow_provider_livepeer.exceptions import (
    LivepeerAuthenticationError,
    LivepeerBadResponseError,
    LivepeerConnectionError,
    LivepeerError,
    LivepeerInvalidRequestError,
    LivepeerNotFoundError,
    LivepeerPermissionError,
    LivepeerRateLimitError,
    LivepeerServerError,
)
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import TaskPhase
from tests.support.project import LEAKY_KEY, shared_file
from tests.support.servers import dropping_server
from tests.support.tasks import task_json

FAST_RETRIES: dict[str, Any] = {"max_attempts": 4, "backoff_initial": 0.01, "backoff_max": 0.05}


@pytest.fixture
def hook(httpserver: HTTPServer, livepeer_connection: Callable[..., str]) -> LivepeerHook:
    conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
    return LivepeerHook(conn_id, **FAST_RETRIES)


def requests_seen(httpserver: HTTPServer) -> int:
    return len(httpserver.log)


class TestConnectionSettings:
    @pytest.mark.parametrize(
        ("host", "expected"),
        [
            ("", "https://livepeer.studio/api"),
            (None, "https://livepeer.studio/api"),
            ("https://livepeer.studio", "https://livepeer.studio/api"),
            ("https://livepeer.studio/api", "https://livepeer.studio/api"),
            ("https://livepeer.studio/api/", "https://livepeer.studio/api"),
            ("livepeer.studio", "https://livepeer.studio/api"),
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000/api"),
            ("http://localhost:3000/api", "http://localhost:3000/api"),
            ("http://[::1]:3000", "http://[::1]:3000/api"),
            ("127.0.0.1:3000", "http://127.0.0.1:3000/api"),
            ("localhost", "http://localhost/api"),
            ("https://127.0.0.1:3443", "https://127.0.0.1:3443/api"),
            ("livepeer.studio:8443", "https://livepeer.studio:8443/api"),
        ],
    )
    def test_base_url(self, livepeer_connection: Callable[..., str], host: str | None, expected: str) -> None:
        conn_id = livepeer_connection(host or "")
        assert LivepeerHook(conn_id)._client().base_url == expected

    @pytest.mark.parametrize(
        ("host", "message"),
        [
            ("http://livepeer.studio", "clear text"),
            ("http://10.0.0.5:3000", "clear text"),
            ("ftp://livepeer.studio", "expected https://HOST"),
            ("https://", "expected https://HOST"),
            ("https://livepeer.studio:notaport", "Invalid Livepeer API host"),
            ("https://livepeer.studio/api?x=1", "expected https://HOST"),
        ],
    )
    def test_bad_host_is_refused_before_any_request(
        self, livepeer_connection: Callable[..., str], host: str, message: str
    ) -> None:
        conn_id = livepeer_connection(host)
        with pytest.raises(ValueError, match=re.escape(message)) as err:
            LivepeerHook(conn_id).get_task("abc")
        assert repr(host) in str(err.value)

    @pytest.mark.parametrize(
        ("conn", "expected"),
        [
            ({"host": "127.0.0.1", "port": 3000}, "http://127.0.0.1:3000/api"),
            ({"host": "http://127.0.0.1:3000", "port": 3000}, "http://127.0.0.1:3000/api"),
            ({"host": "media.example.com", "port": 8443}, "https://media.example.com:8443/api"),
            ({"host": "proxy.example.com", "schema": "livepeer"}, "https://proxy.example.com/livepeer/api"),
            ({"port": 8443}, "https://livepeer.studio:8443/api"),
        ],
    )
    def test_port_and_schema_fields_join_the_host(
        self, monkeypatch: pytest.MonkeyPatch, conn: dict[str, Any], expected: str
    ) -> None:
        monkeypatch.setenv(
            "AIRFLOW_CONN_LIVEPEER_FIELDS", json.dumps({"conn_type": "livepeer", "password": "k", **conn})
        )
        assert LivepeerHook("livepeer_fields").base_url == expected

    @pytest.mark.parametrize(
        ("uri", "message"),
        [
            (
                "livepeer://:k@http%3A%2F%2F127.0.0.1%3A3000:4000",
                "names port 3000 but the connection's port is 4000",
            ),
            ("livepeer://http://:k@10.0.0.5:3000", "clear text"),
            (
                "livepeer://:k@https%3A%2F%2Fproxy.example.com%2Fx/y",
                "has a path and the connection has a schema",
            ),
        ],
    )
    def test_conflicting_or_unsafe_uri_is_refused_before_any_request(
        self, monkeypatch: pytest.MonkeyPatch, uri: str, message: str
    ) -> None:
        monkeypatch.setenv("AIRFLOW_CONN_LIVEPEER_URI", uri)
        with pytest.raises(ValueError, match=re.escape(message)):
            LivepeerHook("livepeer_uri").get_task("abc")

    def test_missing_key_is_a_clear_error(self, livepeer_connection: Callable[..., str]) -> None:
        conn_id = livepeer_connection("https://livepeer.studio", api_key=None)
        with pytest.raises(LivepeerError, match="has no Livepeer API key"):
            LivepeerHook(conn_id).get_task("abc")

    def test_read_timeout_from_extra_and_parameter(self, livepeer_connection: Callable[..., str]) -> None:
        conn_id = livepeer_connection("https://livepeer.studio", read_timeout=7)
        assert LivepeerHook(conn_id)._client().read_timeout == 7.0
        assert LivepeerHook(conn_id, read_timeout=3)._client().read_timeout == 3.0

    def test_config_repr_hides_key_and_proxy_password(
        self, livepeer_connection: Callable[..., str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("HTTPS_PROXY", "http://user:pr0xy-pa55@proxy.example.com:3128")
        conn_id = livepeer_connection("https://livepeer.studio")
        client = LivepeerHook(conn_id)._client()
        assert client.proxy == "http://user:pr0xy-pa55@proxy.example.com:3128"
        assert LEAKY_KEY not in repr(client) and "pr0xy-pa55" not in repr(client)


class TestGetTask:
    def test_sends_key_and_user_agent_and_parses(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request(
            "/api/task/abc", method="GET", headers={"Authorization": f"Bearer {LEAKY_KEY}"}
        ).respond_with_json(task_json("abc", "running", status={"phase": "running", "progress": 0.42}))
        task = hook.get_task("abc")
        assert task.id == "abc"
        assert task.known_phase is TaskPhase.RUNNING
        assert task.progress == pytest.approx(0.42)
        request, _ = httpserver.log[0]
        assert request.headers["User-Agent"] == f"airflow-provider-livepeer/{__version__}"

    def test_seed_example_parses(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        text = next(shared_file("seed").glob("*.txt")).read_text()
        example = json.loads(text[text.index("{", text.index("Response example")) :])
        httpserver.expect_request("/api/task/seed").respond_with_json(example)
        task = hook.get_task("seed")
        assert task.id == "$TASK_ID"
        assert task.type == "import"
        assert task.phase == "completed" and task.is_terminal and not task.is_failed
        assert task.output_asset_id == "$ASSET_ID"
        assert task.created_at == 1644546528663
        assert task.updated_at == 1644546541229
        assert task.error_message is None and task.retries == 0
        spec = task.asset_spec
        assert spec is not None
        assert spec == example["output"]["import"]["assetSpec"]
        assert spec["videoSpec"]["tracks"][0]["width"] == 1280
        assert spec["hash"][1] == {
            "hash": "b3b5891d6f0767012706fc8548f397b38876d309ca90689314c94615fb4c6e62",
            "algorithm": "sha256",
        }

    @pytest.mark.parametrize(
        "bad_id",
        ["", None, "../asset", "a/b", "x?y", "id#1", "has space", " lead", "tab\t", "x" * 129, 42, "é"],
    )
    def test_invalid_id_sends_nothing(self, httpserver: HTTPServer, hook: LivepeerHook, bad_id: Any) -> None:
        with pytest.raises(ValueError, match="Invalid Livepeer task id") as err:
            hook.get_task(bad_id)
        assert repr(bad_id)[:40] in str(err.value)
        assert "expected" in str(err.value)
        assert requests_seen(httpserver) == 0

    def test_unknown_phase_and_fields_are_kept(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task/x").respond_with_json(
            task_json("x", "paused", newField={"a": 1})
        )
        task = hook.get_task("x")
        assert task.phase == "paused"
        assert task.known_phase is None and not task.is_terminal
        assert task.model_extra == {"newField": {"a": 1}}

    @pytest.mark.parametrize("output_key", ["upload", "import", "clip"])
    def test_asset_spec_locations(self, httpserver: HTTPServer, hook: LivepeerHook, output_key: str) -> None:
        spec = {"id": "as1", "name": "n", "videoSpec": {"duration": 3.5}}
        httpserver.expect_request("/api/task/x").respond_with_json(
            task_json("x", "completed", output={output_key: {"assetSpec": spec}}, outputAssetId="as1")
        )
        assert hook.get_task("x").asset_spec == spec

    def test_completed_export_has_no_asset_spec(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task/x").respond_with_json(
            task_json("x", "completed", output={"export": {"ipfs": {"videoFileCid": "Qm1"}}})
        )
        task = hook.get_task("x")
        assert task.asset_spec is None and task.output_asset_id is None

    def test_failed_task_fields(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task/x").respond_with_json(
            task_json("x", status={"phase": "failed", "errorMessage": "bad codec", "retries": 2})
        )
        task = hook.get_task("x")
        assert task.is_failed and task.error_message == "bad codec" and task.retries == 2


class TestErrors:
    @pytest.mark.parametrize(
        ("status", "error_class"),
        [
            (400, LivepeerInvalidRequestError),
            (401, LivepeerAuthenticationError),
            (403, LivepeerPermissionError),
            (404, LivepeerNotFoundError),
            (412, LivepeerInvalidRequestError),
            (422, LivepeerInvalidRequestError),
        ],
    )
    def test_permanent_errors_fail_at_once(
        self, httpserver: HTTPServer, hook: LivepeerHook, status: int, error_class: type[Exception]
    ) -> None:
        httpserver.expect_request("/api/task/abc").respond_with_json(
            {"errors": [f"livepeer says {status}"]}, status=status
        )
        with pytest.raises(error_class) as err:
            hook.get_task("abc")
        text = str(err.value)
        assert f"HTTP {status}" in text and "GET /api/task/abc" in text and f"livepeer says {status}" in text
        assert LEAKY_KEY not in text
        assert requests_seen(httpserver) == 1

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    def test_server_errors_are_retried_until_success(
        self, httpserver: HTTPServer, hook: LivepeerHook, status: int
    ) -> None:
        for _ in range(2):
            httpserver.expect_ordered_request("/api/task/abc").respond_with_json(
                {"errors": ["boom"]}, status=status
            )
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(task_json("abc"))
        assert hook.get_task("abc").id == "abc"
        assert requests_seen(httpserver) == 3

    def test_server_errors_give_up_after_max_attempts(
        self, httpserver: HTTPServer, hook: LivepeerHook
    ) -> None:
        httpserver.expect_request("/api/task/abc").respond_with_data(
            "<html><body><h1>502 Bad Gateway</h1></body></html>", status=502, content_type="text/html"
        )
        with pytest.raises(LivepeerServerError, match="502 Bad Gateway") as err:
            hook.get_task("abc")
        assert "text/html" in str(err.value)
        assert requests_seen(httpserver) == FAST_RETRIES["max_attempts"]

    def test_total_time_budget_bounds_retries(
        self, httpserver: HTTPServer, livepeer_connection: Callable[..., str]
    ) -> None:
        conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
        hook = LivepeerHook(
            conn_id, max_attempts=50, retry_max_seconds=0.5, backoff_initial=0.2, backoff_max=0.2
        )
        httpserver.expect_request("/api/task/abc").respond_with_json({"errors": ["down"]}, status=503)
        started = time.monotonic()
        with pytest.raises(LivepeerServerError):
            hook.get_task("abc")
        assert time.monotonic() - started < 1.5
        assert 2 <= requests_seen(httpserver) <= 4

    def test_rate_limit_honours_retry_after(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(
            {"errors": ["slow down"]}, status=429, headers={"Retry-After": "0.04"}
        )
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(
            {"errors": ["too many pending tasks"]}, status=429
        )
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(task_json("abc"))
        started = time.monotonic()
        assert hook.get_task("abc").id == "abc"
        assert time.monotonic() - started >= 0.04
        assert requests_seen(httpserver) == 3

    def test_retry_after_outranks_backoff_max(
        self, httpserver: HTTPServer, livepeer_connection: Callable[..., str]
    ) -> None:
        conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
        hook = LivepeerHook(conn_id, max_attempts=2, backoff_initial=0.01, backoff_max=0.05)
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(
            {"errors": ["slow down"]}, status=429, headers={"Retry-After": "1"}
        )
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(task_json("abc"))
        started = time.monotonic()
        assert hook.get_task("abc").id == "abc"
        assert 1.0 <= time.monotonic() - started < 3
        assert requests_seen(httpserver) == 2

    def test_retry_after_beyond_the_time_budget_gives_up_at_once(
        self, httpserver: HTTPServer, livepeer_connection: Callable[..., str]
    ) -> None:
        conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
        hook = LivepeerHook(conn_id, max_attempts=5, retry_max_seconds=2, backoff_max=0.05)
        httpserver.expect_request("/api/task/abc").respond_with_json(
            {"errors": ["slow down"]}, status=429, headers={"Retry-After": "30"}
        )
        started = time.monotonic()
        with pytest.raises(LivepeerRateLimitError, match="slow down"):
            hook.get_task("abc")
        assert time.monotonic() - started < 1
        assert requests_seen(httpserver) == 1

    def test_rate_limit_gives_up_with_livepeer_message(
        self, httpserver: HTTPServer, hook: LivepeerHook
    ) -> None:
        httpserver.expect_request("/api/task/abc").respond_with_json(
            {"errors": ["too many pending tasks"]}, status=429
        )
        with pytest.raises(LivepeerRateLimitError, match="too many pending tasks"):
            hook.get_task("abc")
        assert requests_seen(httpserver) == FAST_RETRIES["max_attempts"]

    def test_timeouts_are_retried(
        self,
        httpserver: HTTPServer,
        livepeer_connection: Callable[..., str],
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        conn_id = livepeer_connection(httpserver.url_for("/").rstrip("/"))
        hook = LivepeerHook(conn_id, read_timeout=0.2, **FAST_RETRIES)
        calls = []

        def slow_then_fast(request: Request) -> Response:
            calls.append(time.monotonic())
            if len(calls) == 1:
                time.sleep(0.5)
            return Response(json.dumps(task_json("abc")), content_type="application/json")

        httpserver.expect_request("/api/task/abc").respond_with_handler(slow_then_fast)
        assert hook.get_task("abc").id == "abc"
        # The test server answers one request at a time, so the retry may queue behind the slow one.
        assert 2 <= len(calls) <= FAST_RETRIES["max_attempts"]
        assert "Read timed out" in capfd.readouterr().out

    def test_dropped_connections_are_retried(self, livepeer_connection: Callable[..., str]) -> None:
        with dropping_server(drops=2, body=task_json("abc")) as server:
            hook = LivepeerHook(livepeer_connection(server.url), **FAST_RETRIES)
            assert hook.get_task("abc").id == "abc"
            assert server.connections == 3

    def test_dropped_connections_give_up(self, livepeer_connection: Callable[..., str]) -> None:
        with dropping_server(drops=100, body=None) as server:
            hook = LivepeerHook(livepeer_connection(server.url), **FAST_RETRIES)
            with pytest.raises(LivepeerConnectionError, match="GET /api/task/abc got no answer"):
                hook.get_task("abc")
            assert server.connections == FAST_RETRIES["max_attempts"]

    @pytest.mark.parametrize(
        ("body", "content_type", "message"),
        [
            ("<html>oops</html>", "text/html", "not JSON"),
            ('{"id": "abc", "status": {"pha', "application/json", "not JSON"),
            ('{"id": "abc"}', "application/json", "status: Field required"),
            ('["a"]', "application/json", "not a Task"),
            ('{"id": "abc", "status": {"phase": 3}}', "application/json", "status.phase"),
        ],
    )
    def test_bad_response(
        self, httpserver: HTTPServer, hook: LivepeerHook, body: str, content_type: str, message: str
    ) -> None:
        httpserver.expect_request("/api/task/abc").respond_with_data(body, content_type=content_type)
        with pytest.raises(LivepeerBadResponseError, match=re.escape(message)):
            hook.get_task("abc")
        assert requests_seen(httpserver) == 1

    def test_key_is_in_no_log_record_or_exception(
        self,
        httpserver: HTTPServer,
        hook: LivepeerHook,
        caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str],
    ) -> None:
        httpserver.expect_request("/api/task/a").respond_with_json({"errors": ["boom"]}, status=503)
        httpserver.expect_request("/api/task/b").respond_with_json({"errors": ["nope"]}, status=401)
        httpserver.expect_request("/api/task/c").respond_with_data("<html/>", content_type="text/html")
        texts = []
        with caplog.at_level(logging.DEBUG):
            for task_id in ("a", "b", "c"):
                with pytest.raises(LivepeerError) as err:
                    hook.get_task(task_id)
                texts += [str(err.value), repr(err.value)]
        printed = capfd.readouterr()
        assert "attempt 1 of 4" in printed.out
        texts += [r.getMessage() for r in caplog.records] + [printed.out, printed.err]
        assert texts
        assert not [t for t in texts if LEAKY_KEY in t]


class TestListTasks:
    def page(
        self, httpserver: HTTPServer, cursor: str | None, ids: list[str], next_cursor: str | None
    ) -> None:
        query = {"limit": "2", "order": "createdAt-true"}
        if cursor:
            query["cursor"] = cursor
        headers = {}
        if next_cursor is not None:
            url = httpserver.url_for(f"/api/task?limit=2&order=createdAt-true&cursor={next_cursor}")
            headers["Link"] = f'<{url}>; rel="next"'
        httpserver.expect_ordered_request("/api/task", query_string=query).respond_with_json(
            [task_json(i) for i in ids], headers=headers
        )

    def test_three_pages_ending_with_undefined_cursor(
        self, httpserver: HTTPServer, hook: LivepeerHook
    ) -> None:
        self.page(httpserver, None, ["t5", "t4"], "skip2")
        self.page(httpserver, "skip2", ["t3", "t2"], "skip4")
        self.page(httpserver, "skip4", ["t1"], "undefined")
        assert [t.id for t in hook.list_tasks(limit=2)] == ["t5", "t4", "t3", "t2", "t1"]
        assert requests_seen(httpserver) == 3

    def test_stops_at_empty_page(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        self.page(httpserver, None, ["t2", "t1"], "skip2")
        self.page(httpserver, "skip2", [], "skip4")
        assert [t.id for t in hook.list_tasks(limit=2)] == ["t2", "t1"]
        assert requests_seen(httpserver) == 2

    def test_stops_without_link(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        self.page(httpserver, None, ["t2", "t1"], None)
        assert [t.id for t in hook.list_tasks(limit=2)] == ["t2", "t1"]
        assert requests_seen(httpserver) == 1

    def test_max_items_stops_fetching(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        self.page(httpserver, None, ["t5", "t4"], "skip2")
        self.page(httpserver, "skip2", ["t3", "t2"], "skip4")
        assert [t.id for t in hook.list_tasks(limit=2, max_items=3)] == ["t5", "t4", "t3"]
        assert requests_seen(httpserver) == 2

    def test_link_to_another_host_is_not_followed(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_ordered_request("/api/task").respond_with_json(
            [task_json("t2")], headers={"Link": '<https://evil.example/api/task?cursor=skip1>; rel="next"'}
        )
        httpserver.expect_ordered_request("/api/task", query_string={"cursor": "skip1"}).respond_with_json([])
        assert [t.id for t in hook.list_tasks()] == ["t2"]
        assert requests_seen(httpserver) == 2

    def test_filters_and_order_are_sent(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        filters = [{"id": "updatedAt", "value": {"gt": 1700000000000}}]
        httpserver.expect_request(
            "/api/task",
            query_string={
                "limit": "1000",
                "filters": json.dumps(filters, separators=(",", ":")),
                "order": "updatedAt-true",
            },
        ).respond_with_json([task_json("t1")])
        assert [t.id for t in hook.list_tasks(limit=1000, filters=filters, order="updatedAt-true")] == ["t1"]

    @pytest.mark.parametrize("limit", [0, 1001, "10", True])
    def test_bad_limit(self, httpserver: HTTPServer, hook: LivepeerHook, limit: Any) -> None:
        with pytest.raises(ValueError, match="limit="):
            list(hook.list_tasks(limit=limit))
        assert requests_seen(httpserver) == 0

    def test_not_an_array_is_a_bad_response(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task").respond_with_json({"tasks": []})
        with pytest.raises(LivepeerBadResponseError, match="expected a JSON array"):
            list(hook.list_tasks())


class TestAssets:
    def test_get_and_delete(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/asset/as1", method="GET").respond_with_json(
            {
                "id": "as1",
                "name": "clip.mp4",
                "playbackId": "pb1",
                "status": {"phase": "ready", "updatedAt": 5},
                "size": 10,
                "source": {"type": "url", "url": "https://x/y.mp4"},
            }
        )
        httpserver.expect_request("/api/asset/as1", method="DELETE").respond_with_data("", status=204)
        asset = hook.get_asset("as1")
        assert (asset.id, asset.playback_id, asset.phase, asset.size) == ("as1", "pb1", "ready", 10)
        assert hook.delete_asset("as1") is None
        assert [r.method for r, _ in httpserver.log] == ["GET", "DELETE"]

    def test_second_delete_is_invalid(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/asset/as1", method="DELETE").respond_with_json(
            {"errors": ["asset is already deleted"]}, status=400
        )
        with pytest.raises(LivepeerInvalidRequestError, match="asset is already deleted"):
            hook.delete_asset("as1")

    def test_invalid_asset_id(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        with pytest.raises(ValueError, match=re.escape("Invalid Livepeer asset id '../x'")):
            hook.get_asset("../x")
        assert requests_seen(httpserver) == 0


class TestConnectionTest:
    def test_ok(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task", query_string={"limit": "1"}).respond_with_json([])
        ok, message = hook.test_connection()
        assert ok and httpserver.url_for("/api") in message

    def test_bad_key(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task").respond_with_json({"errors": ["Unauthorized"]}, status=401)
        ok, message = hook.test_connection()
        assert not ok and "HTTP 401" in message and "Unauthorized" in message
        assert LEAKY_KEY not in message


class TestSessionReuse:
    def test_one_session_per_hook(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task/abc").respond_with_json(task_json("abc"))
        hook.get_task("abc")
        session = hook.get_conn()
        hook.get_task("abc")
        assert hook.get_conn() is session
        assert sum(len(a.poolmanager.pools) for a in session.adapters.values()) == 1


class TestAsync:
    async def test_aget_task_with_retries(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json({"errors": ["x"]}, status=503)
        httpserver.expect_ordered_request("/api/task/abc").respond_with_json(task_json("abc", "completed"))
        task = await hook.aget_task("abc")
        await hook.aclose()
        assert task.known_phase is TaskPhase.COMPLETED
        assert requests_seen(httpserver) == 2

    async def test_async_permanent_error(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        httpserver.expect_request("/api/task/abc").respond_with_json({"errors": ["not found"]}, status=404)
        with pytest.raises(LivepeerNotFoundError, match="not found"):
            await hook.aget_task("abc")
        await hook.aclose()
        assert requests_seen(httpserver) == 1

    async def test_async_dropped_connection(self, livepeer_connection: Callable[..., str]) -> None:
        with dropping_server(drops=1, body=task_json("abc")) as server:
            hook = LivepeerHook(livepeer_connection(server.url), **FAST_RETRIES)
            assert (await hook.aget_task("abc")).id == "abc"
            await hook.aclose()
            assert server.connections == 2

    async def test_alist_tasks_pages(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        url = httpserver.url_for("/api/task?cursor=skip1")
        httpserver.expect_ordered_request("/api/task").respond_with_json(
            [task_json("t2")], headers={"Link": f'<{url}>; rel="next"'}
        )
        httpserver.expect_ordered_request("/api/task", query_string={"cursor": "skip1"}).respond_with_json(
            [task_json("t1")], headers={"Link": f'<{url.replace("skip1", "undefined")}>; rel="next"'}
        )
        assert [t.id async for t in hook.alist_tasks()] == ["t2", "t1"]
        await hook.aclose()
        assert requests_seen(httpserver) == 2

    async def test_async_invalid_id_sends_nothing(self, httpserver: HTTPServer, hook: LivepeerHook) -> None:
        with pytest.raises(ValueError, match="Invalid Livepeer task id"):
            await hook.aget_task("a/b")
        assert requests_seen(httpserver) == 0


class TestClipRetries:
    """One retry loop for a clip: Livepeer's clip rate limit for up to ``rate_limit_timeout``, and the
    usual budget (``max_attempts``) for the other transient errors, counted from the last rate limit."""

    CLIPPED = {"asset": {"id": "a1", "playbackId": "p1"}, "task": {"id": "t1"}}

    def rate_limited(self, httpserver: HTTPServer, times: int) -> None:
        for _ in range(times):
            httpserver.expect_ordered_request("/api/clip", method="POST").respond_with_json(
                {"errors": ["Too many clips are being processed."]}, status=403
            )

    def too_many_requests(self, httpserver: HTTPServer, times: int) -> None:
        for _ in range(times):
            httpserver.expect_ordered_request("/api/clip", method="POST").respond_with_json(
                {"errors": ["slow down"]}, status=429
            )

    def test_other_transient_errors_get_their_whole_budget_after_the_rate_limit(
        self, httpserver: HTTPServer, hook: LivepeerHook, capfd: pytest.CaptureFixture[str]
    ) -> None:
        self.rate_limited(httpserver, FAST_RETRIES["max_attempts"] + 1)
        self.too_many_requests(httpserver, FAST_RETRIES["max_attempts"] - 1)
        httpserver.expect_ordered_request("/api/clip", method="POST").respond_with_json(self.CLIPPED)
        assert hook.create_clip("pb1", 1_000, rate_limit_timeout=30).task.id == "t1"
        assert requests_seen(httpserver) == 2 * FAST_RETRIES["max_attempts"] + 1
        # Past max_attempts tries in all, the retry lines give no "of max_attempts" to contradict.
        printed = capfd.readouterr().out
        assert f"attempt {2 * FAST_RETRIES['max_attempts']}; retrying" in printed
        assert f" of {FAST_RETRIES['max_attempts']};" not in printed

    def test_other_transient_errors_still_stop_after_their_budget(
        self, httpserver: HTTPServer, hook: LivepeerHook
    ) -> None:
        self.rate_limited(httpserver, 2)
        self.too_many_requests(httpserver, FAST_RETRIES["max_attempts"])
        with pytest.raises(LivepeerRateLimitError, match="slow down"):
            hook.create_clip("pb1", 1_000, rate_limit_timeout=30)
        assert requests_seen(httpserver) == 2 + FAST_RETRIES["max_attempts"]
