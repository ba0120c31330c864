"""The receiver of Livepeer's webhooks: an Airflow plugin that mounts a FastAPI app on the api-server.

Airflow 3.1+ mounts it at ``/livepeer``, so Livepeer calls ``POST <api-server>/livepeer/webhooks/<conn_id>``.
:class:`LivepeerWebhookPlugin` is an ``airflow.plugins`` entry point: Airflow loads the ``plugins`` of a
provider info (where it is listed too) only with ``[core] lazy_load_providers`` off, not the default. Airflow
does not authenticate a plugin's routes: this app does, with Livepeer's signature, and answers

* **413** to a body over :data:`~airflow_provider_livepeer.webhooks.MAX_BODY_BYTES` (unread past the bound);
* **401** to a missing or wrong signature, and the same 401 when the connection does not exist or has no
  ``webhook_secret`` extra: a caller learns nothing about which connections exist;
* **400** to a signed body that is not one of Livepeer's events;
* **200** once the event's Airflow Asset events are committed (``{"recorded": true}``), or it was recorded
  before (``{"recorded": false}``: Livepeer's retry or a replay), or it is an event the provider does
  not act on (``{"recorded": false, "ignored": true}``);
* **503** when the metadata database refused: nothing was written, and Livepeer retries (on a 5xx).

The route reads the body on the event loop and does the rest (the connection lookup, the database
write) in a worker thread; it answers in milliseconds. A connection is read at most every
:data:`SETTINGS_TTL_S` seconds per id (an unknown one too), so a storm of forged calls costs no database
query per call. Secrets never reach a log line, an answer or an Asset event.

Below Airflow 3.1 there is no plugin app to mount: the plugin says so in one log line when it loads.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from airflow.providers.common.compat.sdk import AirflowNotFoundException, AirflowPlugin, mask_secret

from airflow_provider_livepeer.connection import api_base_url
from airflow_provider_livepeer.version_compat import AIRFLOW_V_3_1_PLUS, log_feature_unavailable
from airflow_provider_livepeer.webhook_events import Targets, record_event
from airflow_provider_livepeer.webhooks import MAX_BODY_BYTES, SIGNATURE_HEADER, parse_event, verify_signature

if AIRFLOW_V_3_1_PLUS:  # FastAPI reads the route's annotations from this module's names
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

log = logging.getLogger(__name__)

#: Where the app is mounted on the api-server.
URL_PREFIX = "/livepeer"
#: The extras of a ``livepeer`` connection the receiver reads.
SECRET_EXTRA = "webhook_secret"
ALIAS_EXTRA = "webhook_asset_alias"
UPLOADS_EXTRA = "webhook_uploads_asset"
#: Seconds a connection's webhook settings (or its absence) are kept before it is read again.
SETTINGS_TTL_S = 10.0
#: Connection ids kept at once: calls naming ever new ids cannot grow the cache without bound.
_CACHED_CONNECTIONS = 256
#: Seconds between two log lines about refused calls.
_REFUSALS_LOG_INTERVAL_S = 60.0
_CONN_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")


@dataclass(frozen=True)
class WebhookSettings:
    """What a connection says about its webhooks: the secret (never shown) and where events go."""

    secret: str
    targets: Targets

    def __repr__(self) -> str:
        return f"WebhookSettings(secret=***, targets={self.targets!r})"


def read_settings(conn_id: str) -> WebhookSettings | None:
    """A connection's webhook settings, or ``None``: no such connection, no ``webhook_secret``, a bad host.

    A connection without the extra says so in the log, naming the extra (never the connection's content).
    """
    from airflow.models.connection import Connection

    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson
    secret = extra.get(SECRET_EXTRA)
    if not isinstance(secret, str) or not secret.strip():
        log.warning(
            "Livepeer webhooks of connection %r are refused: it has no %r extra, the shared secret Livepeer "
            "signs its calls with (set it, and the same sharedSecret on the webhook).",
            conn_id,
            SECRET_EXTRA,
        )
        return None
    mask_secret(secret)
    try:
        base_url = api_base_url(conn.host, conn.port, conn.schema)
    except ValueError as err:  # the livepeer:// URIs would have no host: nothing can be recorded
        log.error("Livepeer webhooks of connection %r are refused: %s", conn_id, err)
        return None
    alias, uploads = extra.get(ALIAS_EXTRA), extra.get(UPLOADS_EXTRA)
    return WebhookSettings(
        secret.strip(),
        Targets(
            base_url,
            alias if isinstance(alias, str) and alias else None,
            uploads if isinstance(uploads, str) and uploads else None,
        ),
    )


class _Settings:
    """:func:`read_settings` per connection id, each kept :data:`SETTINGS_TTL_S` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[float, WebhookSettings | None]] = OrderedDict()

    def get(self, conn_id: str) -> WebhookSettings | None:
        now = time.monotonic()
        with self._lock:
            kept = self._kept.get(conn_id)
        if kept is not None and kept[0] > now:
            return kept[1]
        settings = read_settings(conn_id)
        with self._lock:
            self._kept[conn_id] = (now + SETTINGS_TTL_S, settings)
            self._kept.move_to_end(conn_id)
            while len(self._kept) > _CACHED_CONNECTIONS:
                self._kept.popitem(last=False)
        return settings


class _Refusals:
    """Counts refused calls; one log line a minute at most, not one per call (a storm floods no log)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logged_at = time.monotonic() - _REFUSALS_LOG_INTERVAL_S
        self._count = 0

    def add(self, conn_id: str, reason: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if now - self._logged_at < _REFUSALS_LOG_INTERVAL_S:
                return
            count, self._count, self._logged_at = self._count, 0, now
        log.warning(
            "Livepeer webhook calls refused: %d since the last such line (the last: connection %r, %s)",
            count,
            conn_id[:250],
            reason,
        )


def create_app() -> FastAPI:
    """The receiver's FastAPI app (mounted at :data:`URL_PREFIX`): ``POST /webhooks/{conn_id}``."""
    app = FastAPI(title="Livepeer webhooks", docs_url=None, redoc_url=None, openapi_url=None)
    settings, refusals = _Settings(), _Refusals()

    def answer(status: int, **body: Any) -> JSONResponse:
        return JSONResponse(body, status_code=status)

    def refuse(conn_id: str, reason: str) -> JSONResponse:
        refusals.add(conn_id, reason)
        return answer(401, detail="missing or invalid Livepeer-Signature")

    @app.post("/webhooks/{conn_id}")
    async def receive(conn_id: str, request: Request) -> JSONResponse:
        body = await _bounded_body(request)
        if body is None:
            return answer(413, detail=f"the body is over {MAX_BODY_BYTES} bytes")
        header = request.headers.get(SIGNATURE_HEADER)
        if not header or not _CONN_ID.fullmatch(conn_id):
            return refuse(conn_id, "no signature" if not header else "not a connection id")
        found = await run_in_threadpool(settings.get, conn_id)
        if found is None or not verify_signature(found.secret, body, header):
            return refuse(
                conn_id, "not a connection with a webhook_secret" if found is None else "wrong signature"
            )
        try:
            event = parse_event(body)
        except ValueError as err:
            return answer(400, detail=str(err))
        if event is None:
            return answer(200, recorded=False, ignored=True)
        try:
            recorded = await run_in_threadpool(record_event, event, found.targets)
        except Exception:  # the database: nothing was written, and a 5xx makes Livepeer retry
            log.exception("Livepeer webhook event %s of connection %r not recorded", event.id, conn_id)
            return answer(503, detail="not recorded; try again")
        if recorded:
            log.info("Livepeer %s event %s of connection %r recorded", event.event, event.id, conn_id)
        return answer(200, recorded=recorded)

    return app


async def _bounded_body(request: Request) -> bytes | None:
    """The body, or ``None`` once it is over the bound (by its ``Content-Length`` or as it arrives)."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


class LivepeerWebhookPlugin(AirflowPlugin):
    """Mounts the receiver of Livepeer's webhooks on the api-server (Airflow 3.1+)."""

    name = "livepeer_webhooks"
    fastapi_apps = (
        [{"name": "Livepeer webhooks", "app": create_app(), "url_prefix": URL_PREFIX}]
        if AIRFLOW_V_3_1_PLUS
        else []
    )

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        """Below Airflow 3.1, say in one line that no webhook is received."""
        if not AIRFLOW_V_3_1_PLUS:
            log_feature_unavailable(
                log,
                "Receiving Livepeer webhooks (the provider's plugin app on the api-server)",
                "3.1",
                "Livepeer's calls are not received; the event triggers and operators poll instead",
                asked=False,
            )
