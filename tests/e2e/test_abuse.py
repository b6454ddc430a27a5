"""The fault and abuse probe, at small scale: what hung handlers and hostile clients cannot do."""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HANG = str(Path(__file__).parent / "plugins" / "hang.py")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def lines(log: Path, word: str) -> list[str]:
    if not log.exists():
        return []
    return [line.split()[1] for line in log.read_text().splitlines() if line.startswith(word)]


def statuses(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, status, last_error FROM events").fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def hang_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/abuse.db",
        "HANG_LOG": str(tmp_path / "runs.log"),
        "HANG_RELEASE": str(tmp_path / "release"),
        **extra,
    }


def test_six_hung_sync_handlers_stop_neither_routes_nor_healthy_events(
    serve: Any, tmp_path: Path
) -> None:
    env = hang_env(
        tmp_path,
        HOOKPORT_WORKER__TIMEOUT="2s",
        HOOKPORT_WORKER__MAX_ATTEMPTS="1",
        HOOKPORT_WORKER__CONCURRENCY="8",
    )
    server = serve("--plugin", HANG, env=env)
    log = tmp_path / "runs.log"
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            hung = [c.post("/hang", content=b"{}").json()["id"] for _ in range(6)]
            wait_until(lambda: len(lines(log, "hang-start")) == 6, 15, "six hung handlers")

            assert c.get("/ping").text == "pong"  # sync routes have threads of their own
            healthy = [c.post("/healthy", content=b"{}").json()["id"] for _ in range(5)]
            wait_until(
                lambda: set(lines(log, "healthy")) == set(healthy), 15, "healthy events to run"
            )
            assert c.get("/ping").text == "pong"

            db = tmp_path / "abuse.db"
            wait_until(
                lambda: all(statuses(db)[i][0] == "dead" for i in hung), 15, "hung ones to time out"
            )
        rows = statuses(db)
        assert all(rows[i][0] == "done" for i in healthy)  # ran, never timed out in a queue
        for event_id in hung:
            assert rows[event_id][1] == (
                "block: HandlerTimeout: handler ran longer than 2s; its thread is still running"
            )
        server.wait_for_line("still running past its 2s timeout")
    finally:
        (tmp_path / "release").touch()


def test_sigterm_stops_within_the_shutdown_timeout_while_a_sync_handler_hangs(
    serve: Any, tmp_path: Path
) -> None:
    env = hang_env(tmp_path, HOOKPORT_SERVER__SHUTDOWN_TIMEOUT="2s")
    server = serve("--plugin", HANG, env=env)
    log = tmp_path / "runs.log"
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            event_id = c.post("/hang", content=b"{}").json()["id"]
        wait_until(lambda: lines(log, "hang-start") == [event_id], 15, "the handler to start")

        signalled = time.monotonic()
        assert server.stop(signal.SIGTERM, timeout=15) == 0
        took = time.monotonic() - signalled
    finally:
        (tmp_path / "release").touch()
    assert took < 2 + 3, f"exit took {took:.1f}s with a 2s shutdown timeout"
    status, error = statuses(tmp_path / "abuse.db")[event_id]
    # It ran and was cut off: recorded as such and due again, not released as "not run".
    assert status == "retrying"
    assert error == "block: WorkerStopped: the worker stopped while the handler was running"
