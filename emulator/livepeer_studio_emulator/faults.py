"""Fault injection, and logging into the request log, as an ASGI middleware in front of ``/api``.

Each API request may, by a seeded random draw (or a queue of forced faults), get instead of its answer:

* ``500``, ``502``, ``503``: a JSON ``{"errors": [...]}`` error;
* ``429``: a JSON error with ``Retry-After: N``; ``429-no-retry-after``: the same without the header;
* ``html-502``: a ``text/html`` 502 page, as a proxy in front of the API sends;
* ``drop``: the connection is closed mid-answer: the headers announce a body that never fully arrives,
  so the client sees a broken connection (``requests``: ``ChunkedEncodingError``; ``httpx``:
  ``RemoteProtocolError``).

An upload's connection can also be dropped after a given number of its bytes arrived (``upload_drops``):
the bytes up to there are kept, as a tus server keeps what it received, and the client must ask for the
offset and resume.

Latency (fixed, plus random spikes) can be added to every request. A fault normally replaces the request
(``timing="before"``: nothing happens on the server); with ``timing="after"`` the request is processed and
its answer is then lost, as when a proxy fails after the backend acted.

Admin endpoints (``/_emulator/...``) are never affected or logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import ConfigDict, Field, field_validator, model_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livepeer_studio_emulator.request_log import RequestRecord
from livepeer_studio_emulator.shapes import CamelModel

FaultKind = Literal["500", "502", "503", "429", "429-no-retry-after", "html-502", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)

_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    429: "Too Many Requests",
}
HTML_502_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
#: Statuses whose answers have no body: the client has them whole with their head.
_NO_BODY = frozenset({204, 304})
# What a dropped answer announces, and the part of it that is sent before the connection closes.
_DROP_LENGTH = 256
_DROP_PARTIAL = b'{"errors": ["'


class FaultConfig(CamelModel):
    """What faults to inject. JSON keys are camelCase (``retryAfter``); snake_case is accepted too.

    :param rates: probability (0..1) of each fault kind per request; their sum must not exceed 1.
    :param retry_after: the ``Retry-After`` seconds of a ``429``.
    :param latency_ms: delay added to every request.
    :param spike_rate: probability of an extra ``spike_ms`` delay.
    :param spike_ms: the extra delay of a spike.
    :param queue: faults forced on the next requests, in order, before any random draw.
    :param timing: ``before`` (the fault replaces the request) or ``after`` (the request is processed,
        then its answer replaced).
    :param path_prefix: only requests under this path are affected (it must be under ``/api``).
    :param methods: only these HTTP methods are affected (all when empty).
    :param seed: seeds the random draws, for reproducible runs.
    :param upload_drops: byte offsets of an upload (tus ``PATCH`` or direct ``PUT``) at which its
        connection is dropped, each once: the bytes before it are kept.
    """

    model_config = ConfigDict(extra="forbid")

    rates: dict[FaultKind, float] = Field(default_factory=dict)
    retry_after: int = Field(default=1, ge=0)
    latency_ms: float = Field(default=0.0, ge=0)
    spike_rate: float = Field(default=0.0, ge=0, le=1)
    spike_ms: float = Field(default=0.0, ge=0)
    queue: list[FaultKind] = Field(default_factory=list)
    timing: Literal["before", "after"] = "before"
    path_prefix: str = "/api/"
    methods: list[str] = Field(default_factory=list)
    seed: int | None = None
    upload_drops: list[int] = Field(default_factory=list)

    @field_validator("rates")
    @classmethod
    def _check_rates(cls, rates: dict[str, float]) -> dict[str, float]:
        for kind, rate in rates.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"rate of {kind!r} must be between 0 and 1, not {rate}")
        if sum(rates.values()) > 1 + 1e-9:
            raise ValueError(f"fault rates add up to {sum(rates.values()):g}, more than 1")
        return rates

    @field_validator("methods")
    @classmethod
    def _upper(cls, methods: list[str]) -> list[str]:
        return [method.upper() for method in methods]

    @model_validator(mode="after")
    def _check_prefix(self) -> FaultConfig:
        # Faults are for the emulated API only: the admin endpoints must stay reachable.
        if not self.path_prefix.startswith("/api"):
            raise ValueError("pathPrefix must start with '/api'")
        return self


@dataclass(frozen=True)
class Decision:
    """What happens to one request."""

    fault: FaultKind | None
    delay: float
    timing: Literal["before", "after"]
    retry_after: int


class FaultInjector:
    """Holds the fault config and its random generator; decides each request's fate.

    :param config: the initial config (none by default).
    """

    def __init__(self, config: FaultConfig | None = None) -> None:
        # The config is changed from test threads while the server thread draws.
        self._lock = threading.Lock()
        self._config = FaultConfig()
        self._queue: list[FaultKind] = []
        self._upload_drops: list[int] = []
        self._rng = random.Random()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """The current config (``queue`` shows the faults not yet used)."""
        with self._lock:
            return self._config.model_copy(
                update={"queue": list(self._queue), "upload_drops": list(self._upload_drops)}
            )

    def configure(self, config: FaultConfig) -> None:
        """Replace the config; reseeds the generator when ``config.seed`` is set."""
        with self._lock:
            self._config = config
            self._queue = list(config.queue)
            self._upload_drops = sorted(config.upload_drops)
            self._rng = random.Random(config.seed)

    def take_upload_drop(self, start: int, end: int) -> int | None:
        """The drop offset within an upload's bytes ``start`` (excluded) to ``end``, used up; or ``None``."""
        with self._lock:
            for offset in self._upload_drops:
                if start < offset <= end:
                    self._upload_drops.remove(offset)
                    return offset
            return None

    def decide(self, method: str, path: str) -> Decision | None:
        """The fate of one request, or ``None`` if it is out of scope."""
        with self._lock:
            config = self._config
            if not path.startswith(config.path_prefix):
                return None
            if config.methods and method.upper() not in config.methods:
                return Decision(None, 0.0, config.timing, config.retry_after)
            # Always two draws per request, so a seeded run is reproducible whatever the config.
            draw, spike_draw = self._rng.random(), self._rng.random()
            fault: FaultKind | None = None
            if self._queue:
                fault = self._queue.pop(0)
            else:
                threshold = 0.0
                for kind in FAULT_KINDS:
                    threshold += config.rates.get(kind, 0.0)
                    if draw < threshold:
                        fault = kind
                        break
            delay = config.latency_ms + (config.spike_ms if spike_draw < config.spike_rate else 0.0)
            return Decision(fault, delay / 1000, config.timing, config.retry_after)


class EmulatedConnectionDrop(Exception):
    """Raised mid-answer so the server closes the connection (and silenced in its log)."""


class _SilenceDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], EmulatedConnectionDrop))


def silence_drop_tracebacks() -> None:
    """Keep uvicorn from logging a traceback for each emulated drop."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(existing, _SilenceDrops) for existing in logger.filters):
        logger.addFilter(_SilenceDrops())


class ApiTrafficMiddleware:
    """Injects faults into, and logs, every request under the fault config's path prefix.

    :param app: the ASGI app.
    :param injector: decides the faults.
    :param record: called with each logged request.
    :param log_prefix: the paths logged (``/api/``).
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        record: Callable[[RequestRecord], None],
        log_prefix: str = "/api/",
    ) -> None:
        self.app = app
        self.injector = injector
        self.record = record
        self.log_prefix = log_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        decision = self.injector.decide(method, path)
        logged = path.startswith(self.log_prefix)
        if decision is None:
            if not logged:
                await self.app(scope, receive, send)
                return
            decision = Decision(None, 0.0, "before", 0)
        if decision.delay:
            await asyncio.sleep(decision.delay)

        statuses: list[int] = []
        recorded = False
        dropped = decision.fault == "drop"

        def record_once() -> None:
            nonlocal recorded
            if logged and not recorded:
                recorded = True
                # A dropped connection has no status, whatever its half-sent headers said.
                status = statuses[0] if statuses and not dropped else None
                self.record(
                    RequestRecord(
                        method=method,
                        path=path,
                        query=query,
                        status=status,
                        fault="drop" if dropped else decision.fault,
                        at=time.time(),
                    )
                )

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
                if message["status"] in _NO_BODY:  # the answer is whole once its head has left
                    record_once()
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # Logged before the answer's last byte leaves: a client holding its answer finds it logged.
                record_once()
            await send(message)

        async def swallow(message: Message) -> None:
            pass

        try:
            if decision.fault is None:
                try:
                    await self.app(scope, receive, capture)
                except EmulatedConnectionDrop:  # an upload dropped after some of its bytes
                    dropped = True
                    raise
            else:
                if decision.timing == "after":
                    await self.app(scope, receive, swallow)
                await _send_fault(decision, capture)
        finally:
            record_once()


async def drop_connection(send: Send) -> None:
    """Start an answer, then close the connection mid-body.

    :raises EmulatedConnectionDrop: always, so the server closes the connection.
    """
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(_DROP_LENGTH).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _DROP_PARTIAL, "more_body": True})
    raise EmulatedConnectionDrop("emulated dropped connection")


async def _send_fault(decision: Decision, send: Send) -> None:
    fault = decision.fault
    if fault == "drop":
        await drop_connection(send)
    if fault == "html-502":
        await _send(send, 502, HTML_502_PAGE, b"text/html")
        return
    status = 429 if fault in ("429", "429-no-retry-after") else int(str(fault))
    headers: list[tuple[bytes, bytes]] = []
    message = f"emulated fault: {_REASONS[status]}"
    if fault == "429":
        headers.append((b"retry-after", str(decision.retry_after).encode()))
        message = "emulated fault: too many requests"
    body = json.dumps({"errors": [message]}).encode()
    await _send(send, status, body, b"application/json", headers)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
