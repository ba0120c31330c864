"""The backend's store: the records by id under one lock, their time stamps, views and persistence.

:class:`Store` keeps the tasks, assets, streams, webhooks and outcome rules, stamps changes, shows records as
clients see them at a moment (:mod:`.views`), makes new records, applies the queue limit, keeps the
task list's index (:mod:`.task_index`), and ties the records to the state file (:mod:`.persistence`), the
job runner (:mod:`.jobs`) and the webhook cannon (:mod:`.cannon`), which hears of every new task and
changed timeline.
:class:`~.state.EmulatorState` builds Livepeer's operations on it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from livepeer_studio_emulator.accounts import Account, Accounts
from livepeer_studio_emulator.cannon import WebhookCannon
from livepeer_studio_emulator.clock import Clock, ManualClock, to_ms
from livepeer_studio_emulator.errors import ApiError
from livepeer_studio_emulator.ipfs_storage import with_storage
from livepeer_studio_emulator.jobs import JobRunner, Work
from livepeer_studio_emulator.media import MediaInfo, SourceError
from livepeer_studio_emulator.outcomes import MAX_RETRIES, Outcome, OutcomeRules
from livepeer_studio_emulator.persistence import SavedState, StateFile
from livepeer_studio_emulator.records import (
    AssetRecord,
    JobState,
    TaskRecord,
    new_id,
    new_playback_id,
)
from livepeer_studio_emulator.streams import Streams
from livepeer_studio_emulator.task_index import TaskIndex
from livepeer_studio_emulator.timeline import Durations, reached
from livepeer_studio_emulator.views import asset_json, asset_spec, asset_status, skewed, task_json
from livepeer_studio_emulator.webhooks import Event, Webhooks, task_events

#: An import of a URL still in progress for the same account within this window is answered with it.
DUPLICATE_WINDOW_MS = 15 * 60 * 1000
#: Running and waiting tasks written within this window count towards the queue limit.
QUEUE_WINDOW_MS = 5 * 60 * 1000
# The longest an event waits for the clock to pass the last read (see _event_ms).
_EVENT_WAIT_S = 0.005


class Store:
    """Records, clock and views (see the module docs); the options are :class:`~.state.EmulatorState`'s."""

    #: Set up by :class:`~.state.EmulatorState`.
    _jobs: JobRunner

    def __init__(
        self,
        accounts: Accounts,
        *,
        speed: float,
        durations: Durations | None,
        clock: Clock | None,
        clock_offset: float,
        max_queued_tasks: int,
        state_file: Path | None,
        save_interval: float,
    ) -> None:
        self._accounts = accounts
        self.durations = durations or Durations()
        self.durations.scaled(speed)  # validates speed
        self.speed = speed
        self.clock: Clock = clock or time.time
        self.clock_offset = clock_offset
        self.max_queued_tasks = max_queued_tasks
        self.streams = Streams()
        self.webhooks = Webhooks(self._changed)
        self._rules = OutcomeRules()
        # One re-entrant lock guards the tasks, assets and streams; never held while waiting on I/O.
        self._lock = threading.RLock()
        self._tasks: dict[str, TaskRecord] = {}
        # The task list's index (see .task_index): every task is in it, indexed again when its timeline
        # changes (_timeline_changed).
        self._task_index = TaskIndex()
        self._assets: dict[str, AssetRecord] = {}
        self._seq = 0
        self._last_read_ms = 0
        self._file = None if state_file is None else StateFile(state_file, self._saved, save_interval)
        saved = self._file.load() if self._file is not None else None
        if saved is not None:
            self._tasks = {task.id: task for task in saved.tasks}
            for task in saved.tasks:
                self._task_index.put(task)
            self._assets = {asset.id: asset for asset in saved.assets}
            self._rules.replace(saved.outcomes)
            self.streams.load(saved.streams)
            self.webhooks.load(saved.webhooks)
            self._seq = max([saved.seq, *(task.seq for task in saved.tasks), *(a.seq for a in saved.assets)])
        self.cannon = WebhookCannon(self.webhooks, self._webhook_events, self.clock, speed)
        for task_id in self._tasks:
            self.cannon.watch(task_id)  # an end reached while the emulator was stopped is sent now

    # ---------------------------------------------------------------- accounts

    @property
    def api_keys(self) -> list[str]:
        """The accepted API keys, the main one first."""
        return [account.api_key for account in self._accounts.all()]

    @property
    def accounts(self) -> list[Account]:
        """The accounts, the main one first."""
        return self._accounts.all()

    def add_account(
        self, api_key: str, project_of: str | None = None, *, cors_key_of: str | None = None
    ) -> Account:
        """Accept another API key (see :meth:`.accounts.Accounts.add`)."""
        return self._accounts.add(api_key, project_of, cors_key_of=cors_key_of)

    def account(self, api_key: str | None = None) -> Account:
        """The account of a key (the main one by default); :raises KeyError: unknown key."""
        return self._accounts.get(api_key)

    def authenticate(self, authorization: str | None, method: str, path: str) -> Account:
        """The account of an ``Authorization`` header calling ``method path``.

        :raises ApiError: 401 or 403 in Livepeer's words.
        """
        return self._accounts.authenticate(authorization, method, path)

    # ---------------------------------------------------------------- time

    def _read_ms(self) -> int:
        """Now, for a read; remembers it so later events are stamped after it."""
        now = to_ms(self.clock())
        self._last_read_ms = max(self._last_read_ms, now)
        return now

    def _event_ms(self) -> int:
        """The time stamp of a change (new task, finished job, deleted asset).

        A change is stamped after every read already answered, so a client that saw everything up to
        ``updatedAt`` T and asks for ``gt`` T never misses it: with the wall clock this sleeps (under a
        millisecond, once) until the clock passes the last read. A :class:`ManualClock` stands still by
        design, so its time is used as it is.
        """
        now = to_ms(self.clock())
        if now > self._last_read_ms or isinstance(self.clock, ManualClock):
            return now
        time.sleep(min(_EVENT_WAIT_S, max(0.0, (self._last_read_ms + 1) / 1000 - self.clock())))
        return max(to_ms(self.clock()), self._last_read_ms + 1)

    # ---------------------------------------------------------------- views

    def _task_view(self, task: TaskRecord, now: int) -> dict[str, Any]:
        snapshots = task.timeline()
        return skewed(task_json(task, snapshots, reached(snapshots, now)), round(self.clock_offset * 1000))

    def _asset_view(self, asset: AssetRecord, now: int, details: bool = False) -> dict[str, Any]:
        task = self._tasks.get(asset.task_id) if asset.task_id else None
        if task is None:
            body = asset_json(asset, asset_status(asset, None, 0, now), None, details)
            return with_storage(body, asset, self._tasks, now)
        snapshots = task.timeline()
        status = asset_status(asset, snapshots, reached(snapshots, now), now, task.uploading)
        # The producing upload or clip task's assetSpec.
        sections = [(task.output or {}).get(key) for key in ("upload", "clip")]
        spec = next((s["assetSpec"] for s in sections if isinstance(s, dict) and "assetSpec" in s), None)
        return with_storage(asset_json(asset, status, spec, details), asset, self._tasks, now)

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

    def debug_task(self, task_id: str) -> dict[str, Any]:
        """Everything about a task, for ``GET /_emulator/tasks/{id}``.

        :raises KeyError: unknown task.
        """
        with self._lock:
            task = self._tasks[task_id]
            now = self._read_ms()
            return {
                "task": self._task_view(task, now),
                "outcome": task.outcome.to_json(),
                "job": task.job.to_json() if task.job else None,
                "timeline": [snapshot.status() for snapshot in task.timeline()],
                "now": now,
            }

    # ---------------------------------------------------------------- new records

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
        **fields: Any,
    ) -> TaskRecord:
        """A new task; ``fields`` are the optional ones of :class:`TaskRecord`."""
        # Livepeer: a task's project is its input or output asset's, else the user's default project.
        asset = self._assets.get(fields.get("input_asset_id") or fields.get("output_asset_id") or "")
        task = TaskRecord(
            id=new_id(),
            seq=self._next_seq(),
            type=task_type,
            user_id=account.user_id,
            project_id=asset.project_id
            if asset is not None
            else self._accounts.default_project(account.user_id),
            created_ms=now,
            params=params,
            times=self.durations.scaled(self.speed),
            outcome=outcome,
            **fields,
        )
        self._tasks[task.id] = task
        self._task_index.put(task)
        self.cannon.watch(task.id)
        return task

    def _is_import_in_progress(self, asset: AssetRecord, account: Account, url: str, now: int) -> bool:
        """Whether ``asset`` is the account's recent import of ``url``, still waiting or processing."""
        return (
            asset.user_id == account.user_id
            and asset.project_id == account.project_id
            and asset.deleted_ms is None
            and asset.source.get("type") == "url"
            and asset.source.get("url") == url
            and asset.created_ms > now - DUPLICATE_WINDOW_MS
            and asset.task_id is not None
            and self._asset_view(asset, now)["status"]["phase"] in ("waiting", "processing")
        )

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

    # ---------------------------------------------------------------- jobs

    def _job_work(self, task_id: str) -> Work | None:
        """What a task's job has to do (called by the job runner when the job starts)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.job is None:
                return None
            source = self._assets.get(task.input_asset_id) if task.input_asset_id else None
            source_task = self._tasks.get(source.task_id) if source and source.task_id else None
            media = source_task.job.media if source_task and source_task.job else None
            target = dict(task.export_target) if task.export_target else None
            return Work(task.job, media.size if media else None, target)

    def _job_finished(
        self, task_id: str, job: JobState, media: MediaInfo | None, error: SourceError | None
    ) -> None:
        """Record a job's result (called by the job runner); a source not fetched is tried again later.

        Livepeer retries a task whose source it could not fetch, twice, after its retry delays.
        """
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.job is not job:
                return  # reset meanwhile
            now = self._event_ms()
            if error is not None and error.retried and len(job.failed_tries_ms) < MAX_RETRIES:
                job.detail = str(error)
                job.failed_tries_ms.append(now)
                self._timeline_changed(task)
                # A ManualClock's time moves only when told: the fetch is tried again at once, and the
                # timeline still shows Livepeer's delays.
                delay = task.times.retry_delays_ms[len(job.failed_tries_ms) - 1] / 1000
                self._jobs.submit(task_id, 0.0 if isinstance(self.clock, ManualClock) else delay)
                return
            job.done_ms, job.media = now, media
            job.error, job.detail = (error.task_message, str(error)) if error else (None, None)
            if error is None and job.kind == "import" and media is not None:
                asset = self._assets[task.output_asset_id or ""]
                spec = asset_spec(asset, media.size, media.hashes(), media.video_spec)
                task.output = {task.type: {"assetSpec": spec}}
            self._timeline_changed(task)

    # ---------------------------------------------------------------- persistence

    def _changed(self) -> None:
        """Note a change, to be saved (debounced) in the state file."""
        if self._file is not None:
            self._file.changed()

    def _timeline_changed(self, task: TaskRecord) -> None:
        """Note a change to a task's timeline (its job ended, it was retried, its asset deleted).

        The task is indexed again: the list finds it by the time of its last snapshot.
        """
        self._task_index.put(task)
        self.cannon.watch(task.id)
        self._changed()

    def _webhook_events(self, task_id: str, now_ms: int) -> tuple[list[Event], int | None]:
        """The webhook events a task's end makes now (:func:`.webhooks.task_events`), for the cannon."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return [], None
            asset = self._assets.get(task.output_asset_id or "")
            fired = task.webhook_fired
            listened = self.webhooks.listened(task.user_id, task.project_id)
            events, again_ms = task_events(task, asset, now_ms, listened, self._task_view, self._asset_view)
            if task.webhook_fired != fired:
                self._changed()  # kept in the state file: a restart sends no end twice
            return events, again_ms

    def _saved(self) -> dict[str, Any]:
        """The state file's content, as of now (copied under the lock; encoded and written outside it)."""
        with self._lock:
            saved = SavedState(
                seq=self._seq,
                tasks=list(self._tasks.values()),
                assets=list(self._assets.values()),
                outcomes=self._rules.all(),
                streams=self.streams.all(),
                webhooks=self.webhooks.all(),
            )
            return saved.to_json()

    def flush(self) -> None:
        """Write the state file now if changes are pending.

        They are otherwise written within ``save_interval``, and when the emulator stops.
        """
        if self._file is not None:
            self._file.flush()
