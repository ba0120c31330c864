"""Each answer carries the server's clock of its own response: concurrent reads through one hook never mix.

The watchers measure "since" from the ``Date`` of the answer that showed a task (``answered_at``), kept on
the answer itself, not on the hook. With a held answer and quick ones in flight at once through one hook,
each keeps its own ``Date``, whichever lands first.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from email.utils import formatdate
from typing import Any

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from tests.support.servers import LoopbackServer, QuietHandler
from tests.support.tasks import task_json

# Each path is answered with a Date of its own, whole seconds apart (a Date header has no finer grain).
DATED = {"/api/task/slow": 1_700_000_000, "/api/task/fast": 1_700_000_010, "/api/task": 1_700_000_020}


async def test_concurrent_reads_through_one_hook_each_keep_their_server_time(
    livepeer_connection: Callable[..., str],
) -> None:
    slow_arrived, release_slow = threading.Event(), threading.Event()

    class Handler(QuietHandler):
        def date_time_string(self, timestamp: float | None = None) -> str:
            return formatdate(DATED[self.path.split("?")[0]], usegmt=True)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/api/task/slow":
                slow_arrived.set()
                release_slow.wait(30)  # held until the quick answers have landed
            body: Any = [task_json("listed")] if path == "/api/task" else task_json(path.rsplit("/", 1)[1])
            self.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    async def first_page(hook: LivepeerHook) -> Any:
        pages = hook.alist_task_pages(limit=10)
        try:
            return await anext(pages)
        finally:
            await pages.aclose()

    with LoopbackServer(Handler) as server:
        try:
            async with LivepeerHook(livepeer_connection(server.url), max_attempts=1) as hook:
                slow_read = asyncio.create_task(hook.aget_task("slow"))
                assert await asyncio.to_thread(slow_arrived.wait, 30)
                # Asked later and answered while the slow read is still held.
                quick = asyncio.gather(hook.aget_task("fast"), first_page(hook))
                fast, page = await asyncio.wait_for(quick, 30)
                assert not slow_read.done()
                release_slow.set()
                slow = await asyncio.wait_for(slow_read, 30)
        finally:
            release_slow.set()  # a held answer must not keep the server from stopping
    # Each kept its own Date: not the one that landed last (the slow one) nor first.
    assert (slow.id, fast.id) == ("slow", "fast")
    assert slow.answered_at == DATED["/api/task/slow"]
    assert fast.answered_at == DATED["/api/task/fast"]
    assert page.answered_at == DATED["/api/task"]
    assert page.task(0).answered_at == DATED["/api/task"]
