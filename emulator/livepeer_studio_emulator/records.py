"""What the emulator stores about tasks and assets; their JSON form is that of the state file.

Records hold only what was decided when they were made (and the result of real work, once done); what a
client sees at a given moment is computed from them by :mod:`.views` and :mod:`.timeline`.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any, Literal

from pydantic import Field, PrivateAttr

from livepeer_studio_emulator.media import MediaInfo
from livepeer_studio_emulator.outcomes import Outcome
from livepeer_studio_emulator.shapes import CamelModel
from livepeer_studio_emulator.timeline import (
    ASSET_DELETED_MESSAGE,
    Gate,
    PhaseTimes,
    Snapshot,
    build_timeline,
    cut_short,
)

_PLAYBACK_ID_ALPHABET = string.ascii_lowercase + string.digits

JobKind = Literal["import", "export", "transcode"]


def new_id() -> str:
    """A new task or asset id: a UUID4 string, like Livepeer's."""
    return str(uuid.uuid4())


def new_playback_id() -> str:
    """A new playback id: 16 lowercase letters and digits."""
    return "".join(secrets.choice(_PLAYBACK_ID_ALPHABET) for _ in range(16))


class JobState(CamelModel):
    """Real work a task waits for: fetching a source, or sending an export.

    :param kind: ``import`` (fetch and measure), ``export`` (send bytes) or ``transcode`` (fetch the input).
    :param url: what is read.
    :param done_ms: when it finished, or ``None`` while it runs.
    :param error: why it failed, as the task's ``errorMessage`` says it (Livepeer's words).
    :param detail: why it failed, in the emulator's words (for ``GET /_emulator/tasks/{id}``).
    :param failed_tries_ms: when each earlier try failed in a way Livepeer retries (a source that could not
        be fetched); each was tried again after Livepeer's retry delay.
    :param media: what an import learnt about its source.
    :param note: what was done, in words (e.g. an export not sent because its target is not loopback).
    """

    kind: JobKind
    url: str | None
    done_ms: int | None = None
    error: str | None = None
    detail: str | None = None
    failed_tries_ms: list[int] = Field(default_factory=list)
    media: MediaInfo | None = None
    note: str | None = None

    def gate(self) -> Gate:
        """The job as the timeline's gate."""
        return Gate(self.done_ms, self.error, tuple(self.failed_tries_ms))


class TaskRecord(CamelModel):
    """A task as stored. ``params`` is what clients see (credentials already masked)."""

    id: str
    seq: int
    type: str
    user_id: str
    project_id: str
    created_ms: int
    params: dict[str, Any]
    times: PhaseTimes
    outcome: Outcome
    input_asset_id: str | None = None
    output_asset_id: str | None = None
    requester_id: str | None = None
    job: JobState | None = None
    #: The ``output`` shown once completed; for tasks with a job it is set when the job succeeds.
    output: dict[str, Any] | None = None
    #: For custom exports: where and how to send the bytes (headers may hold secrets: never shown).
    export_target: dict[str, Any] | None = None
    #: When its output asset was deleted before it finished: it fails then.
    asset_deleted_ms: int | None = None
    #: When the task was last retried (``POST /api/task/{id}/retry``), and its snapshots until then.
    retried_ms: int | None = None
    history: list[Snapshot] = Field(default_factory=list)
    #: For a direct upload (``request-upload``): the task stays ``pending`` until its bytes have all
    #: arrived, at ``uploaded_ms``; its phases are laid out from then on.
    awaits_upload: bool = False
    uploaded_ms: int | None = None
    #: The end (``phase@updatedAt``) its webhook events were sent for, so none is sent twice.
    webhook_fired: str | None = None
    _timeline: list[Snapshot] | None = PrivateAttr(default=None)
    _timeline_key: object = PrivateAttr(default=None)

    def timeline(self) -> list[Snapshot]:
        """The task's snapshots, rebuilt when its job or upload moved on, it was retried or its asset gone."""
        gate = self.job.gate() if self.job is not None else None
        key = (gate, self.uploaded_ms, self.retried_ms, self.asset_deleted_ms)
        if self._timeline is None or self._timeline_key != key:
            if self.awaits_upload and self.uploaded_ms is None:
                self._timeline = [Snapshot(at_ms=self.created_ms, phase="pending")]
            elif self.retried_ms is None:
                self._timeline = build_timeline(
                    self.created_ms, self.times, self.outcome, gate, self.uploaded_ms
                )
            else:
                self._timeline = self.history + _retried_run(self.retried_ms, self, gate)
            if self.asset_deleted_ms is not None:
                self._timeline = cut_short(self._timeline, self.asset_deleted_ms, ASSET_DELETED_MESSAGE)
            self._timeline_key = key
        return self._timeline

    @property
    def uploading(self) -> bool:
        """Whether it is a direct upload whose bytes have not all arrived yet."""
        return self.awaits_upload and self.uploaded_ms is None


def _retried_run(retried_ms: int, task: TaskRecord, gate: Gate | None) -> list[Snapshot]:
    """The snapshots of a task's run after a retry, as Livepeer's forced ``retryTask`` writes them.

    The task goes back to ``waiting`` with ``retries`` 0 and its last ``errorMessage``, is scheduled again
    at once (``waiting`` without the message: a new ``scheduledAt``), then runs as a new task would.
    """
    times = task.times.model_copy(update={"pending_ms": 0})
    run = build_timeline(retried_ms + 1, times, task.outcome, gate)
    # The new run starts at its scheduling; what build_timeline puts before it is a new task's creation.
    scheduled = next(index for index, snapshot in enumerate(run) if snapshot.phase == "waiting")
    error = task.history[-1].error_message if task.history else None
    return [Snapshot(phase="waiting", at_ms=retried_ms, retries=0, error_message=error), *run[scheduled:]]


class AssetRecord(CamelModel):
    """An asset as stored; its status and media fields come from the task that produces it.

    :param extra: payload fields echoed on the asset (``playbackPolicy``, ``creatorId``, ``profiles``).
    :param ipfs_exports: the IPFS exports that took its ``storage`` over, oldest first (see
        :mod:`.ipfs_storage`).
    """

    id: str
    seq: int
    user_id: str
    project_id: str
    playback_id: str
    name: str
    source: dict[str, Any]
    created_ms: int
    task_id: str | None = None
    deleted_ms: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    ipfs_exports: list[str] = Field(default_factory=list)
