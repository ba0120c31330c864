"""Direct uploads: ``POST /api/asset/request-upload``, and the uploads its answer points at.

Livepeer answers a request-upload with a new asset in phase ``uploading``, its ``upload`` task (which
stays ``pending`` until the last byte arrives), and two ways in, each carrying the upload's token: ``url``
for one ``PUT`` of the whole file, and ``tusEndpoint``, where a tus 1.0 client creates a resumable upload
(:mod:`.upload_routes` serves both). Once the bytes are all there, they go through the same job as an
import's source (:func:`~.media.measure`: size, hashes, the real media facts read with PyAV), and the
task's phases start from that moment; a file that is not audio or video fails the task.

The bytes are kept in a temporary folder until their job has read them. Uploads in progress live in memory
only: the state file keeps the asset and the task, not the half-sent upload.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from livepeer_studio_emulator import payloads, task_params
from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.creation import TaskCreation
from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.faults import FaultInjector
from livepeer_studio_emulator.jobs import JobRunner
from livepeer_studio_emulator.media import MediaInfo, SourceError
from livepeer_studio_emulator.outcomes import Outcome
from livepeer_studio_emulator.records import JobState, new_id

#: How long an upload's token (and the tus upload made with it) is valid, in seconds of the emulator's
#: clock (the task's ``speed`` does not shorten it).
UPLOAD_EXPIRY_S = 24 * 3600.0
#: The paths the answer points at, under the API's base URL.
DIRECT_UPLOAD_PATH = "/api/asset/upload/direct"
TUS_PATH = "/api/asset/upload/tus"


@dataclass
class Upload:
    """One requested upload: where its bytes go, and how many have arrived.

    :param token: the secret in its ``url`` and ``tusEndpoint``.
    :param tus_id: the id of the tus upload made with the token (its ``Location``), once made.
    :param length: the size announced (``Upload-Length``, or the ``PUT``'s ``Content-Length``).
    :param offset: the bytes kept so far: a resume starts there.
    :param busy: a ``PATCH`` or ``PUT`` is writing its bytes now.
    """

    token: str
    task_id: str
    asset_id: str
    expires_ms: int
    path: Path
    tus_id: str | None = None
    length: int | None = None
    offset: int = 0
    done: bool = False
    busy: bool = False

    @property
    def file_url(self) -> str:
        """The ``file://`` URL of the bytes, which the import job reads."""
        return self.path.as_uri()


@dataclass
class _Registry:
    """The uploads by token and by tus id, and the folder of their bytes."""

    by_token: dict[str, Upload] = field(default_factory=dict)
    by_tus_id: dict[str, Upload] = field(default_factory=dict)
    folder: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="livepeer-emulator-uploads-")
    )
    lock: threading.Lock = field(default_factory=threading.Lock)


class Uploads(TaskCreation):
    """The direct-upload operations of :class:`~.state.EmulatorState`."""

    #: The job runner and the fault injector, made by :class:`~.state.EmulatorState`.
    _jobs: JobRunner
    faults: FaultInjector

    @cached_property
    def _uploads(self) -> _Registry:
        return _Registry()

    def request_upload(
        self,
        account: Account,
        payload: payloads.NewAssetPayload,
        base_url: str,
        outcome: Outcome | None = None,
    ) -> dict[str, Any]:
        """``POST /api/asset/request-upload``: ``{url, tusEndpoint, asset, task: {id}}``.

        :param base_url: the emulator's URL as the client reached it, for ``url`` and ``tusEndpoint``.
        :raises ApiError: 429 when the account's queue is full.
        """
        extra, params = task_params.import_fields(payload)
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = self._event_ms()
            self._check_capacity(account, now)
            asset = self._new_asset(account, payload.name, {"type": "directUpload"}, now, extra)
            outcome = outcome or self._rules.take("upload", None, None)
            task = self._new_task(
                account,
                "upload",
                {"upload": params},
                now,
                outcome,
                output_asset_id=asset.id,
                awaits_upload=True,
            )
            asset.task_id = task.id
            self._changed()
            upload = Upload(
                token=token,
                task_id=task.id,
                asset_id=asset.id,
                expires_ms=now + round(UPLOAD_EXPIRY_S * 1000),
                path=Path(self._uploads.folder.name) / f"{asset.id}.upload",
            )
            view = self._asset_view(asset, now)
        upload.path.touch()
        with self._uploads.lock:
            self._uploads.by_token[token] = upload
        base = base_url.rstrip("/")
        return {
            "url": f"{base}{DIRECT_UPLOAD_PATH}?token={token}",
            "tusEndpoint": f"{base}{TUS_PATH}?token={token}",
            "asset": view,
            "task": {"id": task.id},
        }

    def upload_of_token(self, token: str | None) -> Upload:
        """The upload a token was issued for.

        :raises ApiError: 401 without a token, 404 for an unknown one, 410 once it expired, 409 once its
            bytes have all arrived.
        """
        if not token:
            raise ApiError(401, "missing upload token")
        with self._uploads.lock:
            upload = self._uploads.by_token.get(token)
        return self._usable(upload)

    def tus_upload(self, tus_id: str) -> Upload:
        """The tus upload of a ``Location``; :raises ApiError: as :meth:`upload_of_token`."""
        with self._uploads.lock:
            upload = self._uploads.by_tus_id.get(tus_id)
        return self._usable(upload, finished_ok=True)

    def create_tus_upload(self, upload: Upload, length: int) -> str:
        """Start the tus upload of a token's upload (again: a new creation starts over); its id."""
        with self._uploads.lock:
            if upload.tus_id is not None:
                self._uploads.by_tus_id.pop(upload.tus_id, None)
            upload.tus_id, upload.length, upload.offset = new_id(), length, 0
            self._uploads.by_tus_id[upload.tus_id] = upload
        upload.path.write_bytes(b"")
        return upload.tus_id

    def finish_upload(self, upload: Upload) -> None:
        """All the bytes are there: the task starts, and its job reads them as an import's source."""
        with self._lock:
            task = self._tasks.get(upload.task_id)
            upload.done = True
            if task is None:
                return  # the emulator was reset meanwhile
            task.uploaded_ms = self._event_ms()
            task.job = JobState(kind="import", url=upload.file_url)
            self._timeline_changed(task)
            self._jobs.submit(task.id)

    def _usable(self, upload: Upload | None, finished_ok: bool = False) -> Upload:
        if upload is None or upload.task_id not in self._tasks:
            raise ApiError(404, "upload not found")
        if self._read_ms() >= upload.expires_ms:
            raise ApiError(410, "upload expired")
        if upload.done and not finished_ok:
            raise ApiError(409, "upload already completed")
        return upload

    def _job_finished(
        self, task_id: str, job: JobState, media: MediaInfo | None, error: SourceError | None
    ) -> None:
        """Record the job's result; an upload's bytes, read now, are deleted."""
        super()._job_finished(task_id, job, media, error)
        with self._uploads.lock:
            finished = [u for u in self._uploads.by_token.values() if u.task_id == task_id and u.done]
        for upload in finished:
            upload.path.unlink(missing_ok=True)
