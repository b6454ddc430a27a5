"""Pause across processes and restarts: ``hookport pause`` in one process holds a running
``hookport serve`` (its route answers 503 within the pause book's TTL, its receiver stores and
holds); the pause survives a restart of the server (stopped, and another started on the same
store); ``hookport resume`` releases the events in arrival order. On a SQLite file and on a
PostgreSQL database (``pg.py`` says where it comes from)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import pg
from tests.e2e.conftest import run_hookport, wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "pausable.py")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store every process of the test shares: a SQLite file, or a fresh PG database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/e2e.db"
        return
    with pg.admin_dsn() as admin, pg.fresh_database(admin) as dsn:
        yield dsn


def test_pause_from_another_process_survives_a_restart_and_resumes_in_order(
    serve: Any, tmp_path: Path, store_url: str
) -> None:
    log = tmp_path / "ran.log"
    log.touch()
    config = tmp_path / "hookport.toml"
    config.write_text(f'[store]\nurl = "{store_url}"\n[worker]\npoll_interval = "100ms"\n')
    env = {"PAUSE_LOG": str(log)}
    common = ["--config", str(config), "--plugin", PLUGIN]
    server = serve(*common, env=env)
    assert httpx.get(server.url + "/hello").text == "hello"

    paused = run_hookport("pause", "inbox", *common, cwd=tmp_path, env=env)
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.strip() == "paused inbox until resumed"
    assert run_hookport("pause", "hello", "--for", "1h", *common, cwd=tmp_path).returncode == 0
    # The server sees the other process's pause without a restart (pause book TTL: 1 s).
    wait_until(
        lambda: httpx.get(server.url + "/hello").status_code == 503, 10, "the route to pause"
    )
    ids = [httpx.post(server.url + "/in", json={"n": i}).json()["id"] for i in range(20)]
    listed = run_hookport("events", "list", "--endpoint", "inbox", "--json", *common, cwd=tmp_path)
    held = json.loads(listed.stdout)
    assert len(held) == 20 and all(e["held"] and e["status"] == "queued" for e in held)

    server.stop()  # restart: the pause is in the store, not in the process
    server = serve(*common, env=env)
    answer = httpx.get(server.url + "/hello")
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) > 3000
    routes = run_hookport("routes", "--json", *common, cwd=tmp_path)
    states = {r["name"]: r["state"] for r in json.loads(routes.stdout)}
    assert states == {"inbox": "paused", "hello": "paused"}
    assert log.read_text() == ""  # nothing ran, before or after the restart

    resumed = run_hookport("resume", "inbox", *common, cwd=tmp_path)
    assert resumed.stdout.strip() == "resumed inbox"
    wait_until(lambda: len(log.read_text().split()) == 20, 30, "the held events to run")
    assert log.read_text().split() == ids  # concurrency=1: in arrival order
    assert run_hookport("resume", "hello", *common, cwd=tmp_path).returncode == 0
    wait_until(lambda: httpx.get(server.url + "/hello").status_code == 200, 10, "the route")
    again = run_hookport("resume", "hello", *common, cwd=tmp_path)
    assert again.stdout.strip() == "hello was not paused"
    unknown = run_hookport("pause", "nope", *common, cwd=tmp_path)
    assert unknown.returncode == 1 and "no endpoint named 'nope'" in unknown.stderr
