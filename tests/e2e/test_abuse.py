"""The fault and abuse probe, at small scale: what hung handlers and hostile clients cannot do."""

from __future__ import annotations

import contextlib
import select
import signal
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import wait_until

HANG = str(Path(__file__).parent / "plugins" / "hang.py")


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
        "HANG_SECRET": "right-secret",
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
            metrics = c.get("/_hookport/metrics").text
            assert "hookport_handler_threads_stuck 6.0" in metrics  # visible, not counted free
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


# --- slow and oversized clients --------------------------------------------------------------


def read_answer(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def test_a_one_megabyte_header_is_a_431_before_it_is_read(serve: Any, tmp_path: Path) -> None:
    server = serve("--plugin", HANG, env=hang_env(tmp_path))
    with connect(server.url) as sock:
        head = b"POST /healthy HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000
        started = time.monotonic()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head + b"\r\n\r\n")
        answer = read_answer(sock)
        took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'{"error":"request headers too large"}' in answer
    assert took < 3, f"431 took {took:.2f}s"
    with connect(server.url) as sock:
        fields = b"".join(b"X-F%d: v\r\n" % i for i in range(150))
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
        assert read_answer(sock).startswith(b"HTTP/1.1 431 ")
    with httpx.Client(base_url=server.url) as c:  # and the server keeps serving
        assert c.get("/ping").text == "pong"


def test_slow_heads_and_slow_bodies_are_answered_408(serve: Any, tmp_path: Path) -> None:
    env = hang_env(
        tmp_path,
        HOOKPORT_SERVER__HEADER_TIMEOUT="1s",
        HOOKPORT_SERVER__BODY_TIMEOUT="1s",
    )
    server = serve("--plugin", HANG, env=env)
    with connect(server.url) as slow_head:
        slow_head.sendall(b"POST /healthy HTTP/1.1\r\nHost: x\r\n")  # ...and nothing more
        assert read_answer(slow_head).startswith(b"HTTP/1.1 408 ")
    with connect(server.url) as slow_body:
        slow_body.sendall(b"POST /healthy HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{}")
        answer = read_answer(slow_body)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"request body not received within 1s" in answer
    assert lines(tmp_path / "runs.log", "healthy") == []  # nothing half-sent was stored


def test_a_thousand_idle_connections_do_not_lock_out_a_real_sender(
    serve: Any, tmp_path: Path
) -> None:
    # systemd's default LimitNOFILE: 1,024 descriptors for the whole server process.
    server = serve("--plugin", HANG, env=hang_env(tmp_path), nofile=1024)
    idle: list[socket.socket] = []
    try:
        for _ in range(1100):  # slowloris: heads that never finish
            sock = connect(server.url)
            sock.sendall(b"POST /healthy HTTP/1.1\r\nHost: x\r\n")
            idle.append(sock)
        started = time.monotonic()
        with httpx.Client(base_url=server.url, timeout=2) as c:
            response = c.post("/healthy", content=b"{}")
        took = time.monotonic() - started
        assert response.status_code == 202
        assert took < 2
        server.wait_for_line("closed the oldest idle connection")
    finally:
        for sock in idle:
            sock.close()


def test_sixty_stalled_unverifiable_uploads_do_not_take_the_memory(
    serve: Any, tmp_path: Path
) -> None:
    server = serve("--plugin", HANG, env=hang_env(tmp_path))
    size = 19_000_000
    chunk = b"x" * 1_000_000
    head = (
        b"POST /signed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=" + b"0" * 64 + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )
    stalled = threading.Barrier(61, timeout=60)
    sockets: list[socket.socket] = []

    def upload() -> None:
        sock = connect(server.url)
        sockets.append(sock)
        try:
            sock.sendall(head)
            for _ in range(size // len(chunk) - 1):  # all but the last megabyte, then stall
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:  # answered already (503: no room for another body)
                    break
                sock.sendall(chunk)
        except OSError:
            pass
        stalled.wait()

    threads = [threading.Thread(target=upload, daemon=True) for _ in range(60)]
    for thread in threads:
        thread.start()
    try:
        stalled.wait()
        rss = server.rss_bytes
        assert rss < 300 * 2**20, f"RSS {rss / 2**20:.0f} MiB with 60 stalled uploads"
        with httpx.Client(base_url=server.url, timeout=5) as c:
            assert c.get("/ping").text == "pong"
    finally:
        for sock in sockets:
            sock.close()


def test_a_delivery_without_a_signature_header_is_refused_before_its_body(
    serve: Any, tmp_path: Path
) -> None:
    server = serve("--plugin", HANG, env=hang_env(tmp_path, HOOKPORT_SERVER__BODY_TIMEOUT="30s"))
    with connect(server.url) as sock:
        sock.sendall(
            b"POST /signed HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 19000000\r\n\r\n"  # ...and no body at all
        )
        answer = read_answer(sock, timeout=5)  # long before the 30 s body timeout
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"missing X-Hub-Signature-256 header" in answer


def test_a_bad_signature_flood_writes_a_line_every_few_seconds_not_one_each(
    serve: Any, tmp_path: Path
) -> None:
    server = serve("--plugin", HANG, env=hang_env(tmp_path))
    with httpx.Client(base_url=server.url) as c:
        started = time.monotonic()
        for _ in range(300):
            r = c.post(
                "/signed", content=b"{}", headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
            )
            assert r.status_code == 401
        took = time.monotonic() - started
        assert c.get("/ping").text == "pong"
    first = server.wait_for_line(" rejected ")
    assert "client=127.0.0.1" in first and "status=401" in first
    rejected = [line for line in server.output if " rejected " in line]
    assert len(rejected) <= 1 + int(took // 5)  # one per 5 s window at most


def test_listing_loads_no_bodies_and_limits_are_validated(serve: Any, tmp_path: Path) -> None:
    token = "admin-token-for-abuse"
    env = hang_env(tmp_path, HOOKPORT_ADMIN_TOKEN=token)
    server = serve("--plugin", HANG, env=env)
    auth = {"Authorization": f"Bearer {token}"}
    big = b'{"blob": "' + b"x" * 8_000_000 + b'"}'
    with httpx.Client(base_url=server.url, timeout=30) as c:
        for _ in range(12):  # 96 MB of bodies on disk
            assert c.post("/healthy", content=big).status_code == 202
        before = server.rss_bytes
        for _ in range(3):
            listed = c.get("/_hookport/api/events?limit=1000", headers=auth)
            assert listed.status_code == 200 and len(listed.json()["events"]) >= 12
        grown = server.rss_bytes - before
        assert grown < 48 * 2**20, f"listing grew RSS by {grown / 2**20:.0f} MiB"
        for bad in ("-1", "0", "1001"):
            r = c.get(f"/_hookport/api/events?limit={bad}", headers=auth)
            assert r.status_code == 400
            assert "limit must be between 1 and 1000" in r.json()["error"]
        assert c.get("/_hookport/api/events?limit=many", headers=auth).status_code == 400
