"""Scripted outcomes: how an emulated task ends, chosen per request or per source URL.

An :class:`Outcome` says whether a task completes (the default), fails, is cancelled or stalls, and how
many times it errors and is retried before that. Livepeer retries a task that errors up to
:data:`MAX_RETRIES` times: the task goes back to ``waiting`` with ``status.retries`` incremented and
``status.errorMessage`` set, then runs again.

Outcomes are chosen, first match wins, from:

1. the ``X-Emulator-Outcome`` request header of the call that creates the task (see :meth:`Outcome.parse`);
2. :class:`OutcomeRule` objects registered through ``POST /_emulator/outcomes`` or
   :meth:`~airflow_provider_livepeer.emulator.server.EmulatorHandle.script_outcome`, matched on the
   task type, the source URL and/or the clip's playback id.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args

#: How many times Livepeer retries a task that errors before marking it ``failed``.
MAX_RETRIES = 2

OutcomeResult = Literal["complete", "fail", "cancel", "stall"]
_RESULTS: tuple[str, ...] = get_args(OutcomeResult)

DEFAULT_FAIL_MESSAGE = "emulated failure"
DEFAULT_RETRY_MESSAGE = "emulated transient error"


@dataclass(frozen=True)
class Outcome:
    """How a task ends.

    :param result: ``complete`` (the default), ``fail`` (ends ``failed`` with ``error_message``),
        ``cancel`` (ends ``cancelled``) or ``stall`` (stays ``running`` for ever, for timeout tests).
    :param error_message: the final ``status.errorMessage`` of a failed or cancelled task.
    :param retries: how many times the task errors and is retried before ``result`` (0 to 2).
    :param retry_error_message: the ``status.errorMessage`` shown while a retry waits.
    """

    result: OutcomeResult = "complete"
    error_message: str | None = None
    retries: int = 0
    retry_error_message: str | None = None

    def __post_init__(self) -> None:
        if self.result not in _RESULTS:
            raise ValueError(f"Unknown outcome {self.result!r}: expected one of {', '.join(_RESULTS)}.")
        if isinstance(self.retries, bool) or not isinstance(self.retries, int):
            raise ValueError(f"Outcome retries must be an integer, not {self.retries!r}.")
        if not 0 <= self.retries <= MAX_RETRIES:
            raise ValueError(
                f"Outcome retries must be 0 to {MAX_RETRIES} (Livepeer retries a task at most "
                f"{MAX_RETRIES} times), not {self.retries}."
            )

    @property
    def final_error(self) -> str:
        """The error message a failed or cancelled task ends with."""
        if self.error_message:
            return self.error_message
        return "task cancelled" if self.result == "cancel" else DEFAULT_FAIL_MESSAGE

    def retry_error(self, attempt: int) -> str:
        """The error message shown while retry ``attempt`` (1-based) waits."""
        return self.retry_error_message or f"{DEFAULT_RETRY_MESSAGE} (attempt {attempt})"

    def to_json(self) -> dict[str, Any]:
        """The outcome as the admin API shows it."""
        data: dict[str, Any] = {"outcome": self.result, "retries": self.retries}
        if self.error_message is not None:
            data["errorMessage"] = self.error_message
        if self.retry_error_message is not None:
            data["retryErrorMessage"] = self.retry_error_message
        return data

    @classmethod
    def from_json(cls, data: object) -> Outcome:
        """Read ``{"outcome", "errorMessage", "retries", "retryErrorMessage"}`` (all optional).

        :raises ValueError: unknown keys or bad values.
        """
        if not isinstance(data, dict):
            raise ValueError(f"An outcome must be a JSON object, not {type(data).__name__}.")
        unknown = set(data) - {"outcome", "errorMessage", "retries", "retryErrorMessage"}
        if unknown:
            raise ValueError(f"Unknown outcome keys: {', '.join(sorted(unknown))}.")
        for key in ("errorMessage", "retryErrorMessage"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ValueError(f"Outcome {key} must be a string.")
        return cls(
            result=cast("OutcomeResult", data.get("outcome", "complete")),
            error_message=data.get("errorMessage"),
            retries=data.get("retries", 0),
            retry_error_message=data.get("retryErrorMessage"),
        )

    @classmethod
    def parse(cls, text: str) -> Outcome:
        """Read an ``X-Emulator-Outcome`` header.

        Either a JSON object (see :meth:`from_json`) or a shorthand:
        ``complete``, ``stall``, ``cancel``, ``fail``, ``fail:<message>``, ``retry:<n>`` (errors ``n``
        times, then completes) or ``retry:<n>:<final>`` with a final outcome as above, e.g.
        ``retry:2:fail:source is corrupt``.

        :raises ValueError: the text is neither.
        """
        text = text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError as err:
                raise ValueError(f"not valid JSON: {err}") from None
            return cls.from_json(data)
        retries = 0
        if text.startswith("retry:"):
            count, _, text = text[len("retry:") :].partition(":")
            if not count.isdigit():
                raise ValueError(f"retry count {count!r} is not a number")
            retries = int(count)
            text = text or "complete"
        result, sep, message = text.partition(":")
        if result not in _RESULTS:
            raise ValueError(f"unknown outcome {result!r}: expected one of {', '.join(_RESULTS)}")
        if sep and result not in ("fail", "cancel"):
            raise ValueError(f"outcome {result!r} takes no message")
        return cls(
            result=cast("OutcomeResult", result), error_message=message if sep else None, retries=retries
        )


@dataclass
class OutcomeRule:
    """An outcome for the next tasks that match; every given criterion must match.

    :param outcome: the outcome to give.
    :param url: the source URL: ``params.upload.url`` of an import, the input URL of a transcode, the
        target URL of a custom export.
    :param task_type: the task type (``upload``, ``export``, ``transcode-file``, ``clip``).
    :param playback_id: the playback id a clip was made from.
    :param times: how many more tasks it applies to; ``None`` for all.
    """

    outcome: Outcome
    url: str | None = None
    task_type: str | None = None
    playback_id: str | None = None
    times: int | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.times is not None and (isinstance(self.times, bool) or not isinstance(self.times, int)):
            raise ValueError(f"times must be an integer, not {self.times!r}.")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be at least 1, not {self.times}.")

    def matches(self, task_type: str, url: str | None, playback_id: str | None) -> bool:
        """Whether a new task with these properties gets this outcome."""
        return (
            (self.task_type is None or self.task_type == task_type)
            and (self.url is None or self.url == url)
            and (self.playback_id is None or self.playback_id == playback_id)
        )

    def to_json(self) -> dict[str, Any]:
        """The rule as the admin API shows it."""
        return {
            "id": self.id,
            "url": self.url,
            "taskType": self.task_type,
            "playbackId": self.playback_id,
            "times": self.times,
            **self.outcome.to_json(),
        }

    @classmethod
    def from_json(cls, data: object) -> OutcomeRule:
        """Read a rule from its JSON form.

        The keys are those of :meth:`Outcome.from_json` plus ``url``, ``taskType``, ``playbackId``,
        ``times`` and (when reloading) ``id``.

        :raises ValueError: unknown keys or bad values.
        """
        if not isinstance(data, dict):
            raise ValueError(f"An outcome rule must be a JSON object, not {type(data).__name__}.")
        match_keys = {"id", "url", "taskType", "playbackId", "times"}
        for key in ("url", "taskType", "playbackId", "id"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ValueError(f"{key} must be a string.")
        rule = cls(
            outcome=Outcome.from_json({k: v for k, v in data.items() if k not in match_keys}),
            url=data.get("url"),
            task_type=data.get("taskType"),
            playback_id=data.get("playbackId"),
            times=data.get("times"),
        )
        if data.get("id"):
            rule.id = data["id"]
        return rule
