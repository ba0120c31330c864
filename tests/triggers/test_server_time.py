"""Each answer carries the server's clock of its own response: concurrent reads through one hook never mix.

The watchers measure "since" from the ``Date`` of the answer that showed a task (``answered_at``), kept on
the answer itself, not on the hook. With a slow and a fast answer in flight at once through one hook, each
keeps its own, whichever lands first.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from tests.support.tasks import start_transcodes


@pytest.mark.livepeer_emulator(speed=1)
async def test_concurrent_reads_through_one_hook_each_keep_their_server_time(
    livepeer_emulator: Any, emulator_conn: str
) -> None:
    slow_id, fast_id = start_transcodes(2)
    # The slow task's reads are answered 3.5 s late; the server dates an answer when the request arrives.
    livepeer_emulator.set_faults(latency_ms=3500, path_prefix=f"/api/task/{slow_id}")
    hook = LivepeerHook()

    async def first_page() -> Any:
        pages = hook.alist_task_pages(limit=10)
        try:
            return await anext(pages)
        finally:
            await pages.aclose()

    try:
        slow_read = asyncio.create_task(hook.aget_task(slow_id))
        await asyncio.sleep(2.2)  # the Date, cached up to a second, is surely a later one
        # Asked later and answered while the slow read is still on its way.
        fast, page = await asyncio.wait_for(asyncio.gather(hook.aget_task(fast_id), first_page()), 10)
        assert not slow_read.done()
        slow = await asyncio.wait_for(slow_read, 10)
    finally:
        await hook.aclose()
    assert slow.answered_at is not None and fast.answered_at is not None and page.answered_at is not None
    # Date headers are whole seconds: each answer kept its own, not the one that landed last or first.
    assert fast.answered_at - slow.answered_at >= 1
    assert page.answered_at - slow.answered_at >= 1
    assert page.task(0).answered_at == page.answered_at
    clocks = [name for name in vars(hook) if "time" in name and "timeout" not in name]
    assert not clocks, "the hook holds no server clock"
