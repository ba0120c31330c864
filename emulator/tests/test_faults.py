"""Fault injection: each fault kind as clients see it, latency, reproducibility, and the request log."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import requests

from tests.support.emulator_api import ApiClient
from tests.support.tasks import transcode_body


def kinds_seen(api: ApiClient, count: int) -> list[int | str]:
    seen: list[int | str] = []
    for _ in range(count):
        try:
            seen.append(api.get("/task").status_code)
        except requests.exceptions.ChunkedEncodingError:
            seen.append("drop")
    return seen


@pytest.mark.parametrize(("fault", "status"), [("500", 500), ("502", 502), ("503", 503)])
def test_server_errors(api: ApiClient, livepeer_emulator: Any, fault: str, status: int) -> None:
    livepeer_emulator.set_faults(queue=[fault])
    response = api.get("/task")
    assert response.status_code == status
    assert response.json()["errors"][0].startswith("emulated fault")
    assert api.get("/task").status_code == 200  # the queue is used up


def test_rate_limit_with_and_without_retry_after(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(queue=["429", "429-no-retry-after"], retry_after=7)
    first, second = api.get("/task"), api.get("/task")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "7")
    assert second.status_code == 429
    assert "Retry-After" not in second.headers


def test_html_error_page(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(queue=["html-502"])
    response = api.get("/task")
    assert response.status_code == 502
    assert response.headers["Content-Type"] == "text/html"
    assert "<h1>502 Bad Gateway</h1>" in response.text
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_dropped_connection_with_requests(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(queue=["drop"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError, match="IncompleteRead"):
        api.get("/task")
    assert api.get("/task").status_code == 200  # the server itself is fine


async def test_dropped_connection_with_httpx(livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(queue=["drop", "drop"])
    headers = {"Authorization": f"Bearer {livepeer_emulator.api_key}"}
    with pytest.raises(httpx.RemoteProtocolError, match="peer closed connection"):
        httpx.get(f"{livepeer_emulator.api_url}/task", headers=headers)
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(f"{livepeer_emulator.api_url}/task", headers=headers)
        assert (await client.get(f"{livepeer_emulator.api_url}/task", headers=headers)).status_code == 200


def test_rates_are_reproducible_with_a_seed(livepeer_emulator_factory: Any) -> None:
    rates = {"500": 0.1, "503": 0.2, "429": 0.1, "drop": 0.1, "html-502": 0.1}
    runs = []
    for _ in range(2):
        emulator = livepeer_emulator_factory(api_keys=["k"], faults={"rates": rates, "seed": 42})
        runs.append(kinds_seen(ApiClient(emulator.url, "k"), 40))
    assert runs[0] == runs[1]
    assert {200, 500, 503, 429, 502, "drop"} <= set(runs[0])
    other = livepeer_emulator_factory(api_keys=["k"], faults={"rates": rates, "seed": 43})
    assert kinds_seen(ApiClient(other.url, "k"), 40) != runs[0]


def test_rate_one_fails_every_api_call_but_not_admin(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(rates={"503": 1.0})
    assert kinds_seen(api, 5) == [503] * 5
    assert requests.get(f"{livepeer_emulator.url}/_emulator/health", timeout=5).status_code == 200
    livepeer_emulator.clear_faults()
    assert api.get("/task").status_code == 200


def test_faults_can_target_methods(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(rates={"500": 1.0}, methods=["post"])
    assert api.get("/task").status_code == 200
    assert api.post("/transcode", json=transcode_body()).status_code == 500
    assert api.get("/task").json() == []  # a fault "before" means the server did nothing


def test_fault_after_processing_loses_the_answer_not_the_work(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(queue=["503"], timing="after")
    response = api.post("/transcode", json=transcode_body())
    assert response.status_code == 503
    assert len(api.get("/task").json()) == 1  # the transcode was made all the same


def test_latency_and_spikes(api: ApiClient, livepeer_emulator: Any) -> None:
    livepeer_emulator.set_faults(latency_ms=120)
    started = time.perf_counter()
    api.get("/task")
    assert time.perf_counter() - started >= 0.12
    livepeer_emulator.set_faults(spike_rate=1.0, spike_ms=150)
    started = time.perf_counter()
    api.get("/task")
    assert time.perf_counter() - started >= 0.15
    livepeer_emulator.set_faults(spike_rate=0.0, spike_ms=5000)
    started = time.perf_counter()
    api.get("/task")
    assert time.perf_counter() - started < 1


def test_fault_admin_endpoint(api: ApiClient, livepeer_emulator: Any) -> None:
    url = f"{livepeer_emulator.url}/_emulator/faults"
    config = {"rates": {"502": 0.5}, "retryAfter": 3, "latencyMs": 0, "queue": ["429"], "seed": 1}
    response = requests.post(url, json=config, timeout=5)
    assert response.status_code == 200
    shown = requests.get(url, timeout=5).json()
    assert (shown["rates"], shown["retryAfter"], shown["queue"], shown["seed"]) == (
        {"502": 0.5},
        3,
        ["429"],
        1,
    )
    assert api.get("/task").headers["Retry-After"] == "3"
    assert requests.get(url, timeout=5).json()["queue"] == []
    for bad in (
        {"rates": {"503": 0.7, "500": 0.6}},
        {"rates": {"404": 0.1}},
        {"colour": 1},
        {"spikeRate": 2},
    ):
        rejected = requests.post(url, json=bad, timeout=5)
        assert rejected.status_code == 422, bad
        assert rejected.json()["errors"]
    assert requests.delete(url, timeout=5).status_code == 204
    assert livepeer_emulator.faults.rates == {}


def test_request_log(api: ApiClient, livepeer_emulator: Any) -> None:
    task_id = api.post("/transcode", json=transcode_body()).json()["id"]
    api.get(f"/task/{task_id}")
    api.get("/task/unknown")
    livepeer_emulator.set_faults(queue=["drop"])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        api.get("/task")
    requests.get(f"{livepeer_emulator.url}/_emulator/health", timeout=5)  # admin calls are not logged
    assert livepeer_emulator.request_count() == 4
    assert livepeer_emulator.request_count("GET", "/api/task/*") == 2
    assert livepeer_emulator.request_count(path="/api/transcode", status=200) == 1
    assert livepeer_emulator.request_count(status=404) == 1
    last = livepeer_emulator.requests[-1]
    assert (last.method, last.path, last.status, last.fault) == ("GET", "/api/task", None, "drop")
    log = requests.get(f"{livepeer_emulator.url}/_emulator/requests", timeout=5).json()
    assert log["total"] == 4
    assert log["counts"] == {
        "POST /api/transcode": 1,
        f"GET /api/task/{task_id}": 1,
        "GET /api/task/unknown": 1,
        "GET /api/task": 1,
    }
    assert requests.delete(f"{livepeer_emulator.url}/_emulator/requests", timeout=5).status_code == 204
    assert livepeer_emulator.request_count() == 0
    api.get("/task")
    livepeer_emulator.reset_requests()
    assert livepeer_emulator.requests == []


def test_reset_forgets_everything_but_accounts(api: ApiClient, livepeer_emulator: Any) -> None:
    api.post("/transcode", json=transcode_body())
    livepeer_emulator.script_outcome(task_type="clip", outcome="fail")
    livepeer_emulator.set_faults(latency_ms=1)
    assert requests.post(f"{livepeer_emulator.url}/_emulator/reset", timeout=5).status_code == 204
    assert api.get("/task").json() == []
    assert livepeer_emulator.state.outcome_rules() == []
    assert livepeer_emulator.faults.latency_ms == 0
    assert livepeer_emulator.request_count() == 1  # the list call just now


def test_admin_accounts_and_health(livepeer_emulator: Any) -> None:
    base = f"{livepeer_emulator.url}/_emulator"
    health = requests.get(f"{base}/health", timeout=5).json()
    assert (health["status"], health["accounts"], health["speed"]) == ("ok", 2, 1000.0)
    added = requests.post(f"{base}/accounts", json={"apiKey": "brand-new-key-123"}, timeout=5)
    assert added.status_code == 201
    accounts = requests.get(f"{base}/accounts", timeout=5).json()["accounts"]
    assert [a["apiKey"] for a in accounts] == ["emul****", "emul****", "bran****"]
    assert "brand-new-key-123" not in str(accounts)
    assert ApiClient(livepeer_emulator.url, "brand-new-key-123").get("/task").status_code == 200
    assert requests.post(f"{base}/accounts", json={"apiKey": "has space"}, timeout=5).status_code == 422
    assert requests.get(f"{base}/tasks/unknown", timeout=5).status_code == 404
