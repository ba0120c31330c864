"""Waiting in the worker (:func:`airflow_provider_livepeer.waiting.wait_for_task`) keeps to its deadline."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowSensorTimeout

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.waiting import wait_for_task
from tests.support.tasks import S3_INPUT, S3_OUTPUT


def test_the_wait_ends_at_its_timeout_when_the_next_poll_would_come_later(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    livepeer_emulator.script_outcome(task_type="transcode-file", outcome="stall")
    hook = LivepeerHook()
    work = hook.transcode(S3_INPUT, S3_OUTPUT, {"mp4": {"path": "/m"}})
    started = time.monotonic()
    with pytest.raises(AirflowSensorTimeout, match=r"did not finish within 3(\.0)? s"):
        # An interval far longer than the timeout: the wait sleeps only until its deadline.
        wait_for_task(hook, work.task.id, poll_interval=30, timeout=3, log=logging.getLogger("test"))
    assert 3 <= time.monotonic() - started < 20  # far below the 30 s interval it did not sleep
    # One read at the start, one at the deadline.
    assert livepeer_emulator.request_count("GET", f"/api/task/{work.task.id}") == 2
