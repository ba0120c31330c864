"""The emulator's backend: the operations of Livepeer's API on the emulator's records.

:class:`EmulatorState` implements each API operation (the HTTP layer in :mod:`.app` only parses and
answers) on its :class:`~.store.Store` of records; the calls that create tasks are in :mod:`.creation`,
direct uploads in :mod:`.uploads`. Its other parts live beside it, each in its own module: accounts and
authentication (:mod:`.accounts`), the job runner (:mod:`.jobs`), the state file (:mod:`.persistence`),
the request log (:mod:`.request_log`), scripted outcomes (:mod:`.outcomes`), fault injection
(:mod:`.faults`) and what a task records of its request (:mod:`.task_params`). Task progress is not
simulated by a loop: each task's timeline is computed from its creation time and the clock (see
:mod:`.timeline`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from itertools import compress
from pathlib import Path
from typing import Any

from livepeer_studio_emulator import listing, payloads
from livepeer_studio_emulator.accounts import Account, Accounts, default_api_keys
from livepeer_studio_emulator.clock import Clock, to_ms
from livepeer_studio_emulator.errors import ApiError, not_found
from livepeer_studio_emulator.faults import FaultConfig, FaultInjector
from livepeer_studio_emulator.jobs import JobRunner
from livepeer_studio_emulator.media import (
    DEFAULT_FETCH_TIMEOUT,
    DEFAULT_MAX_SOURCE_BYTES,
    FetchLimits,
)
from livepeer_studio_emulator.outcomes import OutcomeRule
from livepeer_studio_emulator.persistence import DEFAULT_SAVE_INTERVAL
from livepeer_studio_emulator.request_log import RequestLog
from livepeer_studio_emulator.streams import CLIP_RATE_WINDOW_S
from livepeer_studio_emulator.timeline import Durations
from livepeer_studio_emulator.uploads import Uploads
from livepeer_studio_emulator.views import task_row


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
    :param read_lag: seconds a new task or asset stays invisible to ``GET /api/task/{id}`` and
        ``GET /api/asset/{id}`` (404), as Livepeer's replica answers an API key's single reads too.
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
        read_lag: float = 0.0,
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
        self.read_lag = read_lag
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

    def task_page(self, account: Account, query: listing.ListQuery) -> listing.Page:
        """``GET /api/task``: a page of the account's tasks, as :func:`.listing.paginate` cuts it.

        The same page as from :meth:`list_tasks`, at a cost that follows the tasks that may match, not all
        of them: a lower bound on ``updatedAt`` leaves out the tasks that ended before it (see
        :mod:`.task_index`), the filters on ``updatedAt`` are checked on the number, the other filters
        and the order work on light rows (:func:`.views.task_row`), and only the tasks on the page are
        viewed.
        """
        with self._lock:
            then = self._read_ms() - round(self.list_lag * 1000)
            offset = round(self.clock_offset * 1000)
            checks, rest = listing.comparisons(query, "updatedAt")
            bound = listing.lower_bound(checks)
            after = None if bound is None else bound - offset
            ids, updated = self._task_index.updated(account.user_id, account.project_id, after, then)
            for check in checks:
                kept = [check.holds(stamp + offset) for stamp in updated]
                ids, updated = list(compress(ids, kept)), list(compress(updated, kept))
            tasks = map(self._tasks.__getitem__, ids)
            rows = [
                task_row(task, stamp, offset)
                for task, stamp in zip(tasks, updated, strict=True)
                if task.created_ms <= then
            ]
            page = listing.paginate(rows, rest, listing.TASK_FIELDS)
            items = [self._task_view(self._tasks[row["id"]], then) for row in page.items]
            return listing.Page(items, page.next_cursor, page.total)

    def get_task(self, account: Account, task_id: str) -> dict[str, Any]:
        """``GET /api/task/{id}``.

        :raises ApiError: 404 unknown or not on the replica yet, 403 another account's.
        """
        with self._lock:
            now = self._read_ms()
            task = self._tasks.get(task_id)
            if task is None or not self._replicated(task.created_ms, now):
                raise not_found()
            if task.user_id != account.user_id:
                raise ApiError(403, "user can only request information on their own tasks")
            return self._task_view(task, now)

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

        :raises ApiError: 404 unknown, deleted, not on the replica yet, or of another user or project.
        """
        with self._lock:
            now = self._read_ms()
            asset = self._assets.get(asset_id)
            if asset is None or asset.deleted_ms is not None or not self._replicated(asset.created_ms, now):
                raise not_found("Asset not found")
            if asset.user_id != account.user_id or asset.project_id != account.project_id:
                raise not_found()
            return self._asset_view(asset, now, details)

    def _replicated(self, created_ms: int, now: int) -> bool:
        """Whether a record made at ``created_ms`` has reached the replica single reads come from."""
        return created_ms <= now - round(self.read_lag * 1000)

    def delete_asset(self, account: Account, asset_id: str) -> None:
        """``DELETE /api/asset/{id}``: the asset's phase becomes ``deleting`` and it leaves the lists.

        The task making the asset, if unfinished, fails: "task cancelled, asset has been deleted".

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
            asset.deleted_ms = now = self._event_ms()
            task = self._tasks.get(asset.task_id) if asset.task_id else None
            if task is not None and task.timeline()[-1].at_ms > now:
                task.asset_deleted_ms = now
                self._timeline_changed(task)
            else:
                self._changed()

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
        """Forget all tasks, assets, webhooks, outcome rules, faults and logged requests (accounts stay)."""
        with self._lock:
            self._tasks.clear()
            self._task_index.clear()
            self._assets.clear()
            self._rules.replace([])
            self.streams.clear()
            self.webhooks.clear()
            self.cannon.clear()
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
        self.cannon.close()
        if self._file is not None:
            self._file.close()
