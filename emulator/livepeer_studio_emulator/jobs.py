"""The job runner: real work a task waits for (fetching a source, sending an export) in worker threads.

The state hands a task's job over with :meth:`JobRunner.submit`; a worker asks the state what to do
(``begin``), does the blocking work without holding the state's lock, and gives the result back
(``finish``). The task cannot complete before its job is done (see :mod:`.timeline`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from livepeer_studio_emulator.media import (
    FetchLimits,
    MediaInfo,
    SourceError,
    is_loopback_host,
    measure,
    send_export,
)
from livepeer_studio_emulator.records import JobState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Work:
    """What a job does, as read from the state when it starts.

    :param job: the task's job (its ``kind`` and ``url``).
    :param source_size: for an export, the size of the asset's source, if known.
    :param target: for an export, ``{"url", "method", "headers"}`` to send the bytes to.
    """

    job: JobState
    source_size: int | None = None
    target: dict[str, Any] | None = None


#: ``begin(task_id)``: the work to do, or ``None`` if there is none (any more).
Begin = Callable[[str], "Work | None"]
#: ``finish(task_id, job, media, error)``: record the result.
Finish = Callable[[str, JobState, "MediaInfo | None", "SourceError | None"], None]


def export_job(source: dict[str, Any], target_url: str, allow_remote: bool, now_ms: int) -> JobState:
    """The job of a custom export of an asset with this ``source`` to ``target_url``.

    It is done at once, with a note saying why nothing is sent, when the target is off this machine (and
    remote access is not allowed) or the asset has no source bytes (it was not imported from a URL).
    """
    source_url = source.get("url") if source.get("type") == "url" else None
    job = JobState(kind="export", url=source_url)
    if not is_loopback_host(urlsplit(target_url).hostname) and not allow_remote:
        job.done_ms, job.note = now_ms, "not sent: the target is not on this machine (no internet access)"
    elif source_url is None:
        job.done_ms, job.note = now_ms, "not sent: the asset has no source bytes (it was not imported)"
    return job


def perform(
    work: Work, limits: FetchLimits, cancel: threading.Event
) -> tuple[MediaInfo | None, SourceError | None]:
    """Do one job: what an import learnt about its source, and why it failed (``None`` if it did not)."""
    job = work.job
    try:
        if job.kind == "export":
            if job.url is None or work.source_size is None or work.target is None:
                raise SourceError("export failed: the asset has no source bytes to send")
            target = work.target
            send_export(
                job.url, work.source_size, target["url"], target["method"], target["headers"], limits, cancel
            )
        elif job.url is not None:
            return measure(job.url, limits, cancel), None
    except SourceError as err:
        return None, err
    except Exception as err:  # a bug in the emulator must fail the task visibly, not hang it
        log.exception("Emulator job (%s of %s) failed", job.kind, job.url)
        return None, SourceError(f"internal emulator error: {type(err).__name__}: {err}")
    return None, None


class JobRunner:
    """A small thread pool for jobs, counting those not yet finished.

    :param workers: threads.
    :param limits: bounds on reading sources.
    :param begin: reads a task's work from the state (see :data:`Begin`).
    :param finish: writes a job's result to the state (see :data:`Finish`).
    """

    def __init__(self, workers: int, limits: FetchLimits, begin: Begin, finish: Finish) -> None:
        self.limits = limits
        self._begin = begin
        self._finish = finish
        self._idle = threading.Condition()
        self._active = 0
        self._closing = threading.Event()
        self._timers: set[threading.Timer] = set()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="livepeer-emulator-job")

    @property
    def active(self) -> int:
        """Jobs submitted and not yet finished."""
        with self._idle:
            return self._active

    def submit(self, task_id: str, delay: float = 0.0) -> None:
        """Run a task's job in a worker, after ``delay`` seconds (nothing happens once the runner is closed).

        A job waiting for its delay counts as not finished.
        """
        with self._idle:
            self._active += 1
        if delay > 0:
            timer = threading.Timer(delay, self._start, (task_id,))
            timer.daemon = True
            with self._idle:
                self._timers.add(timer)
            timer.start()
            return
        self._start(task_id)

    def _start(self, task_id: str) -> None:
        with self._idle:
            self._timers = {timer for timer in self._timers if timer.is_alive()}
        try:
            future = self._executor.submit(self._run, task_id)
        except RuntimeError:  # the executor is shut down: the emulator is closing
            self._done()
            return
        # Called when the job ends, and also when close() cancels it before it started.
        future.add_done_callback(self._done)

    def _run(self, task_id: str) -> None:
        work = self._begin(task_id)
        if work is not None:
            media, error = perform(work, self.limits, self._closing)
            self._finish(task_id, work.job, media, error)

    def _done(self, _future: Future[None] | None = None) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until no job is running; returns ``False`` on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def close(self) -> None:
        """Stop accepting jobs and tell running fetches to stop (they end at their next chunk)."""
        self._closing.set()
        with self._idle:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
