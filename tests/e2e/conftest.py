"""Real servers for end-to-end tests: ``hookport serve`` subprocesses on a free loopback port.

A server is ready when it prints ``hookport listening on URL``; tests wait for that line (with a
deadline), never for a fixed time.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.capture_server import capture  # noqa: F401 - a fixture for every e2e test
from tests.e2e.ircd import ircd  # noqa: F401 - a throwaway ngircd for every e2e test

HOOKPORT = [sys.executable, "-m", "hookport"]
START_TIMEOUT = 30.0


@dataclass
class Server:
    """A running ``hookport`` process and what it printed."""

    proc: subprocess.Popen[str]
    url: str
    lines: queue.Queue[str]
    output: list[str] = field(default_factory=list)
    pump: threading.Thread | None = None

    def close(self) -> None:
        """Kill the process if it still runs, then release its pipe."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.pump is not None:
            self.pump.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def wait_for_line(self, text: str, timeout: float = 15.0) -> str:
        """Block until the process prints a line containing ``text``."""
        for line in self.output:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(
            f"no line with {text!r} within {timeout}s; output:\n" + "".join(self.output)
        )

    @property
    def rss_bytes(self) -> int:
        """Resident memory of the server process now."""
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal the process and wait for it to exit; returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Wait for a condition with a deadline (checked every 50 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def run_hookport(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one ``hookport`` command to completion (bounded), as a user would."""
    full = {**os.environ, "HOOKPORT_DISABLE_PLUGIN_AUTOLOAD": "1", **(env or {})}
    full.pop("HOOKPORT_CONFIG", None)
    return subprocess.run(
        [*HOOKPORT, *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def start(
    args: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    announce: str = "hookport listening on ",
    nofile: int | None = None,
) -> Server:
    """Start ``hookport ARGS`` and wait until it announces itself.

    ``nofile``: the process's file descriptor limit (``ulimit -n``), e.g. systemd's 1,024.
    """
    full_env = {
        **os.environ,
        "HOOKPORT_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    full_env.pop("HOOKPORT_CONFIG", None)
    limit = [] if nofile is None else ["prlimit", f"--nofile={nofile}:{nofile}"]
    proc = subprocess.Popen(
        [*limit, *HOOKPORT, *args],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: queue.Queue[str] = queue.Queue()
    server = Server(proc, "", lines)

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            server.output.append(line)
            lines.put(line)

    server.pump = threading.Thread(target=pump, daemon=True)
    server.pump.start()
    try:
        line = server.wait_for_line(announce, START_TIMEOUT)
    except AssertionError:
        server.close()
        raise
    if announce.startswith("hookport listening on "):
        server.url = line.split("hookport listening on ", 1)[1].strip()
    return server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """Factory: ``serve(plugin_file, *extra_args, env=...)`` -> :class:`Server` (stopped after)."""
    started: list[Server] = []

    def factory(
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        nofile: int | None = None,
    ) -> Server:
        server = start(
            ["serve", "--host", "127.0.0.1", "--port", "0", *args],
            cwd=cwd or tmp_path,
            env=env,
            nofile=nofile,
        )
        started.append(server)
        return server

    yield factory
    for server in started:
        server.close()
