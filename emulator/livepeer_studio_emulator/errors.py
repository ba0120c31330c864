"""The one exception the emulator turns into a Livepeer error answer, ``{"errors": [...]}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApiError(Exception):
    """An error answer: an HTTP status and the messages of Livepeer's ``{"errors": [...]}`` body.

    :param status: the HTTP status code.
    :param messages: one or more messages; Livepeer always sends at least one.
    :param headers: extra response headers.
    """

    def __init__(self, status: int, *messages: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {'; '.join(messages)}")
        self.status = status
        self.messages = list(messages) or ["error"]
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body Livepeer sends for this error."""
        return {"errors": list(self.messages)}


def not_found(message: str = "not found") -> ApiError:
    """A 404 in Livepeer's words (``not found`` for tasks, ``Asset not found`` for assets)."""
    return ApiError(404, message)
