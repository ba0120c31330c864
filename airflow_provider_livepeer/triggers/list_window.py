"""The shared list's window: one list round tells the shared watcher what changed since its last look.

A round asks ``GET /api/task`` for every task updated since the window's start, the server's own clock
of the last round minus ``overlap`` seconds, and further back for tasks last seen before the window
(``BEHIND``): it reads the window whole, and reaches further back until it has read ``catch_up_pages``
pages in all, the window's included. It moves the tasks it answers for through the
:class:`~airflow_provider_livepeer.triggers.watched_index.Tracking` states: a ``BEHIND`` task the round
reached back to is ``COVERED``, one beyond its pages is ``UNREAD`` (read directly), and a task that
changed within the window yet was left out of it is ``UNLISTED``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from airflow_provider_livepeer.hooks.livepeer import LivepeerHook
from airflow_provider_livepeer.triggers.watched_index import Tracking, WatchedIndex
from airflow_provider_livepeer.triggers.watched_tasks import Feed, take_page


@dataclass
class ListWindow:
    """The time range the shared list answers for, and its rounds.

    :param overlap: seconds subtracted from the server's clock when asking what changed since the last look.
    """

    overlap: float
    #: The start of the regular window (the server's clock, Unix seconds), once a round was read.
    since: float | None = None
    #: Whether a round is under way: its earlier pages went by unseen by a task seen meanwhile.
    listing: bool = False

    def covers(self, at: float) -> bool:
        """Whether the next rounds would list a change of a task whose state is known as of ``at``."""
        return not self.listing and self.since is not None and at - self.overlap >= self.since

    async def list_round(
        self,
        hook: LivepeerHook,
        watched: WatchedIndex,
        feeds: list[Feed],
        page_size: int,
        catch_up_pages: int,
    ) -> list[str] | None:
        """One list round: every task changed since the window's start, and since older last looks.

        :param page_size: tasks per list page.
        :param catch_up_pages: the pages a round reads in all, its window's included, when it reaches back
            to tasks seen before that window (the window itself is read whole, whatever its pages).
        :returns: the tasks found unlisted by this round, or ``None`` when no list was read (not before
            anything gives a time to start from).
        """
        behind = [known for task_id in watched.in_state(Tracking.BEHIND) if (known := watched.get(task_id))]
        new_feeds = [feed for feed in feeds if not feed.covered]
        regular = self.since
        if regular is None and not behind and not new_feeds:
            return None  # only tasks still waiting for their first read: nothing to start from yet
        since = min(
            [w.seen_at - self.overlap for w in behind if w.seen_at is not None]
            + [feed.since - self.overlap for feed in new_feeds]
            + ([regular] if regular is not None else [])
        )
        filters = [{"id": "updatedAt", "value": {"gt": int(since * 1000)}}]
        answered_at, pages, reached = None, 0, since
        mentioned: set[str] = set()
        # Ties in updatedAt broken by id: pages are cut by offset.
        listing = hook.alist_task_pages(limit=page_size, filters=filters, order="updatedAt-true,id-true")
        self.listing = True
        try:
            async for page in listing:
                answered_at = answered_at or page.answered_at
                pages += 1
                oldest = take_page(page, watched, feeds, mentioned)
                # Let go of the page's JSON before the next one is awaited: kept, it survives into the
                # collector's older generations and brings on full collections of the triggerer's heap.
                del page
                if pages >= catch_up_pages and oldest is not None and (regular is None or oldest <= regular):
                    # The regular window is read and the page budget spent: what lies further back is
                    # read directly, task by task.
                    reached = oldest
                    break
        finally:
            self.listing = False
            await listing.aclose()
        unlisted = []
        if answered_at is not None and reached == since:
            unlisted = watched.mark_unlisted(mentioned, since, answered_at, one_page=pages == 1)
        for known in behind:
            if known.tracking is not Tracking.BEHIND:
                continue  # marked unlisted by this round
            shown = known.mentioned_round == watched.round  # the list showed it as it is now
            if shown or (known.seen_at is not None and known.seen_at - self.overlap >= reached):
                known.tracking = Tracking.COVERED
            else:
                known.tracking = Tracking.UNREAD  # beyond the pages read: the list cannot vouch for it
        for feed in new_feeds:
            # Beyond the pages read, a feed is reached back to at the next poll again.
            feed.covered = feed.since - self.overlap >= reached
        # Without a Date header, the local clock stands in (the overlap absorbs a small skew).
        now = answered_at if answered_at is not None else time.time()
        self.since = max(self.since or since, now - self.overlap)
        return unlisted
