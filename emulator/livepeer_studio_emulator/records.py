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
from livepeer_studio_emulator.timeline import Gate, PhaseTimes, Snapshot, build_timeline

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
    :param error: why it failed.
    :param media: what an import learnt about its source.
    :param note: what was done, in words (e.g. an export not sent because its target is not loopback).
    """

    kind: JobKind
    url: str | None
    done_ms: int | None = None
    error: str | None = None
    media: MediaInfo | None = None
    note: str | None = None

    def gate(self) -> Gate:
        """The job as the timeline's gate."""
        return Gate(self.done_ms, self.error)


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
    #: For a direct upload (``request-upload``): the task stays ``pending`` until its bytes have all
    #: arrived, at ``uploaded_ms``; its phases are laid out from then on.
    awaits_upload: bool = False
    uploaded_ms: int | None = None
    _timeline: list[Snapshot] | None = PrivateAttr(default=None)
    _timeline_key: object = PrivateAttr(default=None)

    def timeline(self) -> list[Snapshot]:
        """The task's snapshots, rebuilt only when its job's or its upload's state changed."""
        gate = self.job.gate() if self.job is not None else None
        key = (gate, self.uploaded_ms)
        if self._timeline is None or self._timeline_key != key:
            if self.awaits_upload and self.uploaded_ms is None:
                self._timeline = [Snapshot(at_ms=self.created_ms, phase="pending")]
            else:
                self._timeline = build_timeline(
                    self.created_ms, self.times, self.outcome, gate, self.uploaded_ms
                )
            self._timeline_key = key
        return self._timeline

    @property
    def uploading(self) -> bool:
        """Whether it is a direct upload whose bytes have not all arrived yet."""
        return self.awaits_upload and self.uploaded_ms is None


class AssetRecord(CamelModel):
    """An asset as stored; its status and media fields come from the task that produces it.

    :param extra: payload fields echoed on the asset (``playbackPolicy``, ``creatorId``, ``profiles``).
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
