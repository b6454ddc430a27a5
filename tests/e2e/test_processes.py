"""``hookport serve --processes N``: N real server processes over one port, one supervisor.

Real processes on loopback and a real SQLite file: every acknowledged delivery stored and
handled once, metrics merged across the processes, a process killed with ``kill -9`` started
again, SIGTERM stopping the set cleanly, and the set stopping itself when the supervisor is
killed with ``kill -9``.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import run_hookport, wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "forked.py")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie of a process we did not start is gone for our purposes
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _pids(server: Any) -> list[int]:
    line = server.wait_for_line("processes: ")
    found = re.search(r"processes: (\d+) \(pids ([\d, ]+)\)", line)
    assert found, line
    pids = [int(p) for p in found.group(2).split(", ")]
    assert len(pids) == int(found.group(1))
    return pids


def _answering(url: str, connections: int = 120) -> set[int]:
    """The pids that answered ``connections`` fresh connections made 12 at a time."""

    def one(_: int) -> int:
        with httpx.Client(base_url=url) as client:  # a new connection each time
            response = client.get("/pid")
            assert response.status_code == 200
            return int(response.text)

    with ThreadPoolExecutor(12) as pool:
        return set(pool.map(one, range(connections)))


def test_processes_share_the_port_store_and_metrics(serve: Any, tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    server = serve(
        "--plugin", PLUGIN, "--processes", "2", env={"HOOKPORT_STORE__URL": f"sqlite:///{db}"}
    )
    pids = _pids(server)
    assert len(set(pids)) == 2 and all(_alive(p) for p in pids)
    assert server.proc.pid not in pids  # the supervisor serves nothing itself
    assert _answering(server.url) == set(pids)  # both processes accept on the one socket

    with httpx.Client(base_url=server.url) as client:
        ids = {}
        for n in range(60):
            r = client.post("/jobs", content=b"{}", headers={"X-GitHub-Delivery": f"d-{n}"})
            assert r.status_code == 202
            ids[n] = r.json()["id"]
        for n in range(0, 60, 6):  # duplicates, whichever process answers them
            again = client.post("/jobs", content=b"{}", headers={"X-GitHub-Delivery": f"d-{n}"})
            assert (again.status_code, again.json()) == (200, {"id": ids[n], "status": "duplicate"})

        def done() -> bool:
            with sqlite3.connect(db) as conn:
                rows = conn.execute(
                    "SELECT status, count(*) FROM events WHERE endpoint = 'jobs' GROUP BY 1"
                ).fetchall()
            return dict(rows) == {"done": 60}

        wait_until(done, 30, "every delivery handled once, by either process")
        text = client.get("/_hookport/metrics").text  # merged: every process's counts
    counted = re.search(
        r'hookport_requests_total\{endpoint="jobs",method="POST",status="202"\} (\S+)', text
    )
    assert counted and float(counted.group(1)) == 60.0

    assert server.stop(signal.SIGTERM) == 0
    wait_until(lambda: not any(_alive(p) for p in pids), 10, "every process stopped")
    assert "Traceback" not in "".join(server.output)


def test_a_killed_process_is_started_again(serve: Any, tmp_path: Path) -> None:
    server = serve(
        "--plugin",
        PLUGIN,
        "--processes",
        "2",
        env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/k.db"},
    )
    first, second = _pids(server)
    os.kill(first, signal.SIGKILL)

    def serving() -> set[int]:
        found = re.findall(r"serving \(pid (\d+)\)", "".join(server.output))
        return {int(p) for p in found} - {first, second}

    wait_until(lambda: bool(serving()), 30, "a process started in place of the killed one")
    (replacement,) = serving()
    assert f"process 0 (pid {first}) exited with status -9" in "".join(server.output)
    assert _answering(server.url) == {second, replacement}
    assert server.stop(signal.SIGTERM) == 0


def test_the_set_stops_when_the_supervisor_is_killed(serve: Any, tmp_path: Path) -> None:
    server = serve(
        "--plugin",
        PLUGIN,
        "--processes",
        "2",
        env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/s.db"},
    )
    pids = _pids(server)
    server.proc.kill()  # kill -9: no signal is forwarded, the pipe ends
    server.proc.wait()
    wait_until(lambda: not any(_alive(p) for p in pids), 30, "the orphaned processes to stop")
    output = "".join(server.output)
    assert output.count("the supervisor is gone; stopping") == 2


def test_a_port_in_use_is_refused_before_any_process_starts(serve: Any, tmp_path: Path) -> None:
    held = serve("--plugin", PLUGIN, env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/h.db"})
    port = held.url.rsplit(":", 1)[1]

    result = run_hookport(
        "serve",
        "--plugin",
        PLUGIN,
        "--host",
        "127.0.0.1",
        "--port",
        port,
        "--processes",
        "2",
        cwd=tmp_path,
        env={"HOOKPORT_STORE__URL": f"sqlite:///{tmp_path}/h2.db"},
    )
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "process 0 started" not in result.stderr + result.stdout
