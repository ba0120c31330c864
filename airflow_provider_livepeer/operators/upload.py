"""Upload a file to Livepeer from the worker's disk or from object storage, and wait for its asset.

:class:`LivepeerUploadOperator` checks its source first (nothing is made on Livepeer for a missing, empty
or unreadable file), asks Livepeer for an upload (``POST /api/asset/request-upload``), pushes the ids at
once, sends the bytes from the worker (:meth:`~airflow_provider_livepeer.uploads.Uploader.send`: tus in
chunks, resumable, or one ``PUT`` for a small file), then waits for the asset as the other operators do
(deferrable: the wait, not the upload, moves to the triggerer).

On Airflow 3.3 and later a try that died mid-upload is followed by one that re-attaches: the task id is
kept in ``task_state_store`` before the first byte is sent, and the tus upload's URL as soon as it exists,
so the next try reads the server's offset and sends the rest, into the same asset. If that upload has
expired (Livepeer answers 404 or 410), the next try starts anew with a new asset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.sdk import Context, ObjectStoragePath

from airflow_provider_livepeer.create_requests import RequestUploadRequest
from airflow_provider_livepeer.exceptions import LivepeerApiError
from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.models import CreatedWork, RequestedUpload, TaskPhase
from airflow_provider_livepeer.operators.base import LivepeerTaskOperator
from airflow_provider_livepeer.upload_sources import upload_source
from airflow_provider_livepeer.uploads import DEFAULT_CHUNK_SIZE

#: The ``task_state_store`` key of the upload a try began: its URLs and, once made, the tus upload's URL.
UPLOAD_STATE_KEY = "livepeer_upload"
#: Livepeer's answers about a tus upload that is gone: a retry cannot go on with it.
_GONE = frozenset({404, 410})


class LivepeerUploadOperator(LivepeerTaskOperator):
    """Upload a video file into a new Livepeer asset (``POST /api/asset/request-upload``, then tus).

    :param source: the file: a path on the worker, a URI of Airflow's object storage (``file://``,
        ``s3://conn_id@bucket/key``, ...), or an ``ObjectStoragePath`` (templated).
    :param name: the asset's name (templated).
    :param static_mp4: also make MP4 renditions.
    :param playback_policy: e.g. ``{"type": "jwt"}`` (templated).
    :param storage: e.g. ``{"ipfs": True}`` (templated).
    :param profiles: transcode profiles (templated).
    :param creator_id: an unverified creator id, or Livepeer's creator-id object (templated).
    :param encryption: ``{"encryptedKey": ...}`` for an encrypted source (templated).
    :param c2pa: sign the output with C2PA.
    :param target_segment_size_secs: the HLS segment length in seconds (a numeric string too).
    :param chunk_size: bytes per tus ``PATCH``, held in memory at once (default 8 MiB); a file no larger
        goes in one ``PUT``.

    The other arguments are :class:`~.LivepeerTaskOperator`'s. XComs: ``livepeer_task_id``,
    ``output_asset_id`` and ``playback_id`` right after the request, before the upload; then those of
    the other operators once the task completed.
    """

    request_model = RequestUploadRequest
    template_fields: Sequence[str] = (
        *LivepeerTaskOperator.template_fields,
        "source",
        "name",
        "playback_policy",
        "storage",
        "profiles",
        "creator_id",
        "encryption",
    )

    def __init__(
        self,
        *,
        source: str | os.PathLike[str] | ObjectStoragePath,
        name: str,
        static_mp4: bool | None = None,
        playback_policy: dict[str, Any] | None = None,
        storage: dict[str, Any] | None = None,
        profiles: list[dict[str, Any]] | None = None,
        creator_id: str | dict[str, Any] | None = None,
        encryption: dict[str, Any] | None = None,
        c2pa: bool | None = None,
        target_segment_size_secs: float | str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.name = name
        self.static_mp4 = static_mp4
        self.playback_policy = playback_policy
        self.storage = storage
        self.profiles = profiles
        self.creator_id = creator_id
        self.encryption = encryption
        self.c2pa = c2pa
        self.target_segment_size_secs = target_segment_size_secs
        self.chunk_size = chunk_size
        #: The upload an earlier try left unfinished, as it kept it in ``task_state_store``.
        self._unfinished: dict[str, Any] | None = None

    def create(self, hook: LivepeerHook) -> CreatedWork:
        """Check the source, then ask Livepeer for an upload (its asset and task)."""
        upload_source(self.source)
        return hook.request_upload(**self.create_arguments())

    def deliver(self, work: CreatedWork, context: Context) -> None:
        """Keep the task id and the upload's URLs for a retry, then send the file."""
        if not isinstance(work, RequestedUpload):
            raise TypeError(f"expected the answer of request-upload, not {type(work).__name__}")
        store = self._state_store(context)
        if store is not None:
            # Before the first byte: a try killed mid-upload is followed by one that re-attaches.
            store.set(self.external_id_key, work.task.id)
            store.set(UPLOAD_STATE_KEY, {"url": work.url, "tus_endpoint": work.tus_endpoint})
        self._send({"url": work.url, "tus_endpoint": work.tus_endpoint}, context)

    def get_job_status(self, external_id: Any, context: Context) -> str:
        """Read the earlier try's task; note its upload if the asset still waits for bytes.

        An upload that is gone (expired) cannot be finished: the task counts as failed, and the mixin
        starts new work.
        """
        status = super().get_job_status(external_id, context)
        store = self._state_store(context)
        saved = store.get(UPLOAD_STATE_KEY) if store is not None else None
        if status != TaskPhase.PENDING or not saved or self._made_asset_id is None:
            return status
        if self.hook.get_asset(self._made_asset_id).phase != "uploading":
            return status
        location = saved.get("tus_location")
        if location is not None:
            try:
                self.hook.uploader(self.chunk_size).offset(location)
            except LivepeerApiError as err:
                if err.status not in _GONE:
                    raise
                self.log.warning("The earlier try's upload is gone (%s); uploading anew", err)
                return TaskPhase.FAILED.value
        self._unfinished = saved
        return status

    def poll_until_complete(self, external_id: Any, context: Context) -> Any:
        """Finish the earlier try's upload if it was cut short, then wait as the other operators do."""
        if self._unfinished is not None:
            self._send(self._unfinished, context)
            self._unfinished = None
        return super().poll_until_complete(external_id, context)

    def _send(self, urls: dict[str, Any], context: Context) -> None:
        """Send the file to ``urls`` (``url``, ``tus_endpoint``, and ``tus_location`` to go on with)."""
        source = upload_source(self.source)
        store = self._state_store(context)

        def keep_location(location: str) -> None:
            if store is not None:
                store.set(UPLOAD_STATE_KEY, {**urls, "tus_location": location})

        with source.open() as stream:
            report = self.hook.uploader(self.chunk_size).send(
                stream,
                source.size,
                url=urls["url"],
                tus_endpoint=urls["tus_endpoint"],
                filename=source.filename,
                tus_location=urls.get("tus_location"),
                on_created=keep_location,
            )
        self.log.info(
            "Uploaded %s (%d bytes) to Livepeer: %d bytes sent, %d resumes",
            source.shown,
            report.size,
            report.bytes_sent,
            report.resumes,
        )

    def _state_store(self, context: Context) -> Any:
        """Airflow's ``task_state_store`` of a durable operator (Airflow 3.3+), else ``None``."""
        return context.get("task_state_store") if self.durable else None
