"""The emulator's in-memory state and the Livepeer rules that govern it.

:class:`EmulatorState` holds the accounts (one per API key), tasks, assets, scripted outcomes, fault
config and request log, and implements each API operation (the HTTP layer in :mod:`.app` only parses and
answers). Task progress is not simulated by a loop: each task's timeline is computed from its creation
time and the clock (see :mod:`.timeline`). Real work (fetching an import's source, sending a custom
export) runs in a small thread pool, and the task cannot complete before it is done.

With a ``state_file``, the state is loaded at start and saved after every change, so a demo can stop and
resume; API keys are not saved (ids are derived from them), so restart with the same keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_livepeer.emulator import payloads
from airflow_provider_livepeer.emulator.clock import Clock, ManualClock, to_ms
from airflow_provider_livepeer.emulator.errors import ApiError, not_found
from airflow_provider_livepeer.emulator.faults import FaultConfig, FaultInjector, RequestRecord
from airflow_provider_livepeer.emulator.media import (
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MAX_SOURCE_BYTES,
    FetchLimits,
    MediaInfo,
    SourceError,
    is_loopback_host,
    measure,
    send_export,
)
from airflow_provider_livepeer.emulator.outcomes import Outcome, OutcomeRule
from airflow_provider_livepeer.emulator.records import (
    Account,
    AssetRecord,
    JobState,
    TaskRecord,
    new_id,
    new_playback_id,
)
from airflow_provider_livepeer.emulator.streams import CLIP_RATE_WINDOW_S, Streams, requester_id
from airflow_provider_livepeer.emulator.timeline import Durations, reached
from airflow_provider_livepeer.emulator.views import (
    IPFS_GATEWAY,
    asset_json,
    asset_spec,
    asset_status,
    skewed,
    task_json,
)

log = logging.getLogger(__name__)

#: The API key used when none is given and ``LIVEPEER_EMULATOR_API_KEY`` is unset.
DEFAULT_API_KEY = "emulator-key"
#: Environment variable with the API key(s) to accept (comma-separated) when none are given.
API_KEY_ENV = "LIVEPEER_EMULATOR_API_KEY"
STATE_FORMAT = "livepeer-emulator-state"
STATE_VERSION = 1
#: An import of a URL still in progress for the same account within this window is answered with it.
DUPLICATE_WINDOW_MS = 15 * 60 * 1000
#: Running and waiting tasks written within this window count towards the queue limit.
QUEUE_WINDOW_MS = 5 * 60 * 1000
REQUEST_LOG_SIZE = 10_000
# How long an event waits for the clock to pass the last read (see _event_ms).
_EVENT_WAIT_S = 0.005


def default_api_keys() -> list[str]:
    """The keys from ``LIVEPEER_EMULATOR_API_KEY`` (comma-separated), else ``[DEFAULT_API_KEY]``."""
    keys = [key.strip() for key in os.environ.get(API_KEY_ENV, "").split(",") if key.strip()]
    return keys or [DEFAULT_API_KEY]


class EmulatorState:
    """Everything the emulator knows, and the operations of its API.

    Thread-safe: the server's event loop, the job threads and test code all use it.

    :param api_keys: the accepted API keys, one account each; the first is the main one. Default:
        :func:`default_api_keys`.
    :param speed: how much faster than real time tasks move (1000 turns seconds into milliseconds).
    :param durations: phase durations at speed 1.
    :param clock: returns Unix seconds (default :func:`time.time`); a
        :class:`~airflow_provider_livepeer.emulator.clock.ManualClock` makes timing exact.
    :param state_file: JSON file to load at start and save after each change.
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
    ) -> None:
        keys = [api_keys] if isinstance(api_keys, str) else list(api_keys or default_api_keys())
        if not keys:
            raise ValueError("The emulator needs at least one API key.")
        self.durations = durations or Durations()
        self.durations.scaled(speed)  # validates speed
        self.speed = speed
        self.clock: Clock = clock or time.time
        self.limits = FetchLimits(max_source_bytes, fetch_timeout, allow_remote_sources)
        self.max_queued_tasks = max_queued_tasks
        self.clip_rate_window = clip_rate_window
        self.list_lag = list_lag
        self.clock_offset = clock_offset
        self.streams = Streams()
        self.state_file = Path(state_file) if state_file is not None else None
        self.faults = FaultInjector(faults)
        # One re-entrant lock guards everything; the condition wakes wait_for_jobs().
        self._lock = threading.RLock()
        self._jobs_done = threading.Condition(self._lock)
        self._active_jobs = 0
        self._closing = threading.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=job_workers, thread_name_prefix="livepeer-emulator-job"
        )
        self._accounts: dict[str, Account] = {}
        self._tasks: dict[str, TaskRecord] = {}
        self._assets: dict[str, AssetRecord] = {}
        self._rules: list[OutcomeRule] = []
        self._requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
        self._seq = 0
        self._last_read_ms = 0
        for key in keys:
            self.add_account(key)
        if self.state_file is not None and self.state_file.exists():
            self._load(self.state_file)
        for task in list(self._tasks.values()):
            if task.job is not None and task.job.done_ms is None:
                self._submit(task)  # work interrupted by the last shutdown starts again

    # ---------------------------------------------------------------- accounts

    @property
    def api_keys(self) -> list[str]:
        """The accepted API keys, the main one first."""
        with self._lock:
            return list(self._accounts)

    @property
    def accounts(self) -> list[Account]:
        """The accounts, the main one first."""
        with self._lock:
            return list(self._accounts.values())

    def add_account(self, api_key: str, project_of: str | None = None) -> Account:
        """Accept another API key; adding a known key returns its account.

        :param project_of: make the key one of a non-default project of this key's user (Livepeer's
            projects: the user's tasks without an asset belong to its default project, so such a key's
            task list never shows its ``transcode-file`` tasks). Without it, a separate user.
        :raises KeyError: ``project_of`` is not a known key.
        """
        with self._lock:
            if project_of is None:
                account = Account.for_key(api_key)
            else:
                account = Account.for_project_key(api_key, self._accounts[project_of])
            return self._accounts.setdefault(api_key, account)

    def _default_project(self, user_id: str) -> str:
        """A user's default project: that of its first key (a key made with ``project_of`` never is)."""
        return next(a.project_id for a in self._accounts.values() if a.user_id == user_id)

    def account(self, api_key: str | None = None) -> Account:
        """The account of a key (the main one by default).

        :raises KeyError: unknown key.
        """
        with self._lock:
            if api_key is None:
                return next(iter(self._accounts.values()))
            return self._accounts[api_key]

    def authenticate(self, authorization: str | None) -> Account:
        """The account of an ``Authorization: Bearer KEY`` header.

        :raises ApiError: 401 with Livepeer's messages (the key is never echoed in full).
        """
        if not authorization:
            raise ApiError(401, "request is not authenticated")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise ApiError(401, f"unsupported authorization header scheme: {scheme}")
        token = token.strip()
        if not token:
            raise ApiError(401, "no authorization token provided")
        with self._lock:
            account = self._accounts.get(token)
        if account is None:
            raise ApiError(401, "no token found: the API key is not known to this emulator")
        return account

    # ---------------------------------------------------------------- time

    def _read_ms(self) -> int:
        """Now, for a read; remembers it so later events are stamped after it."""
        now = to_ms(self.clock())
        self._last_read_ms = max(self._last_read_ms, now)
        return now

    def _event_ms(self) -> int:
        """The time stamp of a change (new task, finished job, deleted asset).

        A change is stamped after every read already answered, so a client that saw everything up to
        ``updatedAt`` T and asks for ``gt`` T never misses it: with the wall clock this waits (under a
        millisecond) for the clock to pass the last read. A :class:`ManualClock` stands still by design,
        so its time is used as it is.
        """
        now = to_ms(self.clock())
        if isinstance(self.clock, ManualClock):
            return now
        deadline = time.monotonic() + _EVENT_WAIT_S
        while now <= self._last_read_ms and time.monotonic() < deadline:
            time.sleep(0.0002)
            now = to_ms(self.clock())
        return max(now, self._last_read_ms + 1)

    # ---------------------------------------------------------------- views

    def _task_view(self, task: TaskRecord, now: int) -> dict[str, Any]:
        snapshots = task.timeline()
        return skewed(task_json(task, snapshots, reached(snapshots, now)), round(self.clock_offset * 1000))

    def _phase(self, task: TaskRecord, now: int) -> str:
        snapshots = task.timeline()
        return snapshots[reached(snapshots, now)].phase

    def _asset_view(self, asset: AssetRecord, now: int, details: bool = False) -> dict[str, Any]:
        task = self._tasks.get(asset.task_id) if asset.task_id else None
        if task is None:
            return asset_json(asset, asset_status(asset, None, 0, now), None, details)
        snapshots = task.timeline()
        status = asset_status(asset, snapshots, reached(snapshots, now), now)
        return asset_json(asset, status, _asset_spec_of(task), details)

    def task_view(self, task_id: str) -> dict[str, Any]:
        """A task as its owner sees it now (for tests and the admin API).

        :raises KeyError: unknown task.
        """
        with self._lock:
            return self._task_view(self._tasks[task_id], self._read_ms())

    def asset_view(self, asset_id: str, details: bool = True) -> dict[str, Any]:
        """An asset as its owner sees it now, deleted or not (for tests and the admin API).

        :raises KeyError: unknown asset.
        """
        with self._lock:
            return self._asset_view(self._assets[asset_id], self._read_ms(), details)

    # ---------------------------------------------------------------- tasks API

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
        """``GET /api/task/{id}``.

        :raises ApiError: 404 unknown, 403 another account's.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                raise not_found()
            if task.user_id != account.user_id:
                raise ApiError(403, "user can only request information on their own tasks")
            return self._task_view(task, self._read_ms())

    # ---------------------------------------------------------------- assets API

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
        """``GET /api/asset/{id}``.

        :raises ApiError: 404 unknown or deleted; 404 ``not found`` for another account's (as Livepeer).
        """
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
            self._save()

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
        with self._lock:
            now = self._event_ms()
            duplicate = self._find_duplicate_import(account, payload.url, now)
            if duplicate is not None:
                asset, task_id = duplicate
                return 200, {"asset": self._asset_view(asset, now), "task": {"id": task_id}}
            self._check_capacity(account, now)
            extra: dict[str, Any] = {}
            if payload.playbackPolicy is not None:
                extra["playbackPolicy"] = payloads.dump(payload.playbackPolicy)
            if payload.creatorId is not None:
                extra["creatorId"] = _creator_id(payload.creatorId)
            if payload.profiles is not None:
                extra["profiles"] = [payloads.dump(profile) for profile in payload.profiles]
            asset = self._new_asset(account, payload.name, {"type": "url", "url": payload.url}, now, extra)
            params: dict[str, Any] = {"url": payload.url}
            if payload.c2pa is not None:
                params["c2pa"] = payload.c2pa
            if payload.profiles is not None:
                params["profiles"] = extra["profiles"]
            if payload.targetSegmentSizeSecs is not None:
                params["targetSegmentSizeSecs"] = _number(payload.targetSegmentSizeSecs)
            task = self._new_task(
                account,
                "upload",
                {"upload": params},
                now,
                outcome or self._scripted_outcome("upload", payload.url, None),
                output_asset_id=asset.id,
                job=JobState("import", payload.url),
            )
            asset.task_id = task.id
            self._save()
            self._submit(task)
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
            output: dict[str, Any]
            if isinstance(params, payloads.CustomExportParams):
                custom = params.custom
                shown: dict[str, Any] = {"custom": payloads.dump(custom)}
                target = {"url": custom.url, "method": custom.method, "headers": dict(custom.headers)}
                job = self._export_job(asset, custom.url, now)
                output = {"export": {}}
                url_key: str | None = custom.url
            else:
                # Piñata credentials are write-only on Livepeer: never shown back.
                shown = {"ipfs": payloads.dump(params.ipfs.model_copy(update={"pinata": None}))}
                output = {"export": {"ipfs": _ipfs_output(view)}}
                url_key = None
            task = self._new_task(
                account,
                "export",
                {"export": shown},
                now,
                outcome or self._scripted_outcome("export", url_key, None),
                input_asset_id=asset.id,
                job=job,
                output=output,
                export_target=target,
            )
            self._save()
            if job is not None and job.done_ms is None:
                self._submit(task)
            return {"task": self._task_view(task, now)}

    def _export_job(self, asset: AssetRecord, target_url: str, now: int) -> JobState:
        source_url = asset.source.get("url") if asset.source.get("type") == "url" else None
        job = JobState("export", source_url)
        if not is_loopback_host(urlsplit(target_url).hostname) and not self.limits.allow_remote:
            job.done_ms, job.note = now, "not sent: the target is not on this machine (no internet access)"
        elif source_url is None:
            job.done_ms, job.note = now, "not sent: the asset has no source bytes (it was not imported)"
        return job

    def create_transcode(
        self, account: Account, payload: payloads.TranscodePayload, outcome: Outcome | None = None
    ) -> dict[str, Any]:
        """``POST /api/transcode``: the whole ``transcode-file`` task.

        A URL input is fetched (the task fails if it cannot be); an S3 input is not read.

        :raises ApiError: 429 when the account's queue is full.
        """
        with self._lock:
            now = self._event_ms()
            self._check_capacity(account, now)
            job: JobState | None = None
            if isinstance(payload.input, payloads.UrlInput):
                input_url = payload.input.url
                job = JobState("transcode", input_url)
            else:
                path = payload.input.path if payload.input.path.startswith("/") else f"/{payload.input.path}"
                input_url = _object_store_url(payload.input.endpoint, payload.input.bucket) + path
            if isinstance(payload.storage, payloads.S3Storage):
                storage_url = _object_store_url(payload.storage.endpoint, payload.storage.bucket)
            else:
                proof = payload.storage.credentials.proof
                storage_url = f"w3s://{base64.urlsafe_b64encode(proof.encode()).decode().rstrip('=')}@/"
            outputs = payloads.dump(payload.outputs)
            for output in outputs.values():
                if not output["path"].startswith("/"):
                    output["path"] = f"/{output['path']}"
            params: dict[str, Any] = {
                "input": {"url": input_url},
                "storage": {"url": storage_url},
                "outputs": outputs,
            }
            if payload.profiles is not None:
                params["profiles"] = [payloads.dump(profile) for profile in payload.profiles]
            if payload.targetSegmentSizeSecs is not None:
                params["targetSegmentSizeSecs"] = _number(payload.targetSegmentSizeSecs)
            if payload.creatorId is not None:
                params["creatorId"] = (
                    payload.creatorId
                    if isinstance(payload.creatorId, str)
                    else payloads.dump(payload.creatorId)
                )
            if payload.c2pa is not None:
                params["c2pa"] = payload.c2pa
            task = self._new_task(
                account,
                "transcode-file",
                {"transcode-file": params},
                now,
                outcome or self._scripted_outcome("transcode-file", input_url if job else None, None),
                job=job,
            )
            self._save()
            if job is not None:
                self._submit(task)
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
            asset = self._new_asset(
                account,
                payload.name or f"clip-{playback_id}",
                {"type": "clip", "playbackId": payload.playbackId, "sessionId": session.id},
                now,
                playback_id=playback_id,
            )
            strategy: dict[str, Any] = {
                "playbackId": payload.playbackId,
                "startTime": _number(payload.startTime),
            }
            if payload.endTime is not None:
                strategy["endTime"] = _number(payload.endTime)
            task = self._new_task(
                account,
                "clip",
                {
                    "clip": {
                        "clipStrategy": strategy,
                        "url": f"https://recordings.livepeer-emulator.invalid/{stream.id}/{session.id}/output.m3u8",
                        "sessionId": session.id,
                        "inputId": stream.id,
                    }
                },
                now,
                outcome or self._scripted_outcome("clip", None, payload.playbackId),
                output_asset_id=asset.id,
                requester_id=requester,
                job=JobState("import", session.recording_url),
            )
            asset.task_id = task.id
            self._save()
            self._submit(task)
            return {"task": {"id": task.id}, "asset": self._asset_view(asset, now)}

    # ---------------------------------------------------------------- streams API

    def create_stream(self, account: Account, payload: payloads.NewStreamPayload) -> dict[str, Any]:
        """``POST /api/stream``: the new stream."""
        body = payloads.dump(payload)
        name = body.pop("name")
        with self._lock:
            stream = self.streams.create(account, name, body, self._event_ms())
            self._save()
            return stream.view()

    def get_stream(self, account: Account, stream_id: str) -> dict[str, Any]:
        """``GET /api/stream/{id}``.

        :raises ApiError: 404 unknown or another user's.
        """
        with self._lock:
            return self.streams.get(account, stream_id).view()

    def list_streams(self, account: Account) -> list[dict[str, Any]]:
        """``GET /api/stream``: the account's streams, newest first."""
        with self._lock:
            return [stream.view() for stream in self.streams.of(account)]

    def add_recording_session(self, stream_id: str, recording_url: str) -> dict[str, Any]:
        """Give a stream a recording session whose recording is the media file at ``recording_url``.

        :raises KeyError: unknown stream.
        """
        with self._lock:
            session = self.streams.add_session(stream_id, recording_url, self._event_ms())
            self._save()
            return {"streamId": stream_id, **session.to_json()}

    # ---------------------------------------------------------------- creation helpers

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new_asset(
        self,
        account: Account,
        name: str,
        source: dict[str, Any],
        now: int,
        extra: dict[str, Any] | None = None,
        playback_id: str | None = None,
    ) -> AssetRecord:
        asset = AssetRecord(
            id=new_id(),
            seq=self._next_seq(),
            user_id=account.user_id,
            project_id=account.project_id,
            playback_id=playback_id or new_playback_id(),
            name=name,
            source=source,
            created_ms=now,
            extra=extra or {},
        )
        self._assets[asset.id] = asset
        return asset

    def _new_task(
        self,
        account: Account,
        task_type: str,
        params: dict[str, Any],
        now: int,
        outcome: Outcome,
        *,
        input_asset_id: str | None = None,
        output_asset_id: str | None = None,
        requester_id: str | None = None,
        job: JobState | None = None,
        output: dict[str, Any] | None = None,
        export_target: dict[str, Any] | None = None,
    ) -> TaskRecord:
        # Livepeer: a task's project is its input or output asset's, else the user's default project.
        asset = self._assets.get(input_asset_id or output_asset_id or "")
        task = TaskRecord(
            id=new_id(),
            seq=self._next_seq(),
            type=task_type,
            user_id=account.user_id,
            project_id=asset.project_id if asset is not None else self._default_project(account.user_id),
            created_ms=now,
            params=params,
            times=self.durations.scaled(self.speed),
            outcome=outcome,
            input_asset_id=input_asset_id,
            output_asset_id=output_asset_id,
            requester_id=requester_id,
            job=job,
            output=output,
            export_target=export_target,
        )
        self._tasks[task.id] = task
        return task

    def _find_duplicate_import(self, account: Account, url: str, now: int) -> tuple[AssetRecord, str] | None:
        for asset in reversed(self._assets.values()):
            if (
                asset.user_id == account.user_id
                and asset.project_id == account.project_id
                and asset.deleted_ms is None
                and asset.source.get("type") == "url"
                and asset.source.get("url") == url
                and asset.created_ms > now - DUPLICATE_WINDOW_MS
                and asset.task_id is not None
                and self._asset_view(asset, now)["status"]["phase"] in ("waiting", "processing")
            ):
                return asset, asset.task_id
        return None

    def _check_capacity(self, account: Account, now: int) -> None:
        # Livepeer counts running tasks and waiting ones (scheduled or retrying) written in the last
        # 5 minutes; pending tasks do not count.
        queued = 0
        for task in self._tasks.values():
            if task.user_id != account.user_id:
                continue
            snapshots = task.timeline()
            snapshot = snapshots[reached(snapshots, now)]
            if snapshot.phase in ("running", "waiting") and snapshot.at_ms > now - QUEUE_WINDOW_MS:
                queued += 1
        if queued >= self.max_queued_tasks:
            # Livepeer sends no Retry-After with this one.
            raise ApiError(429, f"user {account.user_id} has reached the maximum number of pending tasks")

    # ---------------------------------------------------------------- outcomes

    def _scripted_outcome(self, task_type: str, url: str | None, playback_id: str | None) -> Outcome:
        for rule in self._rules:
            if rule.matches(task_type, url, playback_id):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule.outcome
        return Outcome()

    def add_outcome_rule(self, rule: OutcomeRule) -> OutcomeRule:
        """Script the outcome of the next matching tasks (rules are tried in the order added)."""
        with self._lock:
            self._rules.append(rule)
            self._save()
            return rule

    def outcome_rules(self) -> list[OutcomeRule]:
        """The scripted outcome rules still in force."""
        with self._lock:
            return list(self._rules)

    def remove_outcome_rule(self, rule_id: str) -> bool:
        """Remove one rule; returns whether it existed."""
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            self._save()
            return len(self._rules) != before

    def clear_outcome_rules(self) -> None:
        """Remove all scripted outcome rules."""
        with self._lock:
            self._rules.clear()
            self._save()

    # ---------------------------------------------------------------- jobs

    def _submit(self, task: TaskRecord) -> None:
        with self._lock:
            self._active_jobs += 1
        try:
            self._executor.submit(self._run_job, task.id)
        except RuntimeError:  # the executor is shut down: the emulator is closing
            with self._lock:
                self._active_jobs -= 1
                self._jobs_done.notify_all()

    def _run_job(self, task_id: str) -> None:
        try:
            with self._lock:
                task = self._tasks.get(task_id)
                if task is None or task.job is None:
                    return
                job = task.job
                source = self._assets.get(task.input_asset_id) if task.input_asset_id else None
                size = _media_size(self._tasks.get(source.task_id) if source and source.task_id else None)
                target = dict(task.export_target or {})
            media: MediaInfo | None = None
            error: str | None = None
            try:
                if job.kind == "export":
                    if job.url is None or size is None:
                        raise SourceError("export failed: the asset has no source bytes to send")
                    send_export(
                        job.url,
                        size,
                        target["url"],
                        target["method"],
                        target["headers"],
                        self.limits,
                        self._closing,
                    )
                elif job.url is not None:
                    media = measure(job.url, self.limits, self._closing)
            except SourceError as err:
                error = str(err)
            except Exception as err:  # a bug in the emulator must fail the task visibly, not hang it
                log.exception("Emulator job for task %s failed", task_id)
                error = f"internal emulator error: {type(err).__name__}: {err}"
            with self._lock:
                if self._tasks.get(task_id) is not task or task.job is not job:
                    return  # reset meanwhile
                job.done_ms, job.error, job.media = self._event_ms(), error, media
                if error is None and job.kind == "import" and media is not None:
                    asset = self._assets[task.output_asset_id or ""]
                    spec = asset_spec(asset, media.size, media.hashes(), media.video_spec)
                    task.output = {task.type: {"assetSpec": spec}}
                self._save()
        finally:
            with self._lock:
                self._active_jobs -= 1
                self._jobs_done.notify_all()

    def wait_for_jobs(self, timeout: float = 10.0) -> bool:
        """Wait until no fetch or export is running; returns ``False`` on timeout."""
        with self._jobs_done:
            return self._jobs_done.wait_for(lambda: self._active_jobs == 0, timeout)

    def close(self) -> None:
        """Stop accepting work and tell running fetches to stop (they end at their next chunk)."""
        self._closing.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---------------------------------------------------------------- admin

    def debug_task(self, task_id: str) -> dict[str, Any]:
        """Everything about a task, for ``GET /_emulator/tasks/{id}``.

        :raises KeyError: unknown task.
        """
        with self._lock:
            task = self._tasks[task_id]
            now = self._read_ms()
            snapshots = task.timeline()
            return {
                "task": self._task_view(task, now),
                "outcome": task.outcome.to_json(),
                "job": task.job.to_json() if task.job else None,
                "timeline": [snapshot.to_json() for snapshot in snapshots],
                "now": now,
            }

    def health(self) -> dict[str, Any]:
        """For ``GET /_emulator/health``."""
        with self._lock:
            return {
                "status": "ok",
                "accounts": len(self._accounts),
                "tasks": len(self._tasks),
                "assets": len(self._assets),
                "activeJobs": self._active_jobs,
                "speed": self.speed,
                "now": to_ms(self.clock()),
            }

    def reset(self) -> None:
        """Forget all tasks, assets, outcome rules, faults and logged requests (accounts stay)."""
        with self._lock:
            self._tasks.clear()
            self._assets.clear()
            self._rules.clear()
            self.streams.clear()
            self._requests.clear()
            self.faults.configure(FaultConfig())
            self._save()

    def record_request(self, record: RequestRecord) -> None:
        """Log one API request (called by the traffic middleware)."""
        with self._lock:
            self._requests.append(record)

    def requests(self) -> list[RequestRecord]:
        """The logged API requests, oldest first (the last 10 000)."""
        with self._lock:
            return list(self._requests)

    def request_count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """How many logged API requests match.

        :param method: e.g. ``GET``.
        :param path: the exact path (``/api/task``), or a prefix ending in ``*`` (``/api/task/*``).
        :param status: the status the client got.
        """
        return sum(1 for record in self.requests() if _request_matches(record, method, path, status))

    def reset_requests(self) -> None:
        """Forget the logged requests."""
        with self._lock:
            self._requests.clear()

    # ---------------------------------------------------------------- persistence

    def _save(self) -> None:
        if self.state_file is None:
            return
        data = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "savedAt": to_ms(time.time()),
            "seq": self._seq,
            "tasks": [task.to_json() for task in self._tasks.values()],
            "assets": [asset.to_json() for asset in self._assets.values()],
            "outcomes": [rule.to_json() for rule in self._rules],
            "streams": self.streams.to_json(),
        }
        # Write then rename, so a crash never leaves half a file.
        tmp = self.state_file.with_name(f".{self.state_file.name}.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
                raise ValueError(f"not a {STATE_FORMAT} file")
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"version {data.get('version')} is not {STATE_VERSION}")
            tasks = [TaskRecord.from_json(item) for item in data["tasks"]]
            assets = [AssetRecord.from_json(item) for item in data["assets"]]
            rules = [OutcomeRule.from_json(item) for item in data.get("outcomes", [])]
            seq = int(data.get("seq", 0))
            self.streams.load(data.get("streams", []))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"Cannot load the emulator state file {path}: {err}") from err
        self._tasks = {task.id: task for task in tasks}
        self._assets = {asset.id: asset for asset in assets}
        self._rules = rules
        self._seq = max([seq, *(task.seq for task in tasks), *(asset.seq for asset in assets)])


def _asset_spec_of(task: TaskRecord) -> dict[str, Any] | None:
    for key in ("upload", "clip"):
        section = (task.output or {}).get(key)
        if isinstance(section, dict) and isinstance(section.get("assetSpec"), dict):
            return section["assetSpec"]  # type: ignore[no-any-return]
    return None


def _media_size(task: TaskRecord | None) -> int | None:
    if task is None or task.job is None or task.job.media is None:
        return None
    return task.job.media.size


def _ipfs_output(asset: Mapping[str, Any]) -> dict[str, str]:
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
    """A well-formed CIDv1 (dag-pb, sha2-256, base32): ``bafybei...``; not the real IPFS hash of the file."""
    return "b" + base64.b32encode(bytes([0x01, 0x70, 0x12, 0x20]) + digest).decode().lower().rstrip("=")


def _object_store_url(endpoint: str, bucket: str) -> str:
    # Livepeer builds s3+https://KEY:SECRET@host/bucket and masks the credentials in what it shows.
    parts = urlsplit(endpoint)
    return f"s3+{parts.scheme}://***:***@{parts.netloc}/{bucket}"


def _creator_id(value: payloads.UnverifiedCreatorId | str) -> dict[str, Any]:
    if isinstance(value, str):
        return {"type": "unverified", "value": value}
    return payloads.dump(value)


def _number(value: float) -> int | float:
    """A JSON number as the client sent it (pydantic made ``5`` into ``5.0``)."""
    return int(value) if float(value).is_integer() else value


def _request_matches(record: RequestRecord, method: str | None, path: str | None, status: int | None) -> bool:
    if method is not None and record.method != method.upper():
        return False
    if status is not None and record.status != status:
        return False
    if path is None:
        return True
    if path.endswith("*"):
        return record.path.startswith(path[:-1])
    return record.path == path
