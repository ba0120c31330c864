"""Webhooks: ``/api/webhook`` as Livepeer keeps them, and the calls of its cannon (``webhooks/cannon.ts``)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.support.emulator_api import ApiClient, video_bytes
from tests.support.servers import LoopbackServer, QuietHandler

SECRET = "hook-secret"
EVENTS = ["task.completed", "task.failed", "asset.ready", "asset.failed"]


@dataclass
class Receiver:
    """A webhook target on 127.0.0.1 that answers each call with the next of ``statuses`` (then 200)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait(self, count: int, timeout: float = 10) -> list[tuple[dict[str, str], bytes]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.calls) >= count, timeout), self.calls
            return list(self.calls)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with target.arrived:
                status = target.statuses.pop(0) if target.statuses else 200
                target.calls.append((dict(self.headers.items()), body))
                target.arrived.notify_all()
            self.reply(status, b"{}")

    with LoopbackServer(Handler) as server:
        target.url = f"{server.url}/hook"
        yield target


def calls_made(emulator: Any, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    """The calls the emulator recorded, once there are ``count`` (it records a call after its answer)."""
    deadline = time.monotonic() + timeout
    while len(calls := emulator.webhook_calls()) < count:
        assert time.monotonic() < deadline, calls
        time.sleep(0.02)
    return list(calls)


def create(api: ApiClient, url: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/webhook", json={"name": "airflow", "url": url, "events": EVENTS, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


def imported(api: ApiClient, media_host: Any, **headers: str) -> tuple[dict[str, Any], str]:
    return api.import_url(media_host.add("/v.mp4", video_bytes()), **headers)


def test_webhooks_are_created_listed_replaced_and_deleted_never_showing_the_secret(
    livepeer_emulator: Any, api: ApiClient, other_api: ApiClient
) -> None:
    made = create(api, "https://example.com/hook", sharedSecret=SECRET)
    assert "sharedSecret" not in made and SECRET not in json.dumps(made)
    assert (made["name"], made["url"], made["events"]) == ("airflow", "https://example.com/hook", EVENTS)
    assert [hook["id"] for hook in api.get("/webhook").json()] == [made["id"]]
    assert other_api.get("/webhook").json() == []
    assert other_api.get(f"/webhook/{made['id']}").status_code == 404

    replaced = requests.put(
        f"{livepeer_emulator.api_url}/webhook/{made['id']}",
        json={"name": "renamed", "url": "https://example.com/other", "events": ["task.failed"]},
        headers={"Authorization": f"Bearer {livepeer_emulator.api_key}"},
        timeout=10,
    )
    assert (replaced.status_code, replaced.json()) == (200, {"id": made["id"]})
    shown = api.get(f"/webhook/{made['id']}").json()
    assert (shown["name"], shown["url"], shown["events"]) == (
        "renamed",
        "https://example.com/other",
        ["task.failed"],
    )

    assert api.delete(f"/webhook/{made['id']}").status_code == 204
    assert api.get(f"/webhook/{made['id']}").status_code == 404
    assert api.get("/webhook").json() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "a", "url": "https://example.com/hook"}, 'must provide "events" field with subscriptions'),
        ({"name": "a", "url": "ftp://example.com", "events": ["task.completed"]}, "pattern"),
        ({"name": "a", "url": "https://example.com", "events": ["task.done"]}, "/events/0"),
        ({"name": "a", "url": "https://example.com", "events": ["task.failed"], "kind": "x"}, "kind"),
    ],
)
def test_a_webhook_livepeer_would_refuse_is_a_422(api: ApiClient, body: dict[str, Any], message: str) -> None:
    response = api.post("/webhook", json=body)
    assert response.status_code == 422
    assert message in "\n".join(response.json()["errors"])


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_completed_import_calls_with_livepeers_body_and_signature(
    livepeer_emulator: Any, api: ApiClient, receiver: Receiver, media_host: Any
) -> None:
    hook = create(api, receiver.url, sharedSecret=SECRET)
    asset, task_id = imported(api, media_host)
    calls = receiver.wait(2)
    # Each call is a delivery of its own, as Livepeer's: they may arrive in either order.
    bodies = sorted((json.loads(body) for _, body in calls), key=lambda body: str(body["event"]))
    assert [body["event"] for body in bodies] == ["asset.ready", "task.completed"]
    for headers, raw in calls:
        timestamp, signature = (part.split("=", 1)[1] for part in headers["Livepeer-Signature"].split(","))
        assert signature == hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert int(timestamp) == json.loads(raw)["timestamp"]
        assert headers["User-Agent"] == "livepeer.studio" and headers["Content-Type"] == "application/json"
    ready, completed = bodies
    assert set(completed) == {"id", "webhookId", "createdAt", "timestamp", "event", "payload"}
    assert completed["webhookId"] == hook["id"] and ready["id"] != completed["id"]
    task = completed["payload"]["task"]
    assert (task["id"], task["type"], completed["payload"]["success"]) == (task_id, "upload", True)
    assert task["snapshot"]["status"]["phase"] == "completed"
    assert completed["createdAt"] == task["snapshot"]["status"]["updatedAt"]
    assert ready["payload"]["asset"]["id"] == asset["id"]
    assert ready["payload"]["asset"]["snapshot"]["status"]["phase"] == "ready"
    made = calls_made(livepeer_emulator, 2)
    assert api.get(f"/webhook/{hook['id']}").json()["status"]["lastTriggeredAt"] in {
        call["at"] for call in made
    }


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_failed_task_calls_task_failed_and_asset_failed_unsigned_without_a_secret(
    api: ApiClient, receiver: Receiver, media_host: Any
) -> None:
    create(api, receiver.url)
    imported(api, media_host, **{"X-Emulator-Outcome": "fail:corrupt file"})
    calls = receiver.wait(2)
    events = {json.loads(body)["event"]: json.loads(body) for _, body in calls}
    assert sorted(events) == ["asset.failed", "task.failed"]
    assert all("Livepeer-Signature" not in headers for headers, _ in calls)
    failed = events["task.failed"]["payload"]
    assert (
        failed["success"] is False and failed["task"]["snapshot"]["status"]["errorMessage"] == "corrupt file"
    )


@pytest.mark.livepeer_emulator(speed=1000)
def test_5xx_and_refused_calls_are_retried_with_the_same_event_id_after_doubling_delays(
    livepeer_emulator: Any, api: ApiClient, receiver: Receiver, media_host: Any
) -> None:
    create(api, receiver.url, events=["task.completed"])
    receiver.statuses = [503, 500]
    imported(api, media_host)
    calls = receiver.wait(3)
    ids = {json.loads(body)["id"] for _, body in calls}
    assert len(ids) == 1  # each retry carries the event's id
    log = calls_made(livepeer_emulator, 3)
    assert [(call["try"], call["status"]) for call in log] == [(1, 503), (2, 500), (3, 200)]
    # Livepeer waits 5 s, then 10 s; at speed 1000, 5 ms and 10 ms (the dispatcher looks every 50 ms).
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(log)]
    assert gaps[0] >= 5 and gaps[1] >= 10, gaps
    assert (
        api.get("/webhook").json()[0]["status"]["lastFailure"]["statusCode"] == 500
    )  # kept, as Livepeer does


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_4xx_is_never_retried(
    livepeer_emulator: Any, api: ApiClient, receiver: Receiver, media_host: Any
) -> None:
    create(api, receiver.url, events=["task.completed"])
    receiver.statuses = [401]
    imported(api, media_host)
    calls_made(livepeer_emulator, 1)
    time.sleep(0.5)  # a retry at speed 1000 would come 5 ms later
    assert [(call["try"], call["status"]) for call in livepeer_emulator.webhook_calls()] == [(1, 401)]
    assert api.get("/webhook").json()[0]["status"]["lastFailure"]["statusCode"] == 401


@pytest.mark.livepeer_emulator(speed=1000)
def test_a_target_that_does_not_answer_is_retried(
    livepeer_emulator: Any, api: ApiClient, media_host: Any
) -> None:
    with LoopbackServer(QuietHandler) as gone:
        url = gone.url  # closed below: nothing listens there
    create(api, f"{url}/hook", events=["task.completed"])
    imported(api, media_host)
    first, second, third = calls_made(livepeer_emulator, 3)[:3]
    assert [call["status"] for call in (first, second, third)] == [None, None, None]
    assert first["eventId"] == second["eventId"] == third["eventId"] and "ConnectError" in first["error"]


@pytest.mark.livepeer_emulator(speed=1000)
def test_only_the_subscribed_events_of_the_webhooks_account_are_sent(
    api: ApiClient, other_api: ApiClient, receiver: Receiver, media_host: Any
) -> None:
    create(api, receiver.url, events=["asset.failed"])
    create(other_api, receiver.url, events=EVENTS)
    _, task_id = imported(api, media_host)
    api.wait_task(task_id)
    time.sleep(0.3)  # the dispatcher looks every 50 ms: long enough for a call that should not come
    assert receiver.calls == []
