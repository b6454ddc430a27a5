"""Nothing acknowledged is ever lost: kill -9 under load, kill -9 mid-handler, SIGTERM, 503."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "durable.py")


def handled(log: Path, word: str = "done") -> set[str]:
    if not log.exists():
        return set()
    return {line.split()[1] for line in log.read_text().splitlines() if line.startswith(word)}


def stored_ids(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, status FROM events").fetchall())


class Load:
    """Concurrent senders; every delivery is retried with the same key until acknowledged."""

    def __init__(self, url: str, senders: int, per_sender: int) -> None:
        self.url = url
        self.acked: dict[str, str] = {}  # delivery key -> event id
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(per_sender,), daemon=True)
            for _ in range(senders)
        ]
        self.errors = 0

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "senders did not finish"

    def _run(self, count: int) -> None:
        with httpx.Client(timeout=10) as client:
            for _ in range(count):
                key = uuid.uuid4().hex
                for _attempt in range(400):
                    if self.stop.is_set():
                        return
                    try:
                        r = client.post(
                            f"{self.url}/in", content=b'{"n":1}', headers={"Idempotency-Key": key}
                        )
                    except httpx.HTTPError:
                        self.errors += 1
                        time.sleep(0.02)  # the server is down: back off like a sender would
                        continue
                    if r.status_code in (200, 202):
                        with self.lock:
                            self.acked[key] = r.json()["id"]
                        break
                    time.sleep(0.02)


def test_kill_9_under_load_loses_no_acknowledged_event(serve: Any, tmp_path: Path) -> None:
    db, log = tmp_path / "d.db", tmp_path / "handled.log"
    env = {"DURABLE_LOG": str(log)}
    args = ("--plugin", PLUGIN)
    (tmp_path / "hookport.toml").write_text(
        f'[store]\nurl = "sqlite:///{db}"\n[worker]\nlease = "3s"\nconcurrency = 8\n'
    )
    server = serve("--config", str(tmp_path / "hookport.toml"), *args, env=env)
    port = server.url.rsplit(":", 1)[1]
    load = Load(server.url, senders=16, per_sender=120)  # 1,920 deliveries
    load.start()
    kills = 0
    for threshold in (250, 700, 1200):
        wait_until(lambda t=threshold: len(load.acked) >= t, 60, f"{threshold} acknowledgements")
        server.stop(signal.SIGKILL)
        kills += 1
        server = serve("--config", str(tmp_path / "hookport.toml"), *args, "--port", port, env=env)
    load.join(120)
    assert len(load.acked) == 16 * 120
    acked_ids = set(load.acked.values())
    assert len(acked_ids) == len(load.acked), "two deliveries were given one event id"
    wait_until(lambda: acked_ids <= handled(log), 60, "every acknowledged event to be handled")
    stored = stored_ids(db)
    missing = acked_ids - set(stored)
    assert not missing, f"{len(missing)} acknowledged events are not in the store"
    wait_until(lambda: all(s == "done" for s in stored_ids(db).values()), 30, "all done")
    assert kills == 3 and load.errors > 0  # the kills really interrupted the senders
    assert server.stop() == 0


def test_kill_9_during_a_slow_handler_processes_the_event_after_restart(
    serve: Any, tmp_path: Path
) -> None:
    db, log = tmp_path / "s.db", tmp_path / "slow.log"
    cfg = tmp_path / "hookport.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{db}"\n[worker]\nlease = "2s"\n')
    env = {"DURABLE_LOG": str(log)}
    server = serve("--config", str(cfg), "--plugin", PLUGIN, env=env)
    r = httpx.post(f"{server.url}/slow", content=b"{}")
    assert r.status_code == 202
    event_id = r.json()["id"]
    wait_until(lambda: event_id in handled(log, "start"), 15, "the handler to start")
    server.stop(signal.SIGKILL)
    assert event_id not in handled(log, "end")
    server = serve("--config", str(cfg), "--plugin", PLUGIN, env=env)
    wait_until(lambda: event_id in handled(log, "end"), 30, "the handler to run again")
    assert f"end {event_id} 2" in log.read_text()
    wait_until(lambda: stored_ids(db).get(event_id) == "done", 10, "status done")
    assert server.stop() == 0


def test_sigterm_finishes_the_running_handler_and_exits_0(serve: Any, tmp_path: Path) -> None:
    db, log = tmp_path / "g.db", tmp_path / "g.log"
    cfg = tmp_path / "hookport.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    server = serve(
        "--config",
        str(cfg),
        "--plugin",
        PLUGIN,
        env={"DURABLE_LOG": str(log), "DURABLE_SLOW_SECONDS": "1.5"},
    )
    event_id = httpx.post(f"{server.url}/slow", content=b"{}").json()["id"]
    wait_until(lambda: event_id in handled(log, "start"), 15, "the handler to start")
    assert server.stop(signal.SIGTERM) == 0
    assert f"end {event_id} 1" in log.read_text()
    assert stored_ids(db)[event_id] == "done"


def test_locked_store_answers_503_stores_nothing_then_recovers(serve: Any, tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    cfg = tmp_path / "hookport.toml"
    cfg.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    server = serve("--config", str(cfg), "--plugin", PLUGIN, "--no-workers")
    with httpx.Client(base_url=server.url, timeout=30) as c:
        assert (
            c.post("/in", content=b"{}", headers={"Idempotency-Key": "before"}).status_code == 202
        )
        blocker = sqlite3.connect(db, timeout=1, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            r = c.post("/in", content=b"{}", headers={"Idempotency-Key": "during"})
            assert r.status_code == 503
            assert int(r.headers["retry-after"]) > 0
            assert "error" in r.json()
            assert c.get("/_hookport/health").status_code == 200
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        r = c.post("/in", content=b"{}", headers={"Idempotency-Key": "during"})
        assert (r.status_code, r.json()["status"]) == (202, "queued")  # a retry, not a duplicate
    with sqlite3.connect(db) as conn:
        keys = [k for (k,) in conn.execute("SELECT delivery_id FROM events ORDER BY delivery_id")]
    assert keys == ["before", "during"]
    assert server.stop() == 0
