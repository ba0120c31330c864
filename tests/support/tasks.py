"""Livepeer task JSON and request bodies, built in one place.

:func:`task_json` is what Livepeer answers for a task (``GET /api/task/{id}``), for tests that serve it
from a purpose-built server; :func:`completed_result` is the provider's result of a completed one, as an
event or XCom carries it. Transcodes use the emulator's sample S3 locations (``S3_INPUT``, ``S3_OUTPUT``,
re-exported here), which start at once: nothing to fetch.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from livepeer_studio_emulator.samples import S3_INPUT, S3_OUTPUT

if TYPE_CHECKING:
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook


def task_json(
    task_id: str = "t1", phase: str = "running", *, updated_at: int = 1, **fields: Any
) -> dict[str, Any]:
    """A Livepeer task of type ``upload`` in ``phase``; ``fields`` add or replace top-level keys
    (``status=...`` replaces the whole status)."""
    return {"id": task_id, "type": "upload", "status": {"phase": phase, "updatedAt": updated_at}, **fields}


def task_bytes(task_id: str = "t1", phase: str = "running", **fields: Any) -> bytes:
    """:func:`task_json` as the bytes of an HTTP body."""
    return json.dumps(task_json(task_id, phase, **fields)).encode()


def completed_result(**changes: Any) -> dict[str, Any]:
    """The provider's result of a completed upload task ``t1`` (output asset ``a1``), with ``changes``."""
    return {
        "livepeer_task_id": "t1",
        "type": "upload",
        "phase": "completed",
        "output_asset_id": "a1",
        "asset_spec": {"id": "a1"},
        "output": {},
        "error_message": None,
        **changes,
    }


def transcode_body(name: str = "in") -> dict[str, Any]:
    """The body of ``POST /api/transcode`` of the S3 input ``/<name>.mp4``."""
    return {
        "input": {**S3_INPUT, "path": f"/{name}.mp4"},
        "storage": S3_OUTPUT,
        "outputs": {"hls": {"path": "/hls"}},
    }


def start_transcode(hook: LivepeerHook, output_path: str = "/o") -> Any:
    """Create a transcode task of :data:`S3_INPUT` through ``hook``; returns the hook's answer."""
    return hook.transcode(S3_INPUT, S3_OUTPUT, {"hls": {"path": output_path}})


def start_transcodes(count: int) -> list[str]:
    """Create ``count`` transcode tasks through the default connection; returns their ids."""
    from airflow_provider_livepeer.hooks.livepeer import LivepeerHook

    hook = LivepeerHook()
    return [start_transcode(hook, f"/o/{n}").task.id for n in range(count)]
