"""Livepeer's webhook calls as its cannon sends them, for the tests of the receiver."""

from __future__ import annotations

import json
import uuid
from typing import Any

#: The shared secret the tests sign with (it must never show in a log, an answer or an event).
SECRET = "whsec-DO-NOT-LEAK-4d1c"


def task_event(event: str = "task.completed", task_type: str = "upload", **task: Any) -> dict[str, Any]:
    """A body as Livepeer's cannon sends it for a task event."""
    task_id, asset_id = str(uuid.uuid4()), str(uuid.uuid4())
    phase = "completed" if event == "task.completed" else "failed"
    snapshot = {
        "id": task_id,
        "type": task_type,
        "outputAssetId": asset_id,
        "status": {"phase": phase, "updatedAt": 1_765_000_000_000},
        "output": {"upload": {"assetSpec": {"playbackId": "abcd1234efgh5678", "size": 7170}}},
        **task,
    }
    return {
        "id": str(uuid.uuid4()),
        "webhookId": str(uuid.uuid4()),
        "createdAt": 1_765_000_000_000,
        "timestamp": 1_765_000_000_050,
        "event": event,
        "payload": {
            "success": phase == "completed",
            "task": {"id": task_id, "type": task_type, "snapshot": snapshot},
        },
    }


def asset_event(event: str = "asset.ready") -> dict[str, Any]:
    asset_id = str(uuid.uuid4())
    snapshot = {"id": asset_id, "playbackId": "pb12", "status": {"phase": event.split(".")[1]}}
    return {
        "id": str(uuid.uuid4()),
        "webhookId": str(uuid.uuid4()),
        "createdAt": 1,
        "timestamp": 2,
        "event": event,
        "payload": {"asset": {"id": asset_id, "snapshot": snapshot}},
    }


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()
