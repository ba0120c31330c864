"""Livepeer's webhook calls read: the signature, the event shapes, and the Asset events they mean."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import pytest

from airflow_provider_livepeer.webhooks import (
    AssetEvent,
    TaskEvent,
    event_extra,
    is_finished_upload,
    object_uri,
    parse_event,
    signature_header,
    verify_signature,
)
from tests.support.webhooks import SECRET, asset_event, raw, task_event

API = "https://livepeer.studio/api"


def test_a_signature_made_as_livepeer_makes_it_verifies() -> None:
    body = raw(task_event())
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert signature_header(SECRET, body, 1234) == f"t=1234,v1={digest}"
    assert verify_signature(SECRET, body, f"t=1234,v1={digest}")
    # Only the body is signed: any t verifies (which is why repeats are told apart by the event id).
    assert verify_signature(SECRET, body, f"t=99,v1={digest}")
    assert verify_signature(SECRET, body, f"t=1, v1=00, v1={digest}")  # one of several v1 matches


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "t=1",
        "v1=",
        "t=1,v1=" + "0" * 64,
        "t=1,v0=SIGNATURE",  # the right signature under another scheme's name
        "t=1,v1=SIGNATURE" + "," * 2000,  # longer than any real header
    ],
)
def test_a_missing_or_wrong_signature_does_not_verify(header: str | None) -> None:
    body = raw(task_event())
    right = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert not verify_signature(SECRET, body, header.replace("SIGNATURE", right) if header else header)


def test_a_signature_of_another_body_or_secret_does_not_verify() -> None:
    body = raw(task_event())
    assert not verify_signature(SECRET, body + b" ", signature_header(SECRET, body, 1))
    assert not verify_signature(SECRET, body, signature_header("other", body, 1))
    assert not verify_signature("", body, signature_header("", body, 1))  # no secret: nothing verifies


def test_a_task_event_is_the_asset_the_operators_publish_with_the_payload_in_extra() -> None:
    body = task_event()
    event = parse_event(raw(body))
    assert isinstance(event, TaskEvent)
    asset_id = body["payload"]["task"]["snapshot"]["outputAssetId"]
    assert object_uri(API, event) == f"livepeer://livepeer.studio/assets/{asset_id}"
    extra = event_extra(event)
    assert extra["livepeer_event_id"] == body["id"] and extra["livepeer_event"] == "task.completed"
    assert (extra["livepeer_task_id"], extra["type"], extra["phase"]) == (
        body["payload"]["task"]["id"],
        "upload",
        "completed",
    )
    assert (extra["output_asset_id"], extra["playback_id"]) == (asset_id, "abcd1234efgh5678")
    assert extra["payload"] == body["payload"]
    assert is_finished_upload(event)


def test_a_task_without_an_asset_is_its_task_uri() -> None:
    body = task_event(task_type="export", outputAssetId=None)
    event = parse_event(raw(body))
    assert object_uri(API, event) == f"livepeer://livepeer.studio/tasks/{body['payload']['task']['id']}"
    assert not is_finished_upload(event)


def test_an_asset_event_is_its_asset() -> None:
    body = asset_event("asset.failed")
    event = parse_event(raw(body))
    assert isinstance(event, AssetEvent)
    assert object_uri(API, event) == f"livepeer://livepeer.studio/assets/{body['payload']['asset']['id']}"
    assert event_extra(event)["phase"] == "failed" and not is_finished_upload(event)


def test_a_failed_upload_is_not_a_finished_one() -> None:
    assert not is_finished_upload(parse_event(raw(task_event("task.failed"))))


def test_livepeers_other_events_are_ignored_not_refused() -> None:
    assert parse_event(raw({**asset_event(), "event": "asset.updated"})) is None
    assert parse_event(raw({"id": "e1", "event": "stream.idle", "stream": {}})) is None


def broken(change: str) -> dict[str, Any]:
    body = task_event()
    if change == "no payload":
        del body["payload"]
    elif change == "no snapshot":
        del body["payload"]["task"]["snapshot"]
    elif change == "snapshot of another task":
        body["payload"]["task"]["snapshot"]["id"] = str(uuid.uuid4())
    elif change == "bad task id":
        body["payload"]["task"]["id"] = body["payload"]["task"]["snapshot"]["id"] = "../etc"
    elif change == "asset payload for a task event":
        body["payload"] = asset_event()["payload"]
    elif change == "no id":
        del body["id"]
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        *(
            raw(broken(change))
            for change in (
                "no payload",
                "no snapshot",
                "snapshot of another task",
                "bad task id",
                "asset payload for a task event",
                "no id",
            )
        ),
    ],
)
def test_a_body_that_is_not_livepeers_shape_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"(?i)not|invalid"):
        parse_event(body)
