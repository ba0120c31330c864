"""The job runner's count of unfinished jobs: jobs cancelled by ``close()`` are not left counted."""

from __future__ import annotations

import threading

from livepeer_studio_emulator.jobs import JobRunner, Work
from livepeer_studio_emulator.media import FetchLimits
from livepeer_studio_emulator.records import JobState


def test_jobs_cancelled_by_close_are_no_longer_counted() -> None:
    started, release = threading.Event(), threading.Event()
    begun: list[str] = []

    def begin(task_id: str) -> Work | None:
        begun.append(task_id)
        started.set()
        release.wait(30)
        return None

    def finish(task_id: str, job: JobState, media: object, error: str | None) -> None:
        raise AssertionError("no job has work to finish")

    runner = JobRunner(1, FetchLimits(1, 1.0, False), begin, finish)
    for task_id in ("first", "second", "third"):
        runner.submit(task_id)
    assert started.wait(30)
    assert runner.active == 3  # one running, two queued behind it on the single worker
    runner.close()  # cancels the two queued jobs
    release.set()
    assert runner.wait(30)
    assert runner.active == 0
    assert begun == ["first"]
    runner.submit("after close")  # refused: not counted either
    assert runner.active == 0


def test_a_finished_job_is_no_longer_counted() -> None:
    finished = threading.Event()

    def begin(task_id: str) -> Work | None:
        return Work(JobState(kind="import", url=None))

    def finish(task_id: str, job: JobState, media: object, error: str | None) -> None:
        assert (task_id, error) == ("t", None)
        finished.set()

    runner = JobRunner(2, FetchLimits(1, 1.0, False), begin, finish)
    runner.submit("t")
    assert runner.wait(30)
    assert finished.is_set()
    assert runner.active == 0
    runner.close()
