"""The emulator's backend: the operations of Livepeer's API on the emulator's records.

:class:`EmulatorState` implements each API operation (the HTTP layer in :mod:`.app` only parses and
answers) on its :class:`~.store.Store` of records. Its other parts live beside it, each in its own
module: accounts (:mod:`.accounts`), direct uploads (:mod:`.uploads`), the job runner (:mod:`.jobs`), the
state file (:mod:`.persistence`), the request log (:mod:`.request_log`), scripted outcomes
(:mod:`.outcomes`), faults (:mod:`.faults`) and what a task records of its request (:mod:`.task_params`). Task
progress is not simulated by a loop: each task's timeline is computed from its creation time and the
clock (see :mod:`.timeline`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from livepeer_studio_emulator import payloads, task_params
from livepeer_studio_emulator.accounts import Account, Accounts, default_api_keys
from livepeer_studio_emulator.clock import Clock, to_ms
from livepeer_studio_emulator.errors import ApiError, not_found
from livepeer_studio_emulator.faults import FaultConfig, FaultInjector
from livepeer_studio_emulator.jobs import JobRunner, export_job
from livepeer_studio_emulator.media import (
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MAX_SOURCE_BYTES,
    FetchLimits,
)
from livepeer_studio_emulator.outcomes import Outcome, OutcomeRule
from livepeer_studio_emulator.persistence import DEFAULT_SAVE_INTERVAL
from livepeer_studio_emulator.records import JobState, new_playback_id
from livepeer_studio_emulator.request_log import RequestLog
from livepeer_studio_emulator.streams import CLIP_RATE_WINDOW_S, requester_id
from livepeer_studio_emulator.timeline import Durations
from livepeer_studio_emulator.uploads import Uploads
from livepeer_studio_emulator.views import ipfs_export_output


class EmulatorState(Uploads):
    """Everything the emulator knows, and the operations of its API.

    Thread-safe: the server's request threads, the job threads and test code all use it.

    :param api_keys: the accepted API keys, one account each; the first is the main one. Default:
        :func:`~.accounts.default_api_keys`.
    :param speed: how much faster than real time tasks move (1000 turns seconds into milliseconds).
    :param durations: phase durations at speed 1.
    :param clock: returns Unix seconds (default :func:`time.time`); a
        :class:`~livepeer_studio_emulator.clock.ManualClock` makes timing exact.
    :param state_file: JSON file to load at start and save after changes (see :mod:`.persistence`).
    :param faults: the initial fault config.
    :param max_source_bytes: larger import sources fail.
    :param fetch_timeout: seconds allowed to fetch a source.
    :param allow_remote_sources: also fetch sources off this machine (the emulator normally has no internet).
    :param max_queued_tasks: an account with this many pending/waiting/running tasks gets 429 on new ones.
    :param clip_rate_window: seconds within which one requester may schedule 5 clips of a playback id
        (Livepeer: 300).
    :param list_lag: seconds the task list is served behind single-task reads, as from Livepeer's read
        replica: the list shows tasks as they were that long ago.
    :param clock_offset: seconds added to every ``updatedAt`` and ``createdAt`` stamp, as from an API
        process whose clock is off (the ``Date`` header stays right).
    :param job_workers: threads for fetching and exporting.
    :param save_interval: least seconds between two writes of the state file.
    """

    def __init__(
        self,
        api_keys: str | Iterable[str] | None = None,
        *,
        speed: float = 1.0,
        durations: Durations | None = None,
        clock: Clock | None = None,
        state_file: str | os.PathLike[str] | None = None,
        faults: FaultConfig | None = None,
        max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES,
        fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
        allow_remote_sources: bool = False,
        max_queued_tasks: int = 100,
        clip_rate_window: float = CLIP_RATE_WINDOW_S,
        list_lag: float = 0.0,
        clock_offset: float = 0.0,
        job_workers: int = 4,
        save_interval: float = DEFAULT_SAVE_INTERVAL,
    ) -> None:
        accounts = Accounts([api_keys] if isinstance(api_keys, str) else api_keys or default_api_keys())
        super().__init__(
            accounts,
            speed=speed,
            durations=durations,
            clock=clock,
            clock_offset=clock_offset,
            max_queued_tasks=max_queued_tasks,
            state_file=None if state_file is None else Path(state_file),
            save_interval=save_interval,
        )
        self.limits = FetchLimits(max_source_bytes, fetch_timeout, allow_remote_sources)
        self.clip_rate_window = clip_rate_window
        self.list_lag = list_lag
        self.faults = FaultInjector(faults)
        #: The API requests answered, logged by the traffic middleware (tests count them).
        self.request_log = RequestLog()
        self._jobs = JobRunner(job_workers, self.limits, self._job_work, self._job_finished)
        for task in list(self._tasks.values()):
            if task.job is not None and task.job.done_ms is None:
                self._jobs.submit(task.id)  # work interrupted by the last shutdown starts again

    # ---------------------------------------------------------------- tasks and assets API

    def list_tasks(self, account: Account) -> list[dict[str, Any]]:
        """``GET /api/task`` before filtering and paging: the account's tasks, newest first."""
        with self._lock:
            # Served from a replica: as things were list_lag ago.
            then = self._read_ms() - round(self.list_lag * 1000)
            return [
                self._task_view(task, then)
                for task in reversed(self._tasks.values())
                if task.user_id == account.user_id
                and task.project_id == account.project_id
                and task.created_ms <= then
            ]

    def get_task(self, account: Account, task_id: str) -> dict[str, Any]:
        """``GET /api/task/{id}``; :raises ApiError: 404 unknown, 403 another account's."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise not_found()
            if task.user_id != account.user_id:
                raise ApiError(403, "user can only request information on their own tasks")
            return self._task_view(task, self._read_ms())

    def list_assets(self, account: Account, details: bool = False) -> list[dict[str, Any]]:
        """``GET /api/asset`` before filtering and paging: the account's assets, newest first."""
        with self._lock:
            now = self._read_ms()
            return [
                self._asset_view(asset, now, details)
                for asset in reversed(self._assets.values())
                if asset.user_id == account.user_id
                and asset.project_id == account.project_id
                and asset.deleted_ms is None
            ]

    def get_asset(self, account: Account, asset_id: str, details: bool = False) -> dict[str, Any]:
        """``GET /api/asset/{id}``; :raises ApiError: 404 unknown, deleted or another account's."""
        with self._lock:
            asset = self._assets.get(asset_id)
            if asset is None or asset.deleted_ms is not None:
                raise not_found("Asset not found")
            if asset.user_id != account.user_id:
                raise not_found()
            return self._asset_view(asset, self._read_ms(), details)

    def delete_asset(self, account: Account, asset_id: str) -> None:
        """``DELETE /api/asset/{id}``: the asset's phase becomes ``deleting`` and it leaves the lists.

        :raises ApiError: 404 unknown, 403 another account's, 400 already deleted.
        """
        with self._lock:
            asset = self._assets.get(asset_id)
            if asset is None:
                raise not_found("Asset not found")
            if asset.user_id != account.user_id:
                raise ApiError(403, "users may only delete their own assets")
            if asset.deleted_ms is not None:
                raise ApiError(400, "asset is already deleted")
            asset.deleted_ms = self._event_ms()
            self._changed()

    def create_import(
        self, account: Account, payload: payloads.NewAssetFromUrl, outcome: Outcome | None = None
    ) -> tuple[int, dict[str, Any]]:
        """``POST /api/asset/upload/url``: 201 ``{asset, task: {id}}``.

        An import of the same URL still in progress for this account is answered 200 with its asset and
        task, as Livepeer does.

        :raises ApiError: 400 for Livepeer's extra checks, 429 when the account's queue is full.
        """
        if payload.encryption is not None and payload.playbackPolicy is None:
            raise ApiError(400, "a playbackPolicy is required when using encryption")
        if payload.profiles is not None and not payload.profiles:
            raise ApiError(400, "assets must have at least one profile")
        extra, params = task_params.import_fields(payload)
        with self._lock:
            now = self._event_ms()
            for asset in reversed(self._assets.values()):
                if self._is_import_in_progress(asset, account, payload.url, now):
                    return 200, {"asset": self._asset_view(asset, now), "task": {"id": asset.task_id}}
            self._check_capacity(account, now)
            asset = self._new_asset(account, payload.name, {"type": "url", "url": payload.url}, now, extra)
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

        An IPFS export completes with well-formed (fake) CIDs. A custom export to a loopback URL really
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
            window_start = now - round(self.clip_rate_window * 1000)
            recent = sum(
                1
                for task in self._tasks.values()
                if task.type == "clip" and task.requester_id == requester and task.created_ms > window_start
            )
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

    # ---------------------------------------------------------------- streams API

    def create_stream(self, account: Account, payload: payloads.NewStreamPayload) -> dict[str, Any]:
        """``POST /api/stream``: the new stream."""
        body = payloads.dump(payload)
        name = body.pop("name")
        with self._lock:
            stream = self.streams.create(account, name, body, self._event_ms())
            self._changed()
            return stream.view()

    def get_stream(self, account: Account, stream_id: str) -> dict[str, Any]:
        """``GET /api/stream/{id}``; :raises ApiError: 404 unknown or another user's."""
        with self._lock:
            return self.streams.get(account, stream_id).view()

    def list_streams(self, account: Account) -> list[dict[str, Any]]:
        """``GET /api/stream``: the account's streams, newest first."""
        with self._lock:
            return [stream.view() for stream in self.streams.of(account)]

    def add_recording_session(self, stream_id: str, recording_url: str) -> dict[str, Any]:
        """Give a stream a recording session recorded as the media file at ``recording_url``.

        :raises KeyError: unknown stream.
        """
        with self._lock:
            session = self.streams.add_session(stream_id, recording_url, self._event_ms())
            self._changed()
            return {"streamId": stream_id, **session.to_json()}

    # ---------------------------------------------------------------- outcomes

    def add_outcome_rule(self, rule: OutcomeRule) -> OutcomeRule:
        """Script the outcome of the next matching tasks (rules are tried in the order added)."""
        self._rules.add(rule)
        self._changed()
        return rule

    def outcome_rules(self) -> list[OutcomeRule]:
        """The scripted outcome rules still in force."""
        return self._rules.all()

    def remove_outcome_rule(self, rule_id: str) -> bool:
        """Remove one rule; returns whether it existed."""
        removed = self._rules.remove(rule_id)
        self._changed()
        return removed

    def clear_outcome_rules(self) -> None:
        """Remove all scripted outcome rules."""
        self._rules.replace([])
        self._changed()

    # ---------------------------------------------------------------- admin and lifetime

    def health(self) -> dict[str, Any]:
        """For ``GET /_emulator/health``."""
        with self._lock:
            return {
                "status": "ok",
                "accounts": len(self._accounts.all()),
                "tasks": len(self._tasks),
                "assets": len(self._assets),
                "activeJobs": self._jobs.active,
                "speed": self.speed,
                "now": to_ms(self.clock()),
            }

    def reset(self) -> None:
        """Forget all tasks, assets, outcome rules, faults and logged requests (accounts stay)."""
        with self._lock:
            self._tasks.clear()
            self._assets.clear()
            self._rules.replace([])
            self.streams.clear()
            self.request_log.clear()
            self.faults.configure(FaultConfig())
            self._changed()

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        """Wait until no fetch or export is running; returns ``False`` on timeout."""
        return self._jobs.wait(timeout)

    def close(self) -> None:
        """Stop: tell running fetches to stop (at their next chunk), write the state file's pending changes.

        Changes made later (e.g. by a fetch cut short) are not saved.
        """
        self._jobs.close()
        if self._file is not None:
            self._file.close()
