"""Which watched tasks the shared watcher reads directly (``GET /api/task/{id}``), and when.

The shared list serves every task it can vouch for; a direct read serves the others, by their
:class:`~airflow_provider_livepeer.triggers.watched_index.Tracking` state:

* ``UNREAD`` tasks (first looks, and tasks the list could not reach back to): at once, beside the polling,
  so a thousand new triggers do not hold the list back (the watcher runs a few reads at a time);
* after each list round, ``UNLISTED`` tasks, at most ``unlisted_batch`` of them, in turn (those read go
  to the back), then the safety net: the tasks the list has not mentioned for ``safety_net_polls``
  rounds, longest unmentioned first, at most ``safety_net_batch``;
* when Livepeer refuses the filtered list, every task not being read already, each interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_livepeer.triggers.watched_index import Tracking, WatchedIndex


@dataclass(frozen=True)
class DirectReads:
    """How many direct reads the shared watcher makes beside its list, and of which tasks.

    :param unlisted_batch: the most direct reads per interval of tasks the list does not show.
    :param safety_net_batch: the most safety-net reads per interval (a task is due after the index's
        ``safety_net_polls`` rounds unmentioned).
    """

    unlisted_batch: int
    safety_net_batch: int

    @staticmethod
    def start(watched: WatchedIndex) -> list[str]:
        """The ``UNREAD`` tasks, now ``READING``: their reads start at once."""
        return watched.start_reads()

    def after_list(self, watched: WatchedIndex) -> list[str]:
        """What a list round leaves to direct reads: the unlisted tasks in turn, then the safety net's."""
        return watched.unlisted_turn(self.unlisted_batch) + watched.safety_net_due(self.safety_net_batch)

    @staticmethod
    def instead_of_list(watched: WatchedIndex) -> list[str]:
        """Every task but those whose read is under way (it will tell): when there is no list to read."""
        reading = Tracking.READING
        return [known.task_id for known in watched.values() if known.tracking is not reading]
