"""A local HTTP server standing in for a notification service (Apprise ``json://`` posts here).

Paths starting with ``/fail`` answer 500, so a channel pointing there fails to deliver.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """The running server's port and what it received: (path, JSON document) pairs."""

    port: int
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[tuple[str, dict[str, Any]]]:
        """Poll until ``count`` posts arrived (or fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            assert time.monotonic() < deadline, f"got {len(self.received)} of {count} posts"
            time.sleep(0.01)
        return list(self.received)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        payload = json.loads(self.rfile.read(length))
        self.server.received.append((self.path, payload))
        status = 500 if self.path.startswith("/fail") else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    received: list[tuple[str, dict[str, Any]]]


@contextmanager
def notify_sink() -> Iterator[Receiver]:
    """Run the server on a free loopback port for the ``with`` block."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Receiver(port=server.server_address[1], received=server.received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
