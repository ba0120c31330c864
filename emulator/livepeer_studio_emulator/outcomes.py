"""Scripted outcomes: how an emulated task ends, chosen per request or per source URL.

An :class:`Outcome` says whether a task completes (the default), fails, is cancelled or stalls, and how
many times it errors and is retried before that. Livepeer retries a task that errors up to
:data:`MAX_RETRIES` times: the task goes back to ``waiting`` with ``status.retries`` incremented and
``status.errorMessage`` set, then runs again.

Outcomes are chosen, first match wins, from:

1. the ``X-Emulator-Outcome`` request header of the call that creates the task (see :meth:`Outcome.parse`);
2. :class:`OutcomeRule` objects registered through ``POST /_emulator/outcomes`` or
   :meth:`~livepeer_studio_emulator.server.EmulatorHandle.script_outcome`, matched on the
   task type, the source URL and/or the clip's playback id.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any, Literal, cast, get_args

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictInt,
    StrictStr,
    field_validator,
    model_serializer,
    model_validator,
)

from livepeer_studio_emulator.shapes import CamelModel

#: How many times Livepeer retries a task that errors before marking it ``failed``.
MAX_RETRIES = 2

OutcomeResult = Literal["complete", "fail", "cancel", "stall"]
_RESULTS: tuple[str, ...] = get_args(OutcomeResult)

DEFAULT_FAIL_MESSAGE = "emulated failure"
DEFAULT_RETRY_MESSAGE = "emulated transient error"
_POSITIONAL = ("result", "error_message", "retries", "retry_error_message")


class Outcome(CamelModel):
    """How a task ends; JSON ``{"outcome", "retries", "errorMessage", "retryErrorMessage"}``.

    :param result: ``complete`` (the default), ``fail`` (ends ``failed`` with ``error_message``),
        ``cancel`` (ends ``cancelled``) or ``stall`` (stays ``running`` for ever, for timeout tests).
    :param error_message: the final ``status.errorMessage`` of a failed or cancelled task.
    :param retries: how many times the task errors and is retried before ``result`` (0 to 2).
    :param retry_error_message: the ``status.errorMessage`` shown while a retry waits.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    result: OutcomeResult = Field(default="complete", alias="outcome")
    retries: StrictInt = 0
    error_message: StrictStr | None = None
    retry_error_message: StrictStr | None = None

    def __init__(self, *args: Any, **data: Any) -> None:
        # Also positional, in the order result, error_message, retries, retry_error_message:
        # Outcome("fail", "corrupt file"). pydantic validates JSON through here too, with keyword aliases.
        if len(args) > len(_POSITIONAL):
            raise TypeError(f"Outcome takes at most {len(_POSITIONAL)} positional arguments")
        super().__init__(**dict(zip(_POSITIONAL[: len(args)], args, strict=True)), **data)

    @field_validator("result", mode="before")
    @classmethod
    def _known_result(cls, value: object) -> object:
        if value not in _RESULTS:
            raise ValueError(f"Unknown outcome {value!r}: expected one of {', '.join(_RESULTS)}.")
        return value

    @field_validator("retries")
    @classmethod
    def _retries_in_range(cls, value: int) -> int:
        if not 0 <= value <= MAX_RETRIES:
            raise ValueError(
                f"Outcome retries must be 0 to {MAX_RETRIES} (Livepeer retries a task at most "
                f"{MAX_RETRIES} times), not {value}."
            )
        return value

    @model_serializer(mode="wrap")
    def _without_nones(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # The messages are only shown when set.
        return {key: value for key, value in handler(self).items() if value is not None}

    @property
    def final_error(self) -> str:
        """The error message a failed or cancelled task ends with."""
        if self.error_message:
            return self.error_message
        return "task cancelled" if self.result == "cancel" else DEFAULT_FAIL_MESSAGE

    def retry_error(self, attempt: int) -> str:
        """The error message shown while retry ``attempt`` (1-based) waits."""
        return self.retry_error_message or f"{DEFAULT_RETRY_MESSAGE} (attempt {attempt})"

    @classmethod
    def from_json(cls, data: object) -> Outcome:
        """Read ``{"outcome", "errorMessage", "retries", "retryErrorMessage"}`` (all optional).

        :raises ValueError: unknown keys or bad values.
        """
        if not isinstance(data, dict):
            raise ValueError(f"An outcome must be a JSON object, not {type(data).__name__}.")
        return cls.model_validate(data)

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
        return cls(cast("OutcomeResult", result), message if sep else None, retries)


#: The keys of an outcome rule's JSON that choose tasks; the others describe the outcome.
_MATCH_KEYS = frozenset({"id", "url", "taskType", "task_type", "playbackId", "playback_id", "times"})


class OutcomeRule(CamelModel):
    """An outcome for the next tasks that match; every given criterion must match.

    Its JSON is flat: the match keys (``id``, ``url``, ``taskType``, ``playbackId``, ``times``) beside
    those of its :class:`Outcome`.

    :param outcome: the outcome to give.
    :param url: the source URL: ``params.upload.url`` of an import, the input URL of a transcode, the
        target URL of a custom export.
    :param task_type: the task type (``upload``, ``export``, ``transcode-file``, ``clip``).
    :param playback_id: the playback id a clip was made from.
    :param times: how many more tasks it applies to; ``None`` for all.
    """

    model_config = ConfigDict(extra="forbid")

    id: StrictStr = Field(default_factory=lambda: str(uuid.uuid4()))
    url: StrictStr | None = None
    task_type: StrictStr | None = None
    playback_id: StrictStr | None = None
    times: StrictInt | None = Field(default=None, ge=1)
    outcome: Outcome

    @model_validator(mode="before")
    @classmethod
    def _nest_outcome(cls, data: object) -> object:
        if not isinstance(data, dict):
            raise ValueError(f"An outcome rule must be a JSON object, not {type(data).__name__}.")
        if isinstance(data.get("outcome"), (Outcome, dict)):
            return data
        rule = {key: value for key, value in data.items() if key in _MATCH_KEYS}
        rule["outcome"] = {key: value for key, value in data.items() if key not in _MATCH_KEYS}
        return rule

    @model_serializer(mode="wrap")
    def _flatten_outcome(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {**data, **data.pop("outcome")}

    def matches(self, task_type: str, url: str | None, playback_id: str | None) -> bool:
        """Whether a new task with these properties gets this outcome."""
        return (
            (self.task_type is None or self.task_type == task_type)
            and (self.url is None or self.url == url)
            and (self.playback_id is None or self.playback_id == playback_id)
        )

    @classmethod
    def from_json(cls, data: object) -> OutcomeRule:
        """Read a rule from its JSON form (the keys of :meth:`Outcome.from_json` plus the match keys).

        :raises ValueError: unknown keys or bad values.
        """
        return cls.model_validate(data)


class OutcomeRules:
    """The scripted rules in force, tried in the order added; thread-safe."""

    def __init__(self, rules: list[OutcomeRule] | None = None) -> None:
        self._lock = threading.Lock()
        self._rules = list(rules or [])

    def take(self, task_type: str, url: str | None, playback_id: str | None) -> Outcome:
        """The outcome of a new task.

        The first matching rule's (a rule is used up after its ``times``), else :class:`Outcome`'s default.
        """
        with self._lock:
            for rule in self._rules:
                if rule.matches(task_type, url, playback_id):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule.outcome
        return Outcome()

    def add(self, rule: OutcomeRule) -> OutcomeRule:
        """Add a rule after the others."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        """Remove one rule; returns whether it existed."""
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            return len(self._rules) != before

    def replace(self, rules: list[OutcomeRule]) -> None:
        """Put these rules in force instead (``[]`` clears them)."""
        with self._lock:
            self._rules = list(rules)

    def all(self) -> list[OutcomeRule]:
        """The rules in force."""
        with self._lock:
            return list(self._rules)
