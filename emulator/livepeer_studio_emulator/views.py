"""What clients see: tasks and assets as Livepeer's API returns them, at a given moment.

Field names, which fields appear in which phase, and their order follow Livepeer Studio's server: a
task's ``output`` appears once it is completed; write-only fields
(``output.upload.videoFilePath``, ``metadataFilePath``) and emulator-only facts never appear; an asset
gets ``playbackUrl`` once half processed (it has an HLS manifest then), and ``size``, ``hash``,
``videoSpec`` and ``downloadUrl`` once ready; ``videoSpec.tracks`` of an asset is only shown with
``?details=1`` (the task's ``assetSpec`` always has them).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from livepeer_studio_emulator.records import AssetRecord, TaskRecord
from livepeer_studio_emulator.timeline import Snapshot

#: The processing progress from which an asset has an HLS manifest, and so a ``playbackUrl`` (Livepeer
#: sets it as soon as the asset's files include one; ``downloadUrl`` only once the asset is ready).
HLS_MANIFEST_PROGRESS = 0.5

# Obviously fake hosts (RFC 2606 ``.invalid``): URLs with the real shapes that lead nowhere.
CDN_BASE = "https://vod-cdn.livepeer-emulator.invalid"
IPFS_GATEWAY = "https://ipfs.livepeer-emulator.invalid/ipfs/"


def task_json(task: TaskRecord, snapshots: Sequence[Snapshot], index: int) -> dict[str, Any]:
    """A task as ``GET /api/task/{id}`` shows it while ``snapshots[index]`` is in force."""
    snapshot = snapshots[index]
    body: dict[str, Any] = {"id": task.id, "type": task.type, "createdAt": task.created_ms}
    scheduled = scheduled_at(snapshots, index)
    if scheduled is not None:
        body["scheduledAt"] = scheduled
    if task.input_asset_id:
        body["inputAssetId"] = task.input_asset_id
    if task.output_asset_id:
        body["outputAssetId"] = task.output_asset_id
    # userId is not in the public OpenAPI task schema, but the server returns it (db-schema.yaml) and
    # it is one of the list filters.
    body["userId"] = task.user_id
    body["projectId"] = task.project_id
    if task.requester_id:
        body["requesterId"] = task.requester_id
    body["params"] = json_copy(task.params)
    body["status"] = snapshot.status()
    # Only a completed task shows what it made: a failed one never carries an ``assetSpec``.
    if snapshot.phase == "completed" and task.output is not None:
        body["output"] = json_copy(task.output)
    return body


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists and plain values).

    A list page views up to a thousand tasks: this is several times faster than :func:`copy.deepcopy`,
    which handles any object.
    """
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


def task_row(task: TaskRecord, updated_ms: int, offset_ms: int) -> dict[str, Any]:
    """What the task list filters and orders on (``listing.TASK_FIELDS``), as the task's view has it.

    Far cheaper than the view (no copies of ``params``, no ``status`` to build): a list makes one for each
    task that may match, and views only those on its page.

    :param updated_ms: the time of the task's snapshot in force.
    :param offset_ms: the shift :func:`skewed` applies.
    """
    row: dict[str, Any] = {
        "id": task.id,
        "type": task.type,
        "createdAt": task.created_ms + offset_ms,
        "userId": task.user_id,
        "projectId": task.project_id,
        "status": {"updatedAt": updated_ms + offset_ms},
    }
    if task.input_asset_id:
        row["inputAssetId"] = task.input_asset_id
    if task.output_asset_id:
        row["outputAssetId"] = task.output_asset_id
    return row


def scheduled_at(snapshots: Sequence[Snapshot], index: int) -> int | None:
    """A task's ``scheduledAt`` while ``snapshots[index]`` is in force, or ``None`` before it is scheduled.

    Livepeer sets it when it schedules a task with ``retries`` 0: first, and again after a retry through
    the API (a retry after an error keeps it).
    """
    return next(
        (
            s.at_ms
            for s in reversed(snapshots[: index + 1])
            if s.phase == "waiting" and not s.retries and s.error_message is None
        ),
        None,
    )


def skewed(task: dict[str, Any], offset_ms: int) -> dict[str, Any]:
    """A task view with its time stamps shifted by ``offset_ms``, as an off clock would write them."""
    if offset_ms:
        for section, key in ((task, "createdAt"), (task, "scheduledAt"), (task["status"], "updatedAt")):
            if key in section:
                section[key] += offset_ms
    return task


def asset_status(
    asset: AssetRecord,
    snapshots: Sequence[Snapshot] | None,
    index: int,
    now_ms: int,
    uploading: bool = False,
) -> dict[str, Any]:
    """An asset's ``status``, following the task that produces it.

    The asset is ``uploading`` while its direct upload's bytes arrive, waits while its task is pending or
    waiting, is ``processing`` (with the highest progress seen: a retry does not move it back) while it
    runs, and ends ``ready`` or ``failed`` (and stays ``failed`` while a task retried through the API runs
    again).
    """
    if asset.deleted_ms is not None and asset.deleted_ms <= now_ms:
        # Livepeer marks a deleted asset ``deleting`` (it then answers 404 and leaves the lists).
        return {"phase": "deleting", "updatedAt": asset.deleted_ms}
    if snapshots is None:
        return {"phase": "ready", "updatedAt": asset.created_ms}
    current = snapshots[index]
    if current.phase == "completed":
        return {"phase": "ready", "updatedAt": current.at_ms}
    # A retried task's asset stays failed until the new run ends: Livepeer's progress reports only
    # update assets that are waiting or processing.
    ended = [s for s in snapshots[: index + 1] if s.phase in ("failed", "cancelled")]
    if ended:
        return {
            "phase": "failed",
            "updatedAt": ended[-1].at_ms,
            "errorMessage": ended[-1].error_message or "failed",
        }
    runs = [s for s in snapshots[: index + 1] if s.phase == "running"]
    if not runs:
        return {"phase": "uploading" if uploading else "waiting", "updatedAt": asset.created_ms}
    return {
        "phase": "processing",
        "updatedAt": runs[-1].at_ms,
        "progress": max(s.progress or 0.0 for s in runs),
    }


def asset_json(
    asset: AssetRecord, status: dict[str, Any], spec: dict[str, Any] | None, details: bool = False
) -> dict[str, Any]:
    """An asset as ``GET /api/asset/{id}`` shows it.

    :param status: from :func:`asset_status`.
    :param spec: the producing task's ``assetSpec`` once the asset is ready.
    :param details: keep ``videoSpec.tracks`` (``?details=1``).
    """
    body: dict[str, Any] = {
        "id": asset.id,
        "playbackId": asset.playback_id,
        "userId": asset.user_id,
        "createdAt": asset.created_ms,
        "status": status,
        "name": asset.name,
        "source": copy.deepcopy(asset.source),
        "projectId": asset.project_id,
    }
    body.update(copy.deepcopy(asset.extra))
    if spec is not None and status["phase"] == "ready":
        body["size"] = spec["size"]
        body["hash"] = copy.deepcopy(spec["hash"])
        video_spec = copy.deepcopy(spec["videoSpec"])
        if not details:
            video_spec.pop("tracks", None)
        body["videoSpec"] = video_spec
        body["downloadUrl"] = f"{CDN_BASE}/asset/{asset.playback_id}/video/download.{_extension(video_spec)}"
    if status["phase"] == "ready" or status.get("progress", 0.0) >= HLS_MANIFEST_PROGRESS:
        body["playbackUrl"] = f"{CDN_BASE}/hls/{asset.playback_id}/index.m3u8"
    return body


def asset_spec(
    asset: AssetRecord, size: int, hashes: list[dict[str, str]], video_spec: dict[str, Any]
) -> dict[str, Any]:
    """The ``assetSpec`` a completed upload or clip task reports for its asset (valid as an ``asset``)."""
    return {
        "id": asset.id,
        "name": asset.name,
        "type": "video",
        "playbackId": asset.playback_id,
        "source": copy.deepcopy(asset.source),
        "size": size,
        "hash": hashes,
        "videoSpec": video_spec,
    }


def _extension(video_spec: dict[str, Any]) -> str:
    return {"mpegts": "ts", "matroska": "mkv", "mov": "mov", "avi": "avi"}.get(
        str(video_spec.get("format")), "mp4"
    )


def ipfs_export_output(asset: Mapping[str, Any]) -> dict[str, str]:
    """``output.export.ipfs`` of an IPFS export of ``asset`` (its JSON): well-formed CIDs and URLs.

    The CIDs are derived from the asset's sha256 (or its id), so they are stable; they are not the real
    IPFS hashes of the file and its metadata.
    """
    sha256 = next((h["hash"] for h in asset.get("hash") or [] if h.get("algorithm") == "sha256"), None)
    video_digest = bytes.fromhex(sha256) if sha256 else hashlib.sha256(asset["id"].encode()).digest()
    metadata = json.dumps({"name": asset["name"], "properties": {"video": f"ipfs://{_cid(video_digest)}"}})
    video_cid, metadata_cid = _cid(video_digest), _cid(hashlib.sha256(metadata.encode()).digest())
    return {
        "videoFileCid": video_cid,
        "videoFileUrl": f"ipfs://{video_cid}",
        "videoFileGatewayUrl": f"{IPFS_GATEWAY}{video_cid}",
        "nftMetadataCid": metadata_cid,
        "nftMetadataUrl": f"ipfs://{metadata_cid}",
        "nftMetadataGatewayUrl": f"{IPFS_GATEWAY}{metadata_cid}",
    }


def _cid(digest: bytes) -> str:
    """A well-formed CIDv1 (dag-pb, sha2-256, base32): ``bafybei...``."""
    return "b" + base64.b32encode(bytes([0x01, 0x70, 0x12, 0x20]) + digest).decode().lower().rstrip("=")
