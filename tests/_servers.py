"""Tiny purpose-built servers on 127.0.0.1 for failures a normal HTTP server cannot produce."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


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
