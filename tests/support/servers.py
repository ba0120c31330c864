"""Purpose-built servers on 127.0.0.1, all on one helper: :class:`LoopbackServer`.

A test that needs an HTTP peer the emulator is not (a media source, an upload target, a redirect target)
writes a request handler on :class:`QuietHandler` and runs it with :class:`LoopbackServer`, which picks a
free port and serves from a background thread until closed. Only :class:`DroppingServer` works on raw
sockets, for the one failure an HTTP server cannot produce: a connection closed without an answer.
"""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that writes no access log (a failed test's output stays readable)."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        """Answer ``status`` with ``body`` and ``headers`` (Content-Length is added)."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    """Serves ``handler`` on a free port of 127.0.0.1, a thread per request, until :meth:`close`.

    Use it as a context manager, or keep it and call :meth:`close` (a server that outlives a ``with``).
    """

    def __init__(self, handler: Any) -> None:
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def folder_server(folder: Path) -> LoopbackServer:
    """A :class:`LoopbackServer` serving the files of ``folder`` (GET and HEAD)."""
    return LoopbackServer(functools.partial(_QuietFiles, directory=str(folder)))


#: The longest a held answer waits for its release (a bound on a test that never releases it).
HOLD_LIMIT = 120.0


@dataclass
class Received:
    """A request a :class:`MediaServer` recorded."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class MediaServer:
    """A media source and upload target: serves registered files, records uploads, can hold answers or fail.

    ``statuses`` answers a path with that status (a GET with ``nope``, an upload with no body); a GET of a
    path in ``redirects`` answers 302 to its target; a GET of a file waits until ``release`` is set, and a
    GET of a path given to :meth:`hold` until that path's event is set too.
    """

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    holds: dict[str, threading.Event] = field(default_factory=dict)
    gets: int = 0

    def add(self, path: str, content: bytes, held: bool = False) -> str:
        """Serve ``content`` at ``path``; returns its URL. ``held``: as :meth:`hold` does."""
        self.files[path] = content
        if held:
            self.hold(path)
        return self.url + path

    def hold(self, path: str) -> threading.Event:
        """Hold each GET of ``path`` until the returned event is set (the server sets it when it stops)."""
        return self.holds.setdefault(path, threading.Event())


@contextmanager
def serve_media() -> Iterator[MediaServer]:
    """Run a :class:`MediaServer` for the ``with`` block (answers released unless a test clears it)."""
    media = MediaServer()
    media.release.set()

    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            media.gets += 1
            if self.path in media.redirects:
                self.reply(302, headers={"Location": media.redirects[self.path]})
            elif self.path in media.statuses:
                self.reply(media.statuses[self.path], b"nope")
            elif self.path not in media.files:
                self.reply(404, b"not here")
            else:
                media.release.wait(10)
                if self.path in media.holds:
                    media.holds[self.path].wait(HOLD_LIMIT)
                self.reply(200, media.files[self.path])

        def _upload(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            media.received.append(Received(self.command, self.path, dict(self.headers), body))
            self.reply(media.statuses.get(self.path, 200))

        do_PUT = do_POST = _upload

    with LoopbackServer(Handler) as server:
        media.url = server.url
        try:
            yield media
        finally:
            media.release.set()  # a held answer must not keep the server from stopping
            for event in media.holds.values():
                event.set()


@dataclass
class HeaderRecorder:
    """Answers every request with ``status``/``body``/``headers`` and records it in ``seen``:
    (method, path, request headers, request body)."""

    url: str = ""
    seen: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def header_recorder(
    status: int = 200, body: bytes = b"{}", headers: dict[str, str] | None = None
) -> Iterator[HeaderRecorder]:
    """Run a :class:`HeaderRecorder` for the ``with`` block."""
    recorder = HeaderRecorder(status=status, body=body, headers=dict(headers or {}))

    class Handler(QuietHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = self.rfile.read(length) if length else b""
            recorder.seen.append((self.command, self.path, dict(self.headers.items()), payload))
            self.reply(
                recorder.status, recorder.body, {"Content-Type": "application/json", **recorder.headers}
            )

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    with LoopbackServer(Handler) as server:
        recorder.url = server.url
        yield recorder


@dataclass
class DroppingServer:
    """Closes the first ``drops`` connections without answering, then answers ``body`` with 200."""

    drops: int
    body: object
    url: str = ""
    connections: int = 0
    _sock: socket.socket = field(default_factory=lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                self.connections += 1
                if self.connections <= self.drops:
                    continue  # closing without a byte: the client sees a dropped connection
                payload = json.dumps(self.body).encode()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )


@contextmanager
def dropping_server(drops: int, body: object) -> Iterator[DroppingServer]:
    """Run a :class:`DroppingServer` on a free loopback port."""
    server = DroppingServer(drops, body)
    server._sock.bind(("127.0.0.1", 0))
    server._sock.listen(8)
    server.url = f"http://127.0.0.1:{server._sock.getsockname()[1]}"
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server._sock.close()
        thread.join(timeout=5)


@contextmanager
def asgi_server(app: Any) -> Iterator[str]:
    """Serve an ASGI app (a plugin's FastAPI app) with uvicorn on a free port of 127.0.0.1; yields its URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", http="h11", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the ASGI server stopped before it started")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
