"""What the emulator stores: accounts, tasks and assets, and their JSON form in the state file.

Records hold only what was decided when they were made (and the result of real work, once done); what a
client sees at a given moment is computed from them by :mod:`.views` and :mod:`.timeline`.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_livepeer.emulator.media import MediaInfo
from airflow_provider_livepeer.emulator.outcomes import Outcome
from airflow_provider_livepeer.emulator.timeline import Gate, PhaseTimes, Snapshot, build_timeline

# User and project ids are derived from the API key, so a state file needs no keys to be reloaded.
_ID_NAMESPACE = uuid.UUID("5f1d3a56-0c55-4b8e-9a55-6c6976657065")
_PLAYBACK_ID_ALPHABET = string.ascii_lowercase + string.digits

JobKind = Literal["import", "export", "transcode"]


def new_id() -> str:
    """A new task or asset id: a UUID4 string, like Livepeer's."""
    return str(uuid.uuid4())


def new_playback_id() -> str:
    """A new playback id: 16 lowercase letters and digits."""
    return "".join(secrets.choice(_PLAYBACK_ID_ALPHABET) for _ in range(16))


def mask_key(api_key: str) -> str:
    """An API key shortened so it can be logged: its first 4 characters at most, then ``****``."""
    shown = api_key[:4] if len(api_key) >= 12 else api_key[:2] if len(api_key) >= 6 else ""
    return f"{shown}****"


@dataclass(frozen=True)
class Account:
    """One API key's account: its user id and default project."""

    api_key: str
    user_id: str
    project_id: str

    @classmethod
    def for_key(cls, api_key: str) -> Account:
        """The account of an API key; the same key always gets the same ids."""
        if not api_key or any(ch.isspace() for ch in api_key):
            raise ValueError("An emulator API key must be a non-empty string without spaces.")
        return cls(
            api_key=api_key,
            user_id=str(uuid.uuid5(_ID_NAMESPACE, f"user:{api_key}")),
            project_id=str(uuid.uuid5(_ID_NAMESPACE, f"project:{api_key}")),
        )

    @classmethod
    def for_project_key(cls, api_key: str, user: Account) -> Account:
        """A key of another project of ``user``: same user, a project of its own (not the default)."""
        own = cls.for_key(api_key)
        return cls(api_key=api_key, user_id=user.user_id, project_id=own.project_id)

    def to_json(self) -> dict[str, str]:
        """For the admin API: the ids and a masked key."""
        return {"userId": self.user_id, "projectId": self.project_id, "apiKey": mask_key(self.api_key)}


@dataclass
class JobState:
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

    def to_json(self) -> dict[str, Any]:
        """For the state file and the admin API."""
        return {
            "kind": self.kind,
            "url": self.url,
            "doneMs": self.done_ms,
            "error": self.error,
            "media": self.media.to_json() if self.media else None,
            "note": self.note,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobState:
        """From the state file."""
        return cls(
            kind=data["kind"],
            url=data.get("url"),
            done_ms=data.get("doneMs"),
            error=data.get("error"),
            media=MediaInfo.from_json(data["media"]) if data.get("media") else None,
            note=data.get("note"),
        )


@dataclass
class TaskRecord:
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
    _timeline: list[Snapshot] | None = field(default=None, repr=False, compare=False)
    _timeline_key: object = field(default=None, repr=False, compare=False)

    def timeline(self) -> list[Snapshot]:
        """The task's snapshots, rebuilt only when its job's state changed."""
        gate = self.job.gate() if self.job is not None else None
        if self._timeline is None or self._timeline_key != gate:
            self._timeline = build_timeline(self.created_ms, self.times, self.outcome, gate)
            self._timeline_key = gate
        return self._timeline

    def to_json(self) -> dict[str, Any]:
        """For the state file."""
        return {
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "userId": self.user_id,
            "projectId": self.project_id,
            "createdMs": self.created_ms,
            "params": self.params,
            "times": self.times.to_json(),
            "outcome": self.outcome.to_json(),
            "inputAssetId": self.input_asset_id,
            "outputAssetId": self.output_asset_id,
            "requesterId": self.requester_id,
            "job": self.job.to_json() if self.job else None,
            "output": self.output,
            "exportTarget": self.export_target,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TaskRecord:
        """From the state file."""
        return cls(
            id=data["id"],
            seq=int(data["seq"]),
            type=data["type"],
            user_id=data["userId"],
            project_id=data["projectId"],
            created_ms=int(data["createdMs"]),
            params=data["params"],
            times=PhaseTimes.from_json(data["times"]),
            outcome=Outcome.from_json(data["outcome"]),
            input_asset_id=data.get("inputAssetId"),
            output_asset_id=data.get("outputAssetId"),
            requester_id=data.get("requesterId"),
            job=JobState.from_json(data["job"]) if data.get("job") else None,
            output=data.get("output"),
            export_target=data.get("exportTarget"),
        )


@dataclass
class AssetRecord:
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
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """For the state file."""
        return {
            "id": self.id,
            "seq": self.seq,
            "userId": self.user_id,
            "projectId": self.project_id,
            "playbackId": self.playback_id,
            "name": self.name,
            "source": self.source,
            "createdMs": self.created_ms,
            "taskId": self.task_id,
            "deletedMs": self.deleted_ms,
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssetRecord:
        """From the state file."""
        return cls(
            id=data["id"],
            seq=int(data["seq"]),
            user_id=data["userId"],
            project_id=data["projectId"],
            playback_id=data["playbackId"],
            name=data["name"],
            source=data["source"],
            created_ms=int(data["createdMs"]),
            task_id=data.get("taskId"),
            deleted_ms=data.get("deletedMs"),
            extra=data.get("extra") or {},
        )
