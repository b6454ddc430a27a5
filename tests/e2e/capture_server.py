"""A real HTTP server on loopback that records what it receives: forwarding targets and
Apprise ``json://`` endpoints for end-to-end tests.

Each path has a behaviour: answer 200 (the default), fail the first N requests with 500,
redirect, or hang until the test releases it (bounded, so a failing test cannot hang).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

HANG_LIMIT = 60.0


@dataclass(frozen=True)
class Received:
    """One request the server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Capture:
    """The server's state: what it received and how each path answers."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    failures_left: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    hanging: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> list[Received]:
        """What arrived at ``path``, in order."""
        with self.lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[Received]:
        """Block until ``count`` requests arrived at ``path`` (deadline ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(got := self.at(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(got)} of {count} requests at {path} in {timeout}s")
            time.sleep(0.02)
        return got


def _handler(capture: Capture) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            path = self.path
            with capture.lock:
                capture.received.append(
                    Received(
                        self.command,
                        path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                failing = capture.failures_left.get(path, 0)
                if failing:
                    capture.failures_left[path] = failing - 1
            if path in capture.hanging:
                capture.release.wait(HANG_LIMIT)
            if path in capture.redirects:
                self._answer(302, b"", {"Location": capture.redirects[path]})
            elif failing:
                self._answer(500, b"target unavailable", {})
            else:
                self._answer(200, b'{"ok": true}', {"Content-Type": "application/json"})

        do_PUT = do_PATCH = do_POST

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def capture() -> Iterator[Capture]:
    """A recording HTTP server on 127.0.0.1 (a free port), stopped after the test."""
    state = Capture()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
