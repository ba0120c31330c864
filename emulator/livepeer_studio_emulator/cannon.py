"""Calling webhooks as Livepeer's webhook cannon does: the body, the signature, the retries.

A task's end is looked at when the task is made or its timeline changes, and again when its end comes
(:meth:`WebhookCannon.watch`); each event it makes (:func:`.webhooks.task_events`) is sent to every webhook
that listens for it: ``POST url`` with the body ``{id, webhookId, createdAt, timestamp, event, payload}``,
``Content-Type: application/json``, ``User-Agent: livepeer.studio`` and, when the webhook has a
``sharedSecret``, ``Livepeer-Signature: t=<ms>,v1=<hex HMAC-SHA256(sharedSecret, body)>``. A call that
gets a 5xx, no answer or no answer in time (30 s) is tried again, with the same event ``id`` and a new
``timestamp`` and signature: 5 s later, then twice as long each time up to an hour, 33 retries at most,
every wait divided by the speed factor; a 2xx ends it, and any other status (a 4xx) ends it untried.

Calls are made by a few worker threads, never under the state's lock; :meth:`WebhookCannon.calls` keeps
the last :data:`KEPT_CALLS` of them for tests (``GET /_emulator/webhooks/calls``).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from livepeer_studio_emulator.clock import Clock, to_ms
from livepeer_studio_emulator.webhooks import Event, WebhookRecord, Webhooks

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "Livepeer-Signature"
#: Livepeer's cannon: a call's timeout, its first retry delay, the longest delay and the most retries.
CALL_TIMEOUT_S = 30.0
FIRST_RETRY_S = 5.0
MAX_RETRY_S = 3600.0
MAX_RETRIES = 33
#: The calls kept for the admin API, newest last.
KEPT_CALLS = 10_000
# How often the dispatcher looks at the clock while something is pending (a ManualClock moves unannounced).
_TICK_S = 0.05

#: ``due(task_id, now_ms)``: the events a task's end makes now, and when to look again (see task_events).
Due = Callable[[str, int], "tuple[list[Event], int | None]"]


@dataclass(frozen=True)
class _Call:
    webhook: WebhookRecord
    event: Event
    retries: int = 0


class WebhookCannon:
    """Sends the events of tasks' ends to the webhooks that listen for them.

    :param webhooks: the registry.
    :param due: reads a task's due events from the state (under its lock).
    :param clock: the emulator's clock (tasks end on it).
    :param speed: the speed factor: retry delays and the timeout are divided by it.
    :param workers: threads making calls at once.
    """

    def __init__(self, webhooks: Webhooks, due: Due, clock: Clock, speed: float, workers: int = 8) -> None:
        self._webhooks = webhooks
        self._due = due
        self._clock = clock
        self._speed = speed
        self._wake = threading.Condition()
        self._closed = False
        self._order = itertools.count()
        #: (emulator ms, order, task id): tasks to look at once the clock reaches the time.
        self._looks: list[tuple[int, int, str]] = []
        #: (monotonic s, order, call): calls to make at the time.
        self._calls: list[tuple[float, int, _Call]] = []
        self._made: deque[dict[str, Any]] = deque(maxlen=KEPT_CALLS)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="livepeer-emulator-webhook")
        self._client = httpx.Client(timeout=max(CALL_TIMEOUT_S / speed, 0.5), follow_redirects=False)
        self._thread = threading.Thread(target=self._dispatch, name="livepeer-emulator-cannon", daemon=True)
        self._thread.start()

    def watch(self, task_id: str, at_ms: int = 0) -> None:
        """Look at a task's end when the clock reaches ``at_ms`` (0: at once)."""
        with self._wake:
            heapq.heappush(self._looks, (at_ms, next(self._order), task_id))
            self._wake.notify()

    def calls(self) -> list[dict[str, Any]]:
        """The calls made, oldest first.

        Each: ``webhookId``, ``eventId``, ``event``, ``try`` (1 for the first), ``at`` (Unix ms), ``status``
        (``None`` without an answer), ``error``.
        """
        with self._wake:
            return list(self._made)

    def clear(self) -> None:
        """Forget pending looks and calls, and the calls made."""
        with self._wake:
            self._looks.clear()
            self._calls.clear()
            self._made.clear()

    def close(self) -> None:
        """Stop: pending calls are not made."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()

    def _dispatch(self) -> None:
        while True:
            with self._wake:
                # Idle until woken when nothing is pending; else look at the clock every tick.
                self._wake.wait(_TICK_S if self._looks or self._calls else None)
                if self._closed:
                    return
                now_ms, now_s = to_ms(self._clock()), time.monotonic()
                looks = _pop_due(self._looks, now_ms)
                calls = _pop_due(self._calls, now_s)
            for task_id in looks:
                self._look(task_id, now_ms)
            for call in calls:
                self._pool.submit(self._make, call)

    def _look(self, task_id: str, now_ms: int) -> None:
        try:
            events, again_ms = self._due(task_id, now_ms)
        except Exception:  # a bug here must not stop the dispatcher
            log.exception("Emulator webhook events of task %s not read", task_id)
            return
        if again_ms is not None:
            self.watch(task_id, again_ms)
        for event in events:
            for webhook in self._webhooks.subscribed(event):
                self._pool.submit(self._make, _Call(webhook, event))

    def _make(self, call: _Call) -> None:
        now_ms = to_ms(time.time())
        body = json.dumps(
            {
                "id": call.event.id,
                "webhookId": call.webhook.id,
                "createdAt": call.event.created_ms,
                "timestamp": now_ms,
                "event": call.event.name,
                "payload": call.event.payload,
            },
            separators=(",", ":"),
        ).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "livepeer.studio"}
        if call.webhook.shared_secret:
            digest = hmac.new(call.webhook.shared_secret.encode(), body, hashlib.sha256).hexdigest()
            headers[SIGNATURE_HEADER] = f"t={now_ms},v1={digest}"
        status: int | None = None
        error: str | None = None
        try:
            status = self._client.post(call.webhook.url, content=body, headers=headers).status_code
        except httpx.HTTPError as err:
            error = f"{type(err).__name__}: {err}"
        failed = status is None or not 200 <= status < 300
        failure = {"timestamp": now_ms, "statusCode": status, "error": error}
        self._webhooks.note_call(
            call.webhook.id, now_ms, {k: v for k, v in failure.items() if v is not None} if failed else None
        )
        with self._wake:
            self._made.append(
                {
                    "webhookId": call.webhook.id,
                    "eventId": call.event.id,
                    "event": call.event.name,
                    "try": call.retries + 1,
                    "at": now_ms,
                    "status": status,
                    "error": error,
                }
            )
            # Livepeer retries a 5xx, an error and a timeout; never another status.
            if (status is None or status >= 500) and call.retries < MAX_RETRIES and not self._closed:
                delay = min(FIRST_RETRY_S * 2**call.retries, MAX_RETRY_S) / self._speed
                retry = _Call(call.webhook, call.event, call.retries + 1)
                heapq.heappush(self._calls, (time.monotonic() + delay, next(self._order), retry))
                self._wake.notify()


def _pop_due(heap: list[tuple[Any, int, Any]], now: float) -> list[Any]:
    """Take from ``heap`` the items whose time has come, in their order."""
    due = []
    while heap and heap[0][0] <= now:
        due.append(heapq.heappop(heap)[2])
    return due
