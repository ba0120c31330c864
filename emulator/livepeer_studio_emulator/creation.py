"""Livepeer's calls that create tasks: import, export, transcode and clip.

:class:`TaskCreation` adds them to the :class:`~.store.Store`; :class:`~.state.EmulatorState` sets up
what they use (fetch limits, the clip rate window, the job runner).
"""

from __future__ import annotations

from typing import Any

from livepeer_studio_emulator import payloads, task_params
from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.errors import ApiError, not_found
from livepeer_studio_emulator.ipfs_storage import takes_storage_over
from livepeer_studio_emulator.jobs import export_job
from livepeer_studio_emulator.media import FetchLimits
from livepeer_studio_emulator.outcomes import Outcome
from livepeer_studio_emulator.records import JobState, new_playback_id
from livepeer_studio_emulator.store import Store
from livepeer_studio_emulator.streams import requester_id
from livepeer_studio_emulator.timeline import reached
from livepeer_studio_emulator.views import ipfs_export_output, scheduled_at

#: The phases of a clip task that count towards the clip rate limit.
_UNFINISHED = ("pending", "waiting", "running")


class TaskCreation(Store):
    """The task-creating operations of Livepeer's API (see the module docs)."""

    limits: FetchLimits
    clip_rate_window: float

    def create_import(
        self, account: Account, payload: payloads.NewAssetFromUrl, outcome: Outcome | None = None
    ) -> tuple[int, dict[str, Any]]:
        """``POST /api/asset/upload/url``: 201 ``{asset, task: {id}}``.

        An import of the same URL still in progress for this account is answered 200 with its asset and
        task, as Livepeer does (the one with the smallest id if there are several). A trusted gateway's
        URL is stored as ``ipfs://``/``ar://`` (see :func:`.task_params.import_source`), so importing it
        again never matches.

        :raises ApiError: 400 or 403 for Livepeer's extra checks, 429 when the account's queue is full.
        """
        if payload.encryption is not None and payload.playbackPolicy is None:
            raise ApiError(400, "a playbackPolicy is required when using encryption")
        if payload.profiles is not None and not payload.profiles:
            raise ApiError(400, "assets must have at least one profile")
        # The emulator has no object stores: any objectStoreId is taken as an active one of the caller's.
        private = payload.playbackPolicy is not None and payload.playbackPolicy.type != "public"
        if payload.objectStoreId and private:
            raise ApiError(403, "private assets cannot use custom object store")
        extra, params = task_params.import_fields(payload)
        with self._lock:
            now = self._event_ms()
            matches = [
                a for a in self._assets.values() if self._is_import_in_progress(a, account, payload.url, now)
            ]
            if matches:
                # Livepeer's query has no order and takes one row: the database gives the smallest id.
                first = min(matches, key=lambda match: match.id)
                return 200, {"asset": self._asset_view(first, now), "task": {"id": first.task_id}}
            self._check_capacity(account, now)
            source = task_params.import_source(payload.url)
            asset = self._new_asset(account, payload.name, source, now, extra)
            outcome = outcome or self._rules.take("upload", payload.url, None)
            job = JobState(kind="import", url=payload.url)
            task = self._new_task(
                account, "upload", {"upload": params}, now, outcome, output_asset_id=asset.id, job=job
            )
            asset.task_id = task.id
            self._changed()
            self._jobs.submit(task.id)
            return 201, {"asset": self._asset_view(asset, now), "task": {"id": task.id}}

    def create_export(
        self,
        account: Account,
        asset_id: str,
        params: payloads.CustomExportParams | payloads.IpfsExportParams,
        outcome: Outcome | None = None,
    ) -> dict[str, Any]:
        """``POST /api/asset/{id}/export``: ``{task}``.

        An IPFS export completes with well-formed (fake) CIDs; one without Piñata credentials writes the
        asset's ``storage`` (see :mod:`.ipfs_storage`). A custom export to a loopback URL really
        sends the asset's bytes (read again from its source); to any other URL it just completes.

        :raises ApiError: 404 unknown asset, 412 not ready, 403 another account's, 429 queue full.
        """
        with self._lock:
            now = self._event_ms()
            asset = self._assets.get(asset_id)
            if asset is None:
                raise not_found(f"Asset not found with id {asset_id}")
            view = self._asset_view(asset, now)
            if view["status"]["phase"] != "ready":
                raise ApiError(412, "asset is not ready to be exported")
            if asset.user_id != account.user_id:
                raise ApiError(403, "User can only export their own assets")
            self._check_capacity(account, now)
            job: JobState | None = None
            target: dict[str, Any] | None = None
            output: dict[str, Any] = {"export": {}}
            if isinstance(params, payloads.CustomExportParams):
                custom = params.custom
                target = {"url": custom.url, "method": custom.method, "headers": dict(custom.headers)}
                job = export_job(asset.source, custom.url, self.limits.allow_remote, now)
            else:
                output = {"export": {"ipfs": ipfs_export_output(view)}}
            outcome = outcome or self._rules.take("export", target["url"] if target else None, None)
            task = self._new_task(
                account,
                "export",
                {"export": task_params.export_shown(params)},
                now,
                outcome,
                input_asset_id=asset.id,
                job=job,
                output=output,
                export_target=target,
            )
            spec = task.params["export"].get("ipfs")
            # Livepeer records an export on the asset unless it goes to Piñata with the caller's keys.
            to_livepeer = isinstance(params, payloads.IpfsExportParams) and params.ipfs.pinata is None
            if to_livepeer and takes_storage_over(asset, self._tasks, spec, now):
                asset.ipfs_exports.append(task.id)
            self._changed()
            if job is not None and job.done_ms is None:
                self._jobs.submit(task.id)
            return {"task": self._task_view(task, now)}

    def create_transcode(
        self, account: Account, payload: payloads.TranscodePayload, outcome: Outcome | None = None
    ) -> dict[str, Any]:
        """``POST /api/transcode``: the whole ``transcode-file`` task.

        A URL input is fetched (the task fails if it cannot be); an S3 input is not read.

        :raises ApiError: 429 when the account's queue is full.
        """
        params, input_url = task_params.transcode_params(payload)
        fetched = isinstance(payload.input, payloads.UrlInput)
        with self._lock:
            now = self._event_ms()
            self._check_capacity(account, now)
            job = JobState(kind="transcode", url=input_url) if fetched else None
            outcome = outcome or self._rules.take("transcode-file", input_url if fetched else None, None)
            task = self._new_task(
                account, "transcode-file", {"transcode-file": params}, now, outcome, job=job
            )
            self._changed()
            if job is not None:
                self._jobs.submit(task.id)
            return self._task_view(task, now)

    def create_clip(
        self,
        account: Account,
        payload: payloads.ClipPayload,
        outcome: Outcome | None = None,
        client: str = "127.0.0.1",
    ) -> dict[str, Any]:
        """``POST /api/clip``: ``{task: {id}, asset}``, by the rules of :mod:`.streams`.

        The clip is made of the session's recording file, fetched and probed like an import.

        :param client: the caller's address, part of Livepeer's requester id.
        :raises ApiError: 422 for an ``endTime`` not after ``startTime``; 404, 403, 500 as in :mod:`.streams`.
        """
        if payload.endTime is not None and payload.endTime <= payload.startTime:
            raise ApiError(422, "endTime must occur after startTime")
        requester = requester_id(client, payload.playbackId)
        with self._lock:
            now = self._event_ms()
            recent = self._unfinished_clips(requester, now - round(self.clip_rate_window * 1000), now)
            stream, session = self.streams.clip_source(account, payload.playbackId, payload.sessionId, recent)
            playback_id = new_playback_id()
            source = {"type": "clip", "playbackId": payload.playbackId, "sessionId": session.id}
            name = payload.name or f"clip-{playback_id}"
            asset = self._new_asset(account, name, source, now, playback_id=playback_id)
            task = self._new_task(
                account,
                "clip",
                {"clip": task_params.clip_params(payload, stream.id, session.id)},
                now,
                outcome or self._rules.take("clip", None, payload.playbackId),
                output_asset_id=asset.id,
                requester_id=requester,
                job=JobState(kind="import", url=session.recording_url),
            )
            asset.task_id = task.id
            self._changed()
            self._jobs.submit(task.id)
            return {"task": {"id": task.id}, "asset": self._asset_view(asset, now)}

    def _unfinished_clips(self, requester: str, window_start: int, now: int) -> int:
        """Clip tasks of ``requester`` still pending, waiting or running, scheduled after ``window_start``.

        Livepeer counts a task by its ``scheduledAt``; it writes it before the create call answers, so a
        task not scheduled yet here counts from its creation.
        """
        count = 0
        for task in self._tasks.values():
            if task.type != "clip" or task.requester_id != requester:
                continue
            snapshots = task.timeline()
            index = reached(snapshots, now)
            scheduled = scheduled_at(snapshots, index) or task.created_ms
            if snapshots[index].phase in _UNFINISHED and scheduled > window_start:
                count += 1
        return count

    def retry_task(self, account: Account, task_id: str) -> dict[str, Any]:
        """``POST /api/task/{id}/retry``: a failed or cancelled task runs again; answers ``{"id"}``.

        The task goes back to ``waiting`` (see :func:`.records._retried_run`) and runs once more from now,
        as a new task would: real work that failed (a fetch, an export) is done again, and a scripted
        failure applied to the first run only.

        :raises ApiError: 404 unknown; 400 not failed or cancelled (looked at before the owner, as the
            server does); 403 another user's.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise ApiError(404, "task not found")
            now = self._event_ms()
            snapshots = task.timeline()
            index = reached(snapshots, now)
            if snapshots[index].phase not in ("failed", "cancelled"):
                raise ApiError(400, "task is not in a retryable state")
            if task.user_id != account.user_id:
                raise ApiError(403, "users may only retry their own tasks")
            task.history, task.retried_ms, task.outcome = snapshots[: index + 1], now, Outcome()
            failed_job = task.job if task.job is not None and task.job.error is not None else None
            if failed_job is not None:
                task.job = JobState(kind=failed_job.kind, url=failed_job.url)
            self._timeline_changed(task)
            if failed_job is not None:
                self._jobs.submit(task.id)
            return {"id": task.id}
