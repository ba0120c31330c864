"""Livepeer has no general rate limiter: no task or asset answer carries ``Retry-After`` or ``RateLimit-*``.

Only the AI generate endpoint (not emulated) has one; in the emulator, only injected faults send them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests
from livepeer_studio_emulator.clock import ManualClock

from tests.support.emulator_api import ApiClient, new_stream, video_bytes
from tests.support.tasks import transcode_body


def rate_limit_headers(response: requests.Response) -> list[str]:
    names = [name.lower() for name in response.headers]
    return [
        name for name in names if name == "retry-after" or name.removeprefix("x-").startswith("ratelimit")
    ]


def test_no_task_or_asset_answer_has_rate_limit_headers(
    livepeer_emulator_factory: Any, tmp_path: Path
) -> None:
    emulator = livepeer_emulator_factory(
        api_keys=["key-a", "key-b"], clock=ManualClock(1_700_000_000), max_queued_tasks=3
    )
    api = ApiClient(emulator.url, "key-a")
    source = tmp_path / "v.mp4"
    source.write_bytes(video_bytes())
    answers: list[requests.Response] = []
    created = api.post("/asset/upload/url", json={"name": "v", "url": source.as_uri()})
    asset_id, task_id = created.json()["asset"]["id"], created.json()["task"]["id"]
    answers += [created, api.post("/asset/upload/url", json={"name": "v", "url": source.as_uri()})]
    assert emulator.state.wait_for_jobs()
    emulator.state.clock.advance(60)
    stream = new_stream(api, source.as_uri())
    answers += [
        api.get("/task"),
        api.get(f"/task/{task_id}"),
        api.get("/asset"),
        api.get(f"/asset/{asset_id}"),
        api.post(f"/asset/{asset_id}/export", json={"ipfs": {}}),
        api.post("/transcode", json=transcode_body()),
        api.post("/clip", json={"playbackId": stream["playbackId"], "startTime": 1}),
        api.post(f"/task/{task_id}/retry"),
        api.delete(f"/task/{task_id}"),
        api.get("/task/no-such-task"),
        api.post("/asset/upload/url", json={"name": "v"}),
        ApiClient(emulator.url, "bad-key").get("/task"),
        ApiClient(emulator.url, "key-b").get(f"/task/{task_id}"),
    ]
    # Enough running work for the queue limit, then the queue-full 429 (Livepeer sends no Retry-After).
    for _ in range(3):
        api.post("/transcode", json=transcode_body())
    emulator.state.clock.advance(2.5)
    queue_full = api.post("/transcode", json=transcode_body())
    assert queue_full.status_code == 429
    answers += [queue_full, api.delete(f"/asset/{asset_id}")]
    statuses = {answer.status_code for answer in answers}
    assert {200, 201, 204, 400, 401, 403, 404, 422, 429} <= statuses
    assert {
        f"{a.request.method} {a.url}": rate_limit_headers(a) for a in answers if rate_limit_headers(a)
    } == {}


def test_an_injected_429_sends_retry_after(livepeer_emulator_factory: Any) -> None:
    emulator = livepeer_emulator_factory(api_keys=["key-a"], faults={"queue": ["429"], "retryAfter": 7})
    response = ApiClient(emulator.url, "key-a").get("/task")
    assert (response.status_code, rate_limit_headers(response)) == (429, ["retry-after"])
    assert response.headers["Retry-After"] == "7"
