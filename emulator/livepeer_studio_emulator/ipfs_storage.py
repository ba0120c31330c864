"""An asset's ``storage`` as its IPFS exports write it (Livepeer's ``task/scheduler.ts`` and ``asset.ts``).

An IPFS export without Piñata credentials whose spec differs from the asset's current one takes the
asset's storage over when it is created: ``storage.ipfs.spec`` becomes its spec and ``storage.status``
is ``waiting`` with ``tasks.pending`` = its id. While it runs, and is still the pending one, each
progress report makes the status ``processing`` with the highest ``progress`` so far. If it is still the
pending one when it ends:

* completed: ``storage.ipfs`` is the spec, the file's ``cid``, ``url``, ``gatewayUrl``, ``nftMetadata``
  and ``updatedAt``; the status is ``ready`` with ``tasks.last`` only;
* failed: the status is ``failed`` with ``errorMessage``, ``tasks.last`` and ``tasks.failed``, or
  ``reverted`` (the spec going back to the last completed export's) when an earlier export completed.

Each of these writes moves the asset's ``status.updatedAt``. Like the rest of a view, the storage is
computed from the exports' timelines at the moment of the read.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from livepeer_studio_emulator.records import AssetRecord, TaskRecord
from livepeer_studio_emulator.timeline import Snapshot, reached

_ENDED = ("completed", "failed", "cancelled")


def takes_storage_over(asset: AssetRecord, tasks: Mapping[str, TaskRecord], spec: Any, now: int) -> bool:
    """Whether a new IPFS export of ``asset`` with ``spec`` changes its storage (its spec differs)."""
    storage, _ = storage_at(asset, tasks, now)
    return storage is None or storage["ipfs"].get("spec") != spec


def with_storage(
    body: dict[str, Any], asset: AssetRecord, tasks: Mapping[str, TaskRecord], now: int
) -> dict[str, Any]:
    """An asset view (``body``) with its ``storage`` at ``now`` and the ``status.updatedAt`` it moved."""
    storage, moved = storage_at(asset, tasks, now)
    if storage is not None and moved is not None:
        body["storage"] = storage
        body["status"]["updatedAt"] = max(body["status"]["updatedAt"], moved)
    return body


def storage_at(
    asset: AssetRecord, tasks: Mapping[str, TaskRecord], now: int
) -> tuple[dict[str, Any] | None, int | None]:
    """The asset's ``storage`` at ``now`` and the time it was last written, or ``(None, None)``."""
    exports = [tasks[task_id] for task_id in asset.ipfs_exports if task_id in tasks]
    events: list[tuple[int, int, TaskRecord, Snapshot | None]] = []
    for task in exports:
        if task.created_ms > now:
            continue
        events.append((task.created_ms, 0, task, None))
        snapshots = task.timeline()
        index = reached(snapshots, now)
        events += [(s.at_ms, 1, task, s) for s in snapshots[: index + 1] if s.phase == "running"]
        if snapshots[index].phase in _ENDED:
            events.append((snapshots[index].at_ms, 2, task, snapshots[index]))
    storage: dict[str, Any] | None = None
    moved: int | None = None
    for at, _, task, write in sorted(events, key=lambda event: event[:2]):
        if write is None:
            storage = _started(storage, task)
        elif storage is None or storage["status"]["tasks"].get("pending") != task.id:
            continue  # a later export took the storage over: this one's writes are not made
        elif write.phase == "running":
            storage = _progressed(storage, write)
        elif write.phase == "completed":
            storage = _completed(storage, task, at)
        else:
            storage = _failed(storage, task, write, {t.id: t for t in exports})
        moved = at
    return copy.deepcopy(storage), moved


def _spec(task: TaskRecord) -> Any:
    return task.params["export"]["ipfs"]


def _started(storage: dict[str, Any] | None, task: TaskRecord) -> dict[str, Any]:
    before = storage or {}
    tasks = {**before.get("status", {}).get("tasks", {}), "pending": task.id}
    ipfs = {**before.get("ipfs", {}), "spec": _spec(task)}
    return {**before, "ipfs": ipfs, "status": {"phase": "waiting", "tasks": tasks}}


def _progressed(storage: dict[str, Any], report: Snapshot) -> dict[str, Any]:
    before = storage["status"]
    progress = max(report.progress or 0.0, before.get("progress", 0.0))
    return {**storage, "status": {"phase": "processing", "progress": progress, "tasks": before["tasks"]}}


def _completed(storage: dict[str, Any], task: TaskRecord, at: int) -> dict[str, Any]:
    output = (task.output or {}).get("export", {}).get("ipfs", {})
    ipfs: dict[str, Any] = {
        "spec": storage["ipfs"]["spec"],
        "cid": output.get("videoFileCid"),
        "url": output.get("videoFileUrl"),
        "gatewayUrl": output.get("videoFileGatewayUrl"),
    }
    if output.get("nftMetadataCid"):
        ipfs["nftMetadata"] = {
            "cid": output["nftMetadataCid"],
            "url": output.get("nftMetadataUrl"),
            "gatewayUrl": output.get("nftMetadataGatewayUrl"),
        }
    ipfs["updatedAt"] = at
    return {**storage, "ipfs": ipfs, "status": {"phase": "ready", "tasks": {"last": task.id}}}


def _failed(
    storage: dict[str, Any], task: TaskRecord, end: Snapshot, exports: Mapping[str, TaskRecord]
) -> dict[str, Any]:
    last = storage["status"]["tasks"].get("last")
    previous = _spec(exports[last]) if last in exports else None
    status: dict[str, Any] = {"phase": "failed" if previous is None else "reverted"}
    if end.error_message is not None:
        status["errorMessage"] = end.error_message
    status["tasks"] = {"failed": task.id} if last is None else {"last": last, "failed": task.id}
    ipfs = {**storage["ipfs"], "spec": storage["ipfs"]["spec"] if previous is None else previous}
    return {**storage, "ipfs": ipfs, "status": status}
