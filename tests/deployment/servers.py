"""Loopback servers beside the deployment: import sources held back on demand, and a counting proxy.

Both run on :class:`tests.support.servers.LoopbackServer` and live as long as the deployment.
"""

from __future__ import annotations

import contextlib
import http.client
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.support.servers import LoopbackServer, QuietHandler


class _Server:
    """A :class:`LoopbackServer` kept for the deployment's lifetime."""

    _server: LoopbackServer

    @property
    def url(self) -> str:
        """The base URL of the server."""
        return self._server.url

    def close(self) -> None:
        """Stop serving."""
        self._server.close()


class SourceServer(_Server):
    """Serves one video for imports: ``/open/<any>`` at once, ``/held/<gate>/<any>`` once ``gate`` opens.

    A held source keeps the emulator's import running (its timeline stops before the end until the fetch
    is done), so a scenario decides when its Livepeer tasks complete. Every path answers the same bytes;
    distinct paths make distinct imports (Livepeer answers a repeated URL with the task it already has).
    """

    def __init__(self, video: Path) -> None:
        self.video = video.read_bytes()
        self._gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        source = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path).path.strip("/").split("/")
                if parts[0] == "held" and len(parts) > 2:
                    source.gate(parts[1]).wait(600)
                elif parts[0] != "open":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(source.video)))
                self.end_headers()
                with contextlib.suppress(ConnectionError):  # the emulator stopped mid-fetch
                    self.wfile.write(source.video)

        self._server = LoopbackServer(Handler)

    def gate(self, name: str) -> threading.Event:
        """The gate ``name`` (closed until :meth:`open`)."""
        with self._lock:
            return self._gates.setdefault(name, threading.Event())

    def open(self, name: str) -> None:
        """Let every held fetch of ``name`` (and later ones) through."""
        self.gate(name).set()

    def held_url(self, gate: str, name: str) -> str:
        """A source URL held back until ``gate`` opens."""
        return f"{self.url}/held/{gate}/{name}.mp4"

    def open_url(self, name: str) -> str:
        """A source URL served at once."""
        return f"{self.url}/open/{name}.mp4"

    def open_all(self) -> None:
        """Let every held fetch through, of every gate."""
        with self._lock:
            for gate in self._gates.values():
                gate.set()

    def close(self) -> None:
        """Release every held fetch and stop serving."""
        self.open_all()
        super().close()


@dataclass(frozen=True)
class SeenRequest:
    """A request that went through a :class:`CountingProxy`."""

    at: float
    method: str
    path: str


class CountingProxy(_Server):
    """Forwards HTTP requests to ``target`` and notes each one (method, path, time).

    Each triggerer reaches the emulator through its own proxy, so a scenario can tell which triggerer
    sent which request (the emulator's own log does not know the client).
    """

    def __init__(self, target: str) -> None:
        self.target = urlsplit(target)
        self.seen: list[SeenRequest] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.seen.append(SeenRequest(time.time(), self.command, urlsplit(self.path).path))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream = http.client.HTTPConnection(
                    proxy.target.hostname or "127.0.0.1", proxy.target.port, timeout=120
                )
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in (
                        "connection",
                        "transfer-encoding",
                        "content-length",
                        "date",
                        "server",
                    ):
                        self.send_header(key, value)
                for key in ("Date",):
                    if answer.getheader(key):
                        self.send_header(key, answer.getheader(key) or "")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_PATCH = do_PUT = _forward

            def send_response(self, code: int, message: str | None = None) -> None:
                # No Date or Server of its own: the upstream ones are forwarded (the watcher reads Date).
                self.log_request(code)
                self.send_response_only(code, message)

        self._server = LoopbackServer(Handler)

    def forget(self) -> None:
        """Start the record afresh."""
        with self._lock:
            self.seen.clear()

    def requests(self, method: str, path: str) -> list[SeenRequest]:
        """The requests seen with this method and exactly this path."""
        with self._lock:
            return [r for r in self.seen if r.method == method and r.path == path]
