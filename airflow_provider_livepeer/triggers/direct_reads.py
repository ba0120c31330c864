"""Which watched tasks the shared watcher reads directly (``GET /api/task/{id}``), and when.

The shared list serves every task it can vouch for; a direct read serves the others, by their
:class:`~airflow_provider_livepeer.triggers.watched_tasks.Tracking` state:

* ``UNREAD`` tasks (first looks, and tasks the list could not reach back to): at once, beside the polling,
  so a thousand new triggers do not hold the list back (the watcher runs a few reads at a time);
* after each list round, ``UNLISTED`` tasks, at most ``unlisted_batch`` of them (the first watched first),
  then the safety net: the tasks the list has not mentioned for ``safety_net_polls`` rounds, longest
  unmentioned first, at most ``safety_net_batch``;
* when Livepeer refuses the filtered list, every task not being read already, each interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_livepeer.triggers.watched_tasks import Tracking, Watched


@dataclass(frozen=True)
class DirectReads:
    """How many direct reads the shared watcher makes beside its list, and of which tasks.

    :param unlisted_batch: the most direct reads per interval of tasks the list does not show.
    :param safety_net_polls: list rounds without a mention before a task gets a safety-net read.
    :param safety_net_batch: the most safety-net reads per interval.
    """

    unlisted_batch: int
    safety_net_polls: int
    safety_net_batch: int

    @staticmethod
    def start(watched: dict[str, Watched]) -> list[str]:
        """The ``UNREAD`` tasks, now ``READING``: their reads start at once."""
        unread = Tracking.UNREAD  # looked up once: the loop runs over every watched task, often
        due = [task_id for task_id, known in watched.items() if known.tracking is unread]
        for task_id in due:
            watched[task_id].tracking = Tracking.READING
        return due

    def after_list(self, watched: dict[str, Watched]) -> list[str]:
        """What a list round leaves to direct reads: the unlisted tasks, then the safety net's."""
        listed_by_the_list, polls = (Tracking.BEHIND, Tracking.COVERED), self.safety_net_polls
        unlisted = [task_id for task_id, known in watched.items() if known.tracking is Tracking.UNLISTED]
        quiet = [
            task_id
            for task_id, known in watched.items()
            if known.unmentioned_polls >= polls and known.tracking in listed_by_the_list
        ]
        quiet.sort(key=lambda task_id: -watched[task_id].unmentioned_polls)
        return unlisted[: self.unlisted_batch] + quiet[: self.safety_net_batch]

    @staticmethod
    def instead_of_list(watched: dict[str, Watched]) -> list[str]:
        """Every task but those whose read is under way (it will tell): when there is no list to read."""
        reading = Tracking.READING
        return [task_id for task_id, known in watched.items() if known.tracking is not reading]
