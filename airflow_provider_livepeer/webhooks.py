"""Livepeer's webhooks, read: the signature checked, the body parsed, the Airflow Asset events it means.

Livepeer Studio calls a webhook with ``POST`` and a JSON body ``{id, webhookId, createdAt, timestamp,
event, payload}`` (``stream`` too, for stream events), signed in the header
``Livepeer-Signature: t=<Unix ms>,v1=<hex HMAC-SHA256(sharedSecret, raw body)>``. Only the body is signed:
``t`` is not, so a captured call can be replayed with any ``t``, and only the event's ``id``, which stays
the same across Livepeer's retries of one event, tells a repeat apart (the receiver keeps the ids: see
:mod:`airflow_provider_livepeer.webhook_events`).

This module does no I/O: :func:`verify_signature` compares in constant time, :func:`parse_event` accepts
only Livepeer's shapes of the four events the provider acts on, and :func:`object_uri`,
:func:`event_extra` and :func:`is_finished_upload` say which Airflow Asset events one means: the provider's
``livepeer://`` URIs, the same ones the operators publish (:mod:`airflow_provider_livepeer.assets`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from airflow_provider_livepeer.assets import asset_event_extra, livepeer_asset_uri, livepeer_object_uri
from airflow_provider_livepeer.models import Task
from airflow_provider_livepeer.validation import validate_livepeer_id

#: The header Livepeer signs its calls in.
SIGNATURE_HEADER = "Livepeer-Signature"
#: The largest body the receiver reads, in bytes. Livepeer's bodies of task and asset events are a few
#: KiB (one task or asset as the API shows it); anything larger is refused unread (413).
MAX_BODY_BYTES = 256 * 1024
#: The longest signature header looked at (a real one is about 80 characters).
_MAX_HEADER_CHARS = 1024
#: The events the receiver acts on.
TASK_EVENTS = ("task.completed", "task.failed")
ASSET_EVENTS = ("asset.ready", "asset.failed")


def signature(secret: str, body: bytes) -> str:
    """Livepeer's ``v1`` signature of a body: the hex HMAC-SHA256 of the raw bytes with the shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp_ms: int) -> str:
    """The ``Livepeer-Signature`` header Livepeer sends with ``body`` (for tests and tools that sign)."""
    return f"t={timestamp_ms},v1={signature(secret, body)}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` carries a ``v1`` signature of ``body`` made with ``secret``.

    Every ``v1`` the header lists is compared, each in constant time (:func:`hmac.compare_digest`), so the
    time taken says nothing of how much of a forged signature was right.

    :param secret: the connection's ``webhook_secret``.
    :param body: the raw body, as received.
    :param header: the ``Livepeer-Signature`` header, or ``None`` without one.
    """
    if not secret or not header or len(header) > _MAX_HEADER_CHARS:
        return False
    expected = signature(secret, body).encode()
    matched = False
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "v1":
            # No early exit: every candidate costs the same whether an earlier one matched or not.
            matched |= hmac.compare_digest(expected, value.strip().encode())
    return matched


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class TaskInfo(_Body):
    """``payload.task`` of a task event: the task's id, type and ``snapshot`` (as the API shows the task)."""

    id: str
    type: str | None = None
    snapshot: dict[str, Any]


class TaskEventPayload(_Body):
    """The payload of ``task.completed`` and ``task.failed``."""

    task: TaskInfo
    success: bool | None = None


class AssetInfo(_Body):
    """``payload.asset`` of an asset event: its id and ``snapshot`` (as the API shows the asset)."""

    id: str
    snapshot: dict[str, Any]


class AssetEventPayload(_Body):
    """The payload of ``asset.ready`` and ``asset.failed`` (the shape of webhooks made since 2024-07-28)."""

    asset: AssetInfo


class _WebhookEvent(_Body):
    #: The event's id, the same on each retry of its calls (a UUID on Livepeer).
    id: str = Field(min_length=1, max_length=128)
    webhook_id: str = Field(alias="webhookId")
    #: When Livepeer emitted the event, Unix ms (the same on every retry).
    created_at: float = Field(alias="createdAt")
    #: When this call was made, Unix ms.
    timestamp: float


class TaskEvent(_WebhookEvent):
    """A ``task.completed`` or ``task.failed`` call."""

    event: Literal["task.completed", "task.failed"]
    payload: TaskEventPayload

    def task(self) -> Task:
        """The task as it was when the event was emitted."""
        return Task.model_validate(self.payload.task.snapshot)


class AssetEvent(_WebhookEvent):
    """An ``asset.ready`` or ``asset.failed`` call."""

    event: Literal["asset.ready", "asset.failed"]
    payload: AssetEventPayload


#: One call of the four events the receiver acts on, told apart by ``event``.
WebhookEvent = Annotated[TaskEvent | AssetEvent, Field(discriminator="event")]
_EVENT = TypeAdapter[TaskEvent | AssetEvent](WebhookEvent)


def parse_event(body: bytes) -> TaskEvent | AssetEvent | None:
    """Parse a (verified) body as one of the four events the receiver acts on.

    :returns: the event, or ``None`` for another of Livepeer's events (``task.updated``, ``stream.idle``,
        ...: an ``id`` and an ``event`` of another name), which the receiver does not act on.
    :raises ValueError: not a JSON object with a string ``id`` and ``event``, or not Livepeer's shape of one
        of the four; the message names the problem, never the body (it is the caller's, who may be anyone).
    """
    try:
        data = json.loads(body)
    except ValueError:
        raise ValueError("the body is not JSON") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("id"), str)
        or not isinstance(data.get("event"), str)
    ):
        raise ValueError("not a Livepeer event: expected a JSON object with a string id and event")
    if data["event"] not in TASK_EVENTS + ASSET_EVENTS:
        return None
    try:
        event = _EVENT.validate_python(data)
        if isinstance(event, TaskEvent):
            validate_livepeer_id(event.payload.task.id)
            if event.task().id != event.payload.task.id:
                raise ValueError("payload.task.snapshot is not the task of payload.task.id")
        else:
            validate_livepeer_id(event.payload.asset.id, "Livepeer asset id")
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ValueError(
            f"not one of Livepeer's {', '.join(TASK_EVENTS + ASSET_EVENTS)} events: {where}: {first['msg']}"
        ) from None
    return event


def object_uri(api_base_url: str, event: TaskEvent | AssetEvent) -> str:
    """The ``livepeer://`` Asset URI an event is about, as the operators name it.

    An asset event's asset; a task event's output asset, or the task itself for one that made none
    (exports, transcodes): :func:`~airflow_provider_livepeer.assets.livepeer_asset_uri`.
    """
    if isinstance(event, TaskEvent):
        return livepeer_asset_uri(api_base_url, event.task().result())
    return livepeer_object_uri(api_base_url, "assets", event.payload.asset.id)


def event_extra(event: TaskEvent | AssetEvent) -> dict[str, Any]:
    """The ``extra`` of the Airflow Asset events of a Livepeer event.

    The keys the operators' events carry (``livepeer_task_id``, ``type``, ``output_asset_id``,
    ``playback_id``), which task and phase, and Livepeer's own: the event's ``id`` (kept to tell a
    repeated call apart), its name, webhook, time and ``payload`` as Livepeer sent it.
    """
    common = {
        "livepeer_event_id": event.id,
        "livepeer_event": event.event,
        "livepeer_webhook_id": event.webhook_id,
        "livepeer_event_created_at": event.created_at,
        "payload": event.payload.model_dump(mode="json", by_alias=True),
    }
    if isinstance(event, TaskEvent):
        result = event.task().result()
        return {
            **asset_event_extra(result),
            "phase": result.phase,
            "error_message": result.error_message,
            **common,
        }
    snapshot = event.payload.asset.snapshot
    status = snapshot.get("status")
    status = status if isinstance(status, dict) else {}
    return {
        "livepeer_task_id": None,
        "type": None,
        "phase": status.get("phase"),
        "output_asset_id": event.payload.asset.id,
        "playback_id": snapshot.get("playbackId"),
        "error_message": status.get("errorMessage"),
        **common,
    }


def is_finished_upload(event: TaskEvent | AssetEvent) -> bool:
    """Whether an event is an ``upload`` task that completed: what "any upload finished" Assets hear of.

    The counterpart of :class:`~airflow_provider_livepeer.triggers.livepeer.LivepeerTaskEventTrigger` with
    its defaults (``task_types=["upload"]``, ``phases=["completed"]``): imports and direct uploads.
    """
    return isinstance(event, TaskEvent) and event.event == "task.completed" and event.task().type == "upload"
