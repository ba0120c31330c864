"""Webhooks as Livepeer's API keeps them (``/api/webhook``), and the task and asset events they hear of.

A webhook belongs to an account (a user and a project) and lists the events it wants; Livepeer calls its
``url`` for each (:mod:`.cannon` sends the calls). :class:`Webhooks` is the registry behind the CRUD
endpoints; :func:`task_events` says which events a task's end makes, in the order Livepeer's task
scheduler publishes them: ``asset.ready`` then ``task.completed`` (the asset is written ready before the
task completes), or ``task.failed`` then ``asset.failed``. Each call is a delivery of its own, so they may
arrive in either order, as Livepeer's do. Each event has an id of its own, which stays the same on every
retry of its calls.

Differences from Livepeer: the emulator fires only ``task.completed``, ``task.failed``, ``asset.ready`` and
``asset.failed`` (a webhook may list the others; they never come); it calls loopback addresses, which
Livepeer never does (its cannon skips URLs that resolve to a local or private address); and it never
shows a webhook's ``sharedSecret`` back, on create neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from livepeer_studio_emulator.accounts import Account
from livepeer_studio_emulator.errors import ApiError, not_found
from livepeer_studio_emulator.payloads import WebhookPayload
from livepeer_studio_emulator.records import AssetRecord, TaskRecord, new_id
from livepeer_studio_emulator.shapes import CamelModel


class WebhookRecord(CamelModel):
    """A webhook as stored; its ``shared_secret`` signs the calls and is never shown."""

    id: str
    user_id: str
    project_id: str
    name: str
    url: str
    events: list[str]
    shared_secret: str | None = Field(default=None, repr=False)
    stream_id: str | None = None
    created_ms: int
    deleted: bool = False
    last_triggered_ms: int | None = None
    last_failure: dict[str, Any] | None = None

    def view(self) -> dict[str, Any]:
        """The webhook as ``GET /api/webhook/{id}`` shows it (``sharedSecret`` is write-only)."""
        body: dict[str, Any] = {
            "id": self.id,
            "kind": "webhook",
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "userId": self.user_id,
            "projectId": self.project_id,
            "createdAt": self.created_ms,
        }
        if self.stream_id is not None:
            body["streamId"] = self.stream_id
        status = {"lastTriggeredAt": self.last_triggered_ms, "lastFailure": self.last_failure}
        if any(value is not None for value in status.values()):
            body["status"] = {key: value for key, value in status.items() if value is not None}
        return body


@dataclass(frozen=True)
class Event:
    """One event of Livepeer's: what its webhooks' calls carry.

    :param id: the event's id, the same in each retry of each call.
    :param name: e.g. ``task.completed``.
    :param created_ms: when it happened (the body's ``createdAt``).
    :param user_id: whose it is; only this user's webhooks hear of it...
    :param project_id: ...of this project.
    :param payload: ``{"task": {id, type, snapshot}, "success"}`` or ``{"asset": {id, snapshot}}``.
    """

    id: str
    name: str
    created_ms: int
    user_id: str
    project_id: str
    payload: dict[str, Any]


class Webhooks:
    """The webhooks, by id; thread-safe.

    :param changed: called after each change (the state file saves it).
    """

    def __init__(self, changed: Callable[[], None]) -> None:
        self._changed = changed
        self._lock = threading.Lock()
        self._by_id: dict[str, WebhookRecord] = {}

    def load(self, records: list[WebhookRecord]) -> None:
        """Take the webhooks of a state file."""
        with self._lock:
            self._by_id = {record.id: record for record in records}

    def all(self) -> list[WebhookRecord]:
        """Every webhook, deleted ones too (for the state file)."""
        with self._lock:
            return list(self._by_id.values())

    def clear(self) -> None:
        """Forget every webhook."""
        with self._lock:
            self._by_id.clear()

    def create(self, account: Account, payload: WebhookPayload, now_ms: int) -> WebhookRecord:
        """``POST /api/webhook``."""
        record = WebhookRecord(
            id=new_id(),
            user_id=account.user_id,
            project_id=account.project_id,
            created_ms=now_ms,
            **_fields(payload),
        )
        with self._lock:
            self._by_id[record.id] = record
        self._changed()
        return record

    def get(self, account: Account, webhook_id: str) -> WebhookRecord:
        """``GET /api/webhook/{id}``; :raises ApiError: 404 unknown, deleted or another account's."""
        with self._lock:
            record = self._by_id.get(webhook_id)
        if record is None or record.deleted or record.user_id != account.user_id:
            raise not_found()
        return record

    def of(self, account: Account) -> list[WebhookRecord]:
        """``GET /api/webhook``: the account's project's webhooks, oldest first."""
        with self._lock:
            records = list(self._by_id.values())
        return [
            r
            for r in records
            if not r.deleted and r.user_id == account.user_id and r.project_id == account.project_id
        ]

    def replace(self, account: Account, webhook_id: str, payload: WebhookPayload) -> None:
        """``PUT /api/webhook/{id}``: every field anew, as Livepeer's replace does."""
        record = self.get(account, webhook_id)
        with self._lock:
            self._by_id[webhook_id] = record.model_copy(update=_fields(payload))
        self._changed()

    def delete(self, account: Account, webhook_id: str) -> None:
        """``DELETE /api/webhook/{id}``: marked deleted, as Livepeer does; it is called no more."""
        record = self.get(account, webhook_id)
        with self._lock:
            self._by_id[webhook_id] = record.model_copy(update={"deleted": True})
        self._changed()

    def listened(self, user_id: str, project_id: str) -> set[str]:
        """The events some webhook of this user and project listens for (the others need no payload)."""
        with self._lock:
            records = list(self._by_id.values())
        return {
            name
            for r in records
            if not r.deleted and r.user_id == user_id and r.project_id == project_id
            for name in r.events
        }

    def subscribed(self, event: Event) -> list[WebhookRecord]:
        """The webhooks that hear of ``event``: its user's and project's, listing its name."""
        with self._lock:
            records = list(self._by_id.values())
        return [
            r
            for r in records
            if not r.deleted
            and r.user_id == event.user_id
            and r.project_id == event.project_id
            and event.name in r.events
        ]

    def note_call(self, webhook_id: str, at_ms: int, failure: dict[str, Any] | None) -> None:
        """Note a call in the webhook's ``status`` (``lastTriggeredAt``, and ``lastFailure`` if it failed)."""
        with self._lock:
            record = self._by_id.get(webhook_id)
            if record is not None:
                update: dict[str, Any] = {"last_triggered_ms": at_ms}
                if failure is not None:
                    update["last_failure"] = failure
                self._by_id[webhook_id] = record.model_copy(update=update)
        self._changed()


def _fields(payload: WebhookPayload) -> dict[str, Any]:
    if not payload.events:
        raise ApiError(422, 'must provide "events" field with subscriptions')
    return {
        "name": payload.name,
        "url": payload.url,
        "events": list(payload.events),
        "shared_secret": payload.sharedSecret,
        "stream_id": payload.streamId,
    }


View = Callable[[Any, int], dict[str, Any]]


def task_events(
    task: TaskRecord,
    asset: AssetRecord | None,
    now_ms: int,
    listened: set[str],
    task_view: View,
    asset_view: View,
) -> tuple[list[Event], int | None]:
    """The events a task's end makes, once it has come; else when to look again.

    :param task: the task; its ``webhook_fired`` is set to the end it fired for, so no end fires twice (a
        task retried with ``POST /api/task/{id}/retry`` ends anew, and fires anew).
    :param asset: its output asset, if any.
    :param now_ms: the emulator's clock.
    :param listened: the events some webhook of the task's account listens for: only those are made (an
        end no webhook hears of still counts as sent).
    :param task_view: the task as its owner sees it at a time (its ``snapshot``).
    :param asset_view: the same for the asset.
    :returns: the events due now (none if the task has not ended, or fired already), and the time its end
        comes if it is still ahead (``None`` otherwise: a later change of its timeline asks again).
    """
    end = task.timeline()[-1]
    if end.phase not in ("completed", "failed"):
        return [], None  # still running (its real work not done) or cancelled: Livepeer has no event for it
    key = f"{end.phase}@{end.at_ms}"
    if task.webhook_fired == key:
        return [], None
    if end.at_ms > now_ms:
        return [], end.at_ms
    task.webhook_fired = key
    completed = end.phase == "completed"
    names = (f"task.{end.phase}", "asset.ready" if completed else "asset.failed")
    events: list[Event] = []
    if names[0] in listened:
        snapshot = task_view(task, end.at_ms)
        payload = {"success": completed, "task": {"id": task.id, "type": task.type, "snapshot": snapshot}}
        events.append(Event(new_id(), names[0], end.at_ms, task.user_id, task.project_id, payload))
    if asset is not None and asset.deleted_ms is None and names[1] in listened:
        payload = {"asset": {"id": asset.id, "snapshot": asset_view(asset, end.at_ms)}}
        asset_event = Event(new_id(), names[1], end.at_ms, asset.user_id, asset.project_id, payload)
        # Livepeer writes the asset ready before the task completed, and the task failed before the asset.
        events = [asset_event, *events] if completed else [*events, asset_event]
    return events, None
