"""adnanh/webhook (Debian's ``webhook`` 2.8 binary) and hookport side by side, for comparisons.

``webhook -port 0`` would listen on a free port but print the flag's 0 as its address, so a free
port is picked here (bind to 0, read it, close) and the server is polled until ``GET /`` answers
``OK``, with a deadline.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

START_TIMEOUT = 15.0
# Headers whose values both servers must agree on when present in either answer.
COMPARED_HEADERS = (
    "content-type", "content-length", "x-foo", "access-control-allow-origin",
    "x-content-type-options",
)  # fmt: skip


def webhook_binary() -> str:
    """The ``webhook`` binary; its absence fails the test (CI installs it, see .ci/run)."""
    found = shutil.which("webhook")
    if found is None:
        pytest.fail("adnanh/webhook is not installed: apt-get install -y webhook")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Webhook:
    """A running adnanh/webhook process."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def start_webhook(hooks: list[Path], tmp_path: Path, *flags: str) -> Webhook:
    """Start ``webhook`` serving ``hooks`` on a free loopback port; wait until it answers."""
    port = free_port()
    log = tmp_path / f"webhook-{port}.log"
    args = [webhook_binary(), "-ip", "127.0.0.1", "-port", str(port), "-verbose", *flags]
    for file in hooks:
        args += ["-hooks", str(file)]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"webhook exited: {log.read_text()}")
        try:
            if httpx.get(url + "/", timeout=1).text == "OK":
                return Webhook(proc, url, log)
        except httpx.TransportError:
            pass
        # The pause between probes doubles as the check that it is still running.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.02)
    proc.kill()
    raise AssertionError(f"webhook did not answer within {START_TIMEOUT}s: {log.read_text()}")


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[Any]:
    """Factory: ``webhook([files], *flags)`` -> :class:`Webhook` (killed after the test)."""
    started: list[Webhook] = []

    def factory(hooks: list[Path], *flags: str) -> Webhook:
        server = start_webhook(hooks, tmp_path, *flags)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.proc.kill()
        server.proc.wait()


def answer(response: httpx.Response) -> dict[str, Any]:
    """What is compared: status, body, and the headers that matter."""
    headers = {k: response.headers[k] for k in COMPARED_HEADERS if k in response.headers}
    return {"status": response.status_code, "body": response.text, "headers": headers}


def same_answer(a: str, b: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """Send one request to both servers; assert equal answers; return adnanh's."""
    with httpx.Client(timeout=30) as client:
        theirs = answer(client.request(method, a + path, **kwargs))
        ours = answer(client.request(method, b + path, **kwargs))
    assert ours == theirs, f"{method} {path}: hookport {ours} != adnanh {theirs}"
    return theirs
