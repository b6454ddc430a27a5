#!/usr/bin/env python3
"""hookport load benchmark: every configuration, interleaved, medians, checks and a report.

Run it through ``bench/run.sh`` (which installs wrk, webhook and py-spy first).
See ``bench/README.md`` for the method. Writes ``bench/results/<timestamp>.md`` and ``.json``.

Server processes are pinned to core 0 (``taskset -c 0``) and wrk to core 1; PostgreSQL's own
processes are not pinned (the running cluster is shared), so their CPU time is recorded.
Only processes this script starts are signalled, by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = VENV_BIN / "python"
HOOKPORT = VENV_BIN / "hookport"
PY_SPY = BENCH / ".venv" / "bin" / "py-spy"
PAYLOAD = ROOT / "examples" / "push.json"
LUA = BENCH / "github_push.lua"
PLUGIN = BENCH / "bench_plugin.py"
BASELINES = BENCH / "baselines"
RESULTS = BENCH / "results"
POSTGRES_MODULE = ROOT / "src" / "hookport" / "store" / "postgres.py"

SECRET = "bench-secret-3f1c9a"
SERVER_CPU = "0"
ALL_CPUS = "0,1"  # rows with --processes N: the server's processes may use both cores
CLIENT_CPU = "1"
PG_HOST, PG_PORT, PG_USER, PG_ADMIN_DB = "127.0.0.1", 5432, "postgres", "test"
CONNECTIONS = (16, 64)
READY_TIMEOUT = 30.0
DRAIN_TIMEOUT = 30.0
COMMANDS_DRAIN_TIMEOUT = 60.0  # hooks rows: bound on waiting for the commands to finish
STABLE_S = 1.0  # hooks rows: no new line for this long after all acked ones = drained
QUIET_CORES = 0.3  # before a run, wait until the machine is below this (other users' jobs)
QUIET_MAX_WAIT = 20.0
QUIET_TOTAL_BUDGET = 300.0
NOISY_OTHER_S = 1.0  # CPU seconds used by other processes during a run that make it "noisy"
STOP_TIMEOUT = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- configurations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One row of the table: what to start and how to check it."""

    key: str
    label: str
    kind: str  # "hookport" | "python" | "webhook"
    store: str | None = None  # "sqlite" | "postgres" | None
    workers: bool = False
    synchronous: str = "full"
    script: str | None = None  # bench/baselines/<script> for kind "python"
    path: str = "/github"
    health: str = "/health"
    hooks: str | None = None  # bench/baselines/<hooks> served by hookport --hooks or webhook
    observed: bool = True  # False: [server] metrics = false and [store] rejected_keep = 0
    prefill: int = 0  # done events already in the store when the run starts (plugin "prefill")
    processes: int = 1  # hookport serve --processes N (N > 1: the server may use every core)


HOOKS_FILE = "hooks-append.json"  # its command appends the delivery id to $BENCH_LINES
PREFILL_EVENTS = 1_000_000
PREFILL_BODY = 512  # bytes per prefilled body: the indexes and the row count are what is tested


CONFIGS = [
    Config("a", "hookport, SQLite FULL, workers", "hookport", "sqlite", workers=True),
    Config("a'", "hookport, SQLite FULL, ingest only", "hookport", "sqlite"),
    Config(
        "a0",
        "hookport, SQLite FULL, ingest only, metrics and rejection records off",
        "hookport",
        "sqlite",
        observed=False,
    ),
    Config(
        "a1m",
        "hookport, SQLite FULL, ingest only, 1,000,000 done events already stored",
        "hookport",
        "sqlite",
        prefill=PREFILL_EVENTS,
    ),
    Config(
        "a2",
        "hookport, SQLite FULL, ingest only, serve --processes 2 (cores shared with wrk)",
        "hookport",
        "sqlite",
        processes=2,
    ),
    Config(
        "b", "hookport, SQLite NORMAL, workers", "hookport", "sqlite", True, synchronous="normal"
    ),
    Config("c", "Starlette, verify only", "python", script="starlette_verify.py"),
    Config("d", "Starlette + SQLite row/request", "python", "sqlite", script="starlette_sqlite.py"),
    Config(
        "d'",
        "Starlette + SQLite group commit",
        "python",
        "sqlite",
        script="starlette_groupcommit.py",
    ),
    Config("e", "FastAPI, verify + json()", "python", script="fastapi_verify.py"),
    Config("e'", "FastAPI, verify only (Header())", "python", script="fastapi_header.py"),
    Config("r", "raw ASGI on uvicorn, verify only", "python", script="raw_asgi.py"),
    Config("f", "adnanh/webhook, /bin/true", "webhook", path="/hooks/github", health="/"),
    Config("g", "hookport, PostgreSQL, ingest only", "hookport", "postgres"),
    Config(
        "h", "Starlette + asyncpg row/request", "python", "postgres", script="starlette_postgres.py"
    ),
    Config("i", "hookport, PostgreSQL, workers", "hookport", "postgres", workers=True),
    Config(
        "j",
        "hookport --hooks, command appends a line (stored, SQLite FULL, workers)",
        "hookport",
        "sqlite",
        workers=True,
        path="/hooks/github",
        hooks=HOOKS_FILE,
    ),
    Config(
        "k",
        "adnanh/webhook, command appends a line (same file)",
        "webhook",
        path="/hooks/github",
        health="/",
        hooks=HOOKS_FILE,
    ),
]


# -- small helpers -----------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS of ``pid`` in kB."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "VmRSS"):
                out[name] = int(value.split()[0])
    return out


def cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of ``pid`` (all its threads, and reaped children) and of
    its live descendants (``serve --processes N``'s servers, a command still running)."""
    return sum(_own_ticks(p) for p in process_tree(pid))


def _own_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(x) for x in fields[11:15])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
    return pids


def cpu_snapshot(server_pid: int) -> dict[str, Any]:
    return {
        "server": cpu_ticks(server_pid),
        "postgres": {pid: cpu_ticks(pid) for pid in postgres_pids()},
        "total": _total_cpu_ticks(),
    }


def _total_cpu_ticks() -> dict[str, int]:
    """Ticks each CPU spent in user, nice and system mode (what processes are charged)."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            name, *values = line.split()
            out[name] = sum(int(v) for v in values[:3])
    return out


def machine_busy(seconds: float = 1.0) -> float:
    """How many cores were busy (user + system) over the next ``seconds``."""
    before = _total_cpu_ticks()
    time.sleep(seconds)
    after = _total_cpu_ticks()
    return sum(after[c] - before.get(c, 0) for c in after) / CLK_TCK / seconds


_quiet_budget = [QUIET_TOTAL_BUDGET]


def wait_for_quiet() -> dict[str, float]:
    """Wait (bounded) until the machine is idle: other people's jobs skew a benchmark.

    At most QUIET_MAX_WAIT seconds per run and QUIET_TOTAL_BUDGET seconds per invocation, so
    a machine that never calms down costs a bounded time; the noise is recorded either way.
    """
    started = time.monotonic()
    limit = min(QUIET_MAX_WAIT, _quiet_budget[0])
    busy = machine_busy()
    while busy > QUIET_CORES and time.monotonic() - started < limit:
        busy = machine_busy()
    waited = time.monotonic() - started - 1.0
    _quiet_budget[0] = max(_quiet_budget[0] - max(waited, 0.0), 0.0)
    if busy > QUIET_CORES:
        log(f"  machine still busy ({busy:.2f} cores) after {waited:.0f} s: running anyway")
    return {"busy_cores_before": round(busy, 2), "quiet_wait_s": round(max(waited, 0.0), 1)}


def foreign_pg_backends(own_db: str | None) -> set[int]:
    """PIDs of PostgreSQL client backends serving other databases (other people's tests)."""
    try:
        out = psql(
            "SELECT pid, coalesce(datname, '') FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return set()
    pids = set()
    for line in out.splitlines():
        pid, _, db = line.partition("|")
        if db != own_db:
            pids.add(int(pid))
    return pids


def cpu_delta(
    before: dict[str, Any], after: dict[str, Any], wrk_s: float, pg_db: str | None
) -> dict[str, Any]:
    """CPU seconds of the server, PostgreSQL, wrk and everything else over the window.

    PostgreSQL counts its background processes and the backends of ``pg_db`` (this run's
    database); backends of other databases are someone else's and count as *other*.
    """
    foreign = foreign_pg_backends(pg_db)
    pg = sum(
        t - before["postgres"].get(pid, 0)
        for pid, t in after["postgres"].items()
        if pid not in foreign
    )
    busy = sum(after["total"][c] - before["total"].get(c, 0) for c in after["total"]) / CLK_TCK
    server = (after["server"] - before["server"]) / CLK_TCK
    postgres = max(pg, 0) / CLK_TCK
    return {
        "server_s": server,
        "postgres_s": postgres,
        "wrk_s": round(wrk_s, 2),
        "machine_busy_s": round(busy, 2),
        "other_s": round(max(busy - server - postgres - wrk_s, 0.0), 2),
    }


# -- stores ------------------------------------------------------------------------------------


def psql(sql: str, db: str = PG_ADMIN_DB) -> str:
    cmd = ["psql", "-X", "-q", "-At", "-h", PG_HOST, "-p", str(PG_PORT), "-U", PG_USER, "-d", db]
    done = subprocess.run(
        [*cmd, "-c", sql], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql {sql!r}: {done.stderr.strip()}")
    return done.stdout.strip()


def pg_dsn(db: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}"


class Store:
    """A fresh store for one run: a SQLite file or a PostgreSQL database."""

    def __init__(self, kind: str, workdir: Path, name: str, *, prefill: int = 0) -> None:
        self.kind = kind
        self.path = workdir / f"{name}.db"
        self.db = f"hookport_bench_{name}"
        # What this run stored: prefilled events (plugin "prefill") are not the run's.
        self.own = "plugin <> 'prefill'" if prefill else "TRUE"
        if prefill:
            assert kind == "sqlite", "prefilled stores are SQLite files"
            shutil.copyfile(prefilled_template(workdir, prefill), self.path)
        if kind == "postgres":
            psql(f"DROP DATABASE IF EXISTS {self.db}")
            psql(f"CREATE DATABASE {self.db}")

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}" if self.kind == "sqlite" else pg_dsn(self.db)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.kind == "sqlite":
            if not self.path.exists():
                return []
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
            try:
                return list(conn.execute(sql))
            finally:
                conn.close()
        out = psql(sql, self.db)
        return [tuple(line.split("|")) for line in out.splitlines() if line]

    def count(self, where: str = "") -> int:
        condition = f"({where.removeprefix('WHERE ')}) AND {self.own}" if where else self.own
        rows = self.query(f"SELECT count(*) FROM events WHERE {condition}")
        return int(rows[0][0]) if rows else 0

    def ids(self) -> set[str]:
        return {str(row[0]) for row in self.query(f"SELECT id FROM events WHERE {self.own}")}

    def drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            with contextlib.suppress(RuntimeError):
                psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")


_PREFILL_SCRIPT = """
import asyncio, os, sys, time
from hookport.events import EventStatus, NewEvent, new_event_id
from hookport.store.sqlite import SqliteStore

async def main(path, n, size):
    store = SqliteStore(path, synchronous="normal")
    await store.open()
    body = b"x" * size
    start = time.time() - 86400.0  # a day's worth of deliveries, oldest first
    step = 86400.0 / n
    headers = [("content-type", "application/json"), ("x-github-event", "push")]
    for first in range(0, n, 512):
        batch = []
        for i in range(first, min(n, first + 512)):
            at = start + i * step
            batch.append(NewEvent(
                id=new_event_id(at), kind="receiver", plugin="prefill", endpoint="bench:/github",
                type="push", delivery_id=f"prefill-{i}", received_at=at, method="POST",
                path="/github", query_string="", headers=headers, body=body, params={},
                sender=None, source_ip="127.0.0.1", status=EventStatus.DONE))
        await asyncio.gather(*(store.append(e) for e in batch))
    await store.close()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def prefilled_template(workdir: Path, n: int) -> Path:
    """A SQLite store holding ``n`` done events, made once per bench run through hookport's
    own store (its migrations and its append), then copied for each run that needs it."""
    path = workdir / f"prefill-{n}.db"
    if not path.exists():
        log(f"building a store with {n:,} done events (once per bench run)")
        tmp = workdir / f"prefill-{n}.tmp.db"
        started = time.monotonic()
        subprocess.run(
            [str(PYTHON), "-c", _PREFILL_SCRIPT, str(tmp), str(n), str(PREFILL_BODY)], check=True
        )
        conn = sqlite3.connect(tmp)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # one file to copy
        conn.close()
        tmp.rename(path)
        log(f"  built in {time.monotonic() - started:.0f} s, {path.stat().st_size / 1e6:.0f} MB")
    return path


# -- servers -----------------------------------------------------------------------------------


def hookport_config(cfg: Config, store: Store, port: int, workdir: Path) -> Path:
    toml = workdir / f"hookport-{port}.toml"
    lines = [
        "[server]",
        'host = "127.0.0.1"',
        f"port = {port}",
        'log_level = "warning"',
        *([] if cfg.observed else ["metrics = false"]),
        "[store]",
        f'url = "{store.url}"',
        *([] if cfg.observed else ["rejected_keep = 0"]),
    ]
    if store.kind == "sqlite":
        lines.append(f'synchronous = "{cfg.synchronous}"')
    lines += ["[plugins]", "autoload = false"]
    toml.write_text("\n".join(lines) + "\n")
    return toml


class Server:
    """One server process pinned to the server core; stopped by PID."""

    def __init__(
        self,
        cfg: Config,
        store: Store | None,
        workdir: Path,
        tag: str,
        *,
        gcstats: bool = False,
        lines: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"{tag}.log"
        env = {**os.environ, "BENCH_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
        env.pop("HOOKPORT_CONFIG", None)
        if lines is not None:  # the hooks rows' command: append-line.sh
            env["BENCH_LINES"] = str(lines)
            env["BENCH_BASELINES"] = str(BASELINES)
        cwd = workdir
        if cfg.kind == "hookport":
            assert store is not None
            toml = hookport_config(cfg, store, self.port, workdir)
            hookport = [str(PYTHON), str(BENCH / "gcstats.py")] if gcstats else [str(HOOKPORT)]
            cmd = [*hookport, "serve", "--config", str(toml)]
            if cfg.hooks:
                cmd += ["--hooks", str(BASELINES / cfg.hooks), "--hooks-template"]
            else:
                cmd += ["--plugin", str(PLUGIN)]
            if not cfg.workers:
                cmd.append("--no-workers")
            if cfg.processes > 1:
                cmd += ["--processes", str(cfg.processes)]
        elif cfg.kind == "python":
            assert cfg.script is not None
            cmd = [str(PYTHON), str(BASELINES / cfg.script), "--port", str(self.port)]
            if store is not None and store.kind == "sqlite":
                env["BENCH_DB"] = str(store.path)
            if store is not None and store.kind == "postgres":
                env["BENCH_PG_DSN"] = store.url
        else:
            hooks = BASELINES / (cfg.hooks or "webhook-hooks.json")
            cmd = ["webhook", "-hooks", str(hooks), "-template", "-ip", "127.0.0.1"]
            cmd += ["-port", str(self.port)]
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(  # taskset execs the server: same PID
            ["taskset", "-c", ALL_CPUS if cfg.processes > 1 else SERVER_CPU, *cmd],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        self.pid = self.proc.pid

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        health = self.cfg.health
        if self.cfg.kind == "hookport":
            health = "/_hookport/health"
            while "hookport listening on" not in self.log_path.read_text(errors="replace"):
                self._check_alive(deadline)
                time.sleep(0.05)
            match = re.search(r"hookport listening on (\S+)", self.log_path.read_text())
            assert match is not None
            self.base = match.group(1)
        while True:
            self._check_alive(deadline)
            try:
                with urllib.request.urlopen(self.base + health, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)

    def _check_alive(self, deadline: float) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.cfg.key} exited {self.proc.returncode}: {self.tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{self.cfg.key} not ready after {READY_TIMEOUT}s: {self.tail()}")

    def tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> dict[str, Any]:
        """SIGTERM, wait for a graceful exit (SIGKILL after STOP_TIMEOUT)."""
        started = time.monotonic()
        killed = False
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(10)
                killed = True
        self._log.close()
        return {
            "exit_code": self.proc.returncode,
            "stop_s": round(time.monotonic() - started, 2),
            "killed": killed,
        }


# -- wrk ---------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", text):
        out["rps"] = float(m.group(1))
    for pct in ("50", "75", "90", "99"):
        if m := re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M):
            out[f"p{pct}_ms"] = _ms(m.group(1), m.group(2))
    if m := re.search(r"(\d+) requests in ([\d.]+)(\w+),", text):
        out["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups()), strict=True))
        if m
        else {}
    )
    if m := re.search(r"BENCH_STATUS (.*)$", text, re.M):
        fields = dict(part.split("=", 1) for part in m.group(1).split())
        out["sent"] = int(fields["sent"])
        out["responses"] = int(fields["responses"])
        out["ok2xx"] = int(fields["2xx"])
        out["non2xx"] = int(fields["non2xx"])
        out["codes"] = fields.get("codes", "")
    return out


def run_wrk(
    url: str, conns: int, seconds: float, nonce: str, ids_file: Path | None
) -> dict[str, Any]:
    body_sig = signature(PAYLOAD.read_bytes())
    cmd = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s"]
    cmd += ["--timeout", "5s", "--latency", "-s", str(LUA), url, "--", str(PAYLOAD), body_sig]
    cmd += [nonce, str(ids_file) if ids_file else ""]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)  # the client's own CPU time
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = parse_wrk(out)
    result["wrk_cpu_s"] = rusage.ru_utime + rusage.ru_stime
    result["wrk_exit"] = proc.returncode
    if "rps" not in result or "ok2xx" not in result:
        raise RuntimeError(f"wrk output not understood:\n{out}")
    return result


# -- one run -----------------------------------------------------------------------------------


@dataclass
class Plan:
    warmup: float
    duration: float
    repeats: int
    configs: list[Config]
    connections: tuple[int, ...]
    workdir: Path
    run_id: str
    results: list[dict[str, Any]] = field(default_factory=list)


def run_one(plan: Plan, cfg: Config, conns: int, rep: int) -> dict[str, Any]:
    safe_key = cfg.key.replace("'", "p")
    name = f"{plan.run_id}_{safe_key}_c{conns}_r{rep}"
    record: dict[str, Any] = {"config": cfg.key, "connections": conns, "repeat": rep}
    store = Store(cfg.store, plan.workdir, name, prefill=cfg.prefill) if cfg.store else None
    server: Server | None = None
    lines = plan.workdir / f"{name}.lines" if cfg.hooks else None
    try:
        record["quiet"] = wait_for_quiet()
        server = Server(cfg, store, plan.workdir, name, lines=lines)
        server.wait_ready()
        url = server.base + cfg.path
        ids_files = [plan.workdir / f"{name}.{phase}.ids" for phase in ("warm", "run")]
        warm = run_wrk(url, conns, plan.warmup, f"{name}w", ids_files[0])
        if lines is not None:  # the warm-up's commands finish before the measured run
            record["warmup_drain"] = drain_lines(lines, 0, warm["ok2xx"], time.monotonic())
        lines_at_start = count_lines(lines) if lines is not None else 0
        before = cpu_snapshot(server.pid)
        t0 = time.monotonic()
        result = run_wrk(url, conns, plan.duration, f"{name}m", ids_files[1])
        after = cpu_snapshot(server.pid)
        if lines is not None:
            record["commands"] = drain_lines(lines, lines_at_start, result["ok2xx"], t0)
        pg_db = store.db if store is not None and store.kind == "postgres" else None
        cpu = cpu_delta(before, after, result["wrk_cpu_s"], pg_db)
        cpu["wall_s"] = round(time.monotonic() - t0, 2)
        record.update(result)
        record["warmup"] = {k: warm.get(k) for k in ("rps", "ok2xx", "non2xx", "sent")}
        record["cpu"] = cpu
        # --processes N: RSS is the largest server process's (the per-process target); the
        # sum over the supervisor and its servers is kept beside it.
        mems = [proc_status(pid) for pid in process_tree(server.pid)]
        record["vmhwm_mb"] = round(max(m.get("VmHWM", 0) for m in mems) / 1024, 1)
        record["vmrss_mb"] = round(max(m.get("VmRSS", 0) for m in mems) / 1024, 1)
        record["vmhwm_total_mb"] = round(sum(m.get("VmHWM", 0) for m in mems) / 1024, 1)
        if cfg.kind == "hookport" and cfg.workers and store is not None:
            record["backlog"] = backlog(store)
        record["stop"] = server.stop()
        if store is not None:
            record["rows_check"] = rows_check(store, [warm, result], ids_files)
        if lines is not None:
            nonces = [(f"{name}w", warm), (f"{name}m", result)]
            record["commands_check"] = commands_check(lines, nonces, store)
        for path in ids_files:
            path.unlink(missing_ok=True)
        record["ok"] = verdict(cfg, record)
    except Exception as exc:
        record["ok"] = False
        record["error"] = repr(exc)
        if server is not None:
            record["server_log_tail"] = server.tail()
        log(f"  ERROR {cfg.key} c{conns} r{rep}: {exc!r}")
    finally:
        if server is not None and server.proc.poll() is None:
            server.stop()
        if store is not None:
            store.drop()
    return record


def backlog(store: Store) -> dict[str, Any]:
    """Events not done right after wrk stops, and whether they drain within DRAIN_TIMEOUT."""
    not_done = "WHERE status <> 'done'"
    at_stop = store.count(not_done)
    started = time.monotonic()
    left = at_stop
    while left > 0 and time.monotonic() - started < DRAIN_TIMEOUT:
        time.sleep(0.5)
        left = store.count(not_done)
    waited = time.monotonic() - started
    return {
        "at_stop": at_stop,
        "after_wait": left,
        "drained": left == 0,
        "drain_s": round(waited, 1) if left == 0 else None,
        "waited_s": round(waited, 1),
    }


def rows_check(store: Store, runs: list[dict[str, Any]], ids_files: list[Path]) -> dict[str, Any]:
    """Rows stored vs 2xx seen, after the server stopped.

    wrk stops at its deadline with requests in flight; the server still commits those (it
    cannot know the client left), so the store may hold up to ``unanswered`` more rows than
    wrk saw 2xx. Fewer rows than 2xx, or an acknowledged id missing, is a lost delivery.
    """
    rows = store.count()
    acked = sum(r["ok2xx"] for r in runs)
    unanswered = sum(r["sent"] - r["responses"] for r in runs)
    acked_ids: set[str] = set()
    for path in ids_files:
        if path.exists():
            acked_ids.update(line for line in path.read_text().splitlines() if line)
    missing = len(acked_ids - store.ids()) if acked_ids else None
    extra = rows - acked
    equal = rows == acked
    ok = 0 <= extra <= unanswered and (missing in (None, 0))
    return {
        "rows": rows,
        "acked_2xx": acked,
        "unanswered_at_stop": unanswered,
        "extra_rows": extra,
        "acked_ids_checked": len(acked_ids),
        "acked_ids_missing": missing,
        "equal": equal,
        "ok": ok,
    }


def count_lines(path: Path) -> int:
    try:
        with path.open("rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


def drain_lines(path: Path, start: int, acked: int, t0: float) -> dict[str, Any]:
    """Wait (bounded) until the commands of ``acked`` deliveries have appended their lines
    and no more arrive for STABLE_S; the run's commands/s is counted up to the last new line.

    ``t0``: when the load started. Returns the lines appended since ``start``, the seconds
    from ``t0`` to the last line seen, and the commands per second over that span."""
    load_end = time.monotonic()
    count = count_lines(path) - start
    last_change = load_end
    while time.monotonic() - load_end < COMMANDS_DRAIN_TIMEOUT:
        time.sleep(0.1)
        now_count = count_lines(path) - start
        now = time.monotonic()
        if now_count != count:
            count, last_change = now_count, now
        elif count >= acked and now - last_change >= STABLE_S:
            break
    span = max(last_change, load_end) - t0
    return {
        "lines": count,
        "acked": acked,
        "drained": count >= acked,
        "load_s": round(load_end - t0, 2),
        "drain_s": round(max(last_change - load_end, 0.0), 2),
        "span_s": round(span, 2),
        "per_s": round(count / span, 1) if span > 0 else 0.0,
    }


def commands_check(
    path: Path, phases: list[tuple[str, dict[str, Any]]], store: Store | None
) -> dict[str, Any]:
    """Did every acknowledged delivery's command run? (after the server stopped)

    Each line is the ``X-GitHub-Delivery`` of one run: ``<nonce>-1-<n>``, n = 1..sent of its
    wrk invocation. wrk cannot say *which* request a response answered, so for each phase:
    with no non-2xx answer, every request wrk sent was acknowledged except the ones still in
    flight at its deadline (``sent - responses``); the check is that no line is foreign, and
    that at most that many sent deliveries have no line. For hookport the check is also
    exact: every delivery it committed (the only ones it can have acknowledged) has its line.
    """
    seen = path.read_text().split() if path.exists() else []
    counts = Counter(seen)
    sent_ids: set[str] = set()
    phases_out = []
    ok = True
    for nonce, run in phases:
        ids = {f"{nonce}-1-{n}" for n in range(1, run["sent"] + 1)}
        sent_ids |= ids
        missing = len(ids - counts.keys())
        unanswered = run["sent"] - run["responses"]
        phase_ok = run["non2xx"] == 0 and missing <= unanswered
        ok = ok and phase_ok
        phases_out.append({"sent": run["sent"], "acked": run["ok2xx"], "no_line": missing,
                           "unanswered": unanswered, "ok": phase_ok})  # fmt: skip
    foreign = sum(n for line, n in counts.items() if line not in sent_ids)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    out: dict[str, Any] = {
        "lines": len(seen),
        "foreign": foreign,
        "duplicates": duplicates,
        "phases": phases_out,
    }
    if store is not None:
        stored = {str(r[0]) for r in store.query("SELECT delivery_id FROM events")}
        out["stored"] = len(stored)
        out["stored_without_line"] = len(stored - counts.keys())
        ok = ok and out["stored_without_line"] == 0
    out["ok"] = ok and foreign == 0
    return out


def verdict(cfg: Config, record: dict[str, Any]) -> bool:
    ok = record.get("non2xx", 1) == 0 and record["warmup"]["non2xx"] == 0
    if "rows_check" in record:
        ok = ok and record["rows_check"]["ok"]
    if "commands_check" in record:
        ok = ok and record["commands_check"]["ok"]
    if cfg.kind == "hookport":
        ok = ok and record["stop"]["exit_code"] == 0
    return bool(ok)


# -- profiling ---------------------------------------------------------------------------------


def profile(plan: Plan, cfg: Config, seconds: int = 10) -> dict[str, Any]:
    """py-spy record on the server under 64 connections; returns a summary of the samples."""
    safe_key = cfg.key.replace("'", "p")
    name = f"{plan.run_id}_profile_{safe_key}"
    store = Store(cfg.store or "sqlite", plan.workdir, name)
    server = Server(cfg, store, plan.workdir, name, gcstats=True)
    out: dict[str, Any] = {"config": cfg.key}
    try:
        server.wait_ready()
        url = server.base + cfg.path
        run_wrk(url, 64, plan.warmup, f"{name}w", None)
        raw = RESULTS / f"{plan.run_id}-profile-{safe_key}.txt"
        spy = subprocess.Popen(
            [
                "taskset",
                "-c",
                CLIENT_CPU,
                str(PY_SPY),
                "record",
                "-p",
                str(server.pid),
                "-d",
                str(seconds),
                "-r",
                "200",
                "--threads",
                "--nonblocking",
                "-f",
                "raw",
                "-o",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        loaded = run_wrk(url, 64, seconds + 2, f"{name}m", None)
        _, err = spy.communicate(timeout=60)
        out["rps_under_profiler"] = loaded["rps"]
        if spy.returncode != 0 or not raw.exists():
            out["error"] = f"py-spy failed: {err.strip()[-500:]}"
            return out
        out["raw"] = str(raw.relative_to(BENCH))
        out.update(summarise_stacks(raw.read_text()))
    except Exception as exc:
        out["error"] = repr(exc)
    finally:
        out["stop"] = server.stop()
        store.drop()
        if m := re.search(r"^GCSTATS (.*)$", server.log_path.read_text(errors="replace"), re.M):
            out["gc"] = json.loads(m.group(1))
    return out


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]+?)(?::(?P<line>\d+))?\)$")
# Frames every stack passes through (start-up, thread plumbing): left out of the inclusive table.
_PLUMBING = (
    "click/", "threading.py", "asyncio/runners.py", "uvloop/__init__.py", "<module>",
    "concurrent/futures/thread.py", "hookport/cli/", "hookport/server.py",
)  # fmt: skip


def _short(frame: str, *, line: bool = False) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    path = m.group("file")
    for marker in ("site-packages/", "src/", "lib/python3.11/", "lib/python3.12/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    where = f"{path}:{m.group('line')}" if line and m.group("line") else path
    return f"{m.group('func')} ({where})"


def summarise_stacks(text: str, top: int = 20) -> dict[str, Any]:
    """Per-thread totals, self time (with line) and inclusive time (py-spy raw format)."""
    total = 0
    threads: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = "?"
        if frames[0].startswith("thread ("):
            thread = frames[0].split(": ", 1)[-1]
            frames = frames[1:]
        total += count
        threads[thread] += count
        if not frames:
            continue
        self_time[f"[{thread}] {_short(frames[-1], line=True)}"] += count
        for func in {_short(f) for f in frames}:
            if not any(p in func for p in _PLUMBING):
                inclusive[func] += count

    def pct(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / max(total, 1), 1)) for k, v in counter.most_common(top)]

    return {
        "samples": total,
        "threads": pct(threads),
        "self": pct(self_time),
        "inclusive": pct(inclusive),
    }


# -- summary and report ------------------------------------------------------------------------


def summarise(plan: Plan) -> dict[tuple[str, int], dict[str, Any]]:
    table: dict[tuple[str, int], dict[str, Any]] = {}
    for cfg in plan.configs:
        for conns in plan.connections:
            runs = [r for r in plan.results if r["config"] == cfg.key and r["connections"] == conns]
            good = [r for r in runs if "rps" in r]
            row: dict[str, Any] = {"runs": len(runs), "failed": sum(not r["ok"] for r in runs)}
            if good:
                row["rps"] = statistics.median(r["rps"] for r in good)
                row["rps_all"] = [round(r["rps"]) for r in good]
                row["p50_ms"] = statistics.median(r["p50_ms"] for r in good)
                row["p99_ms"] = statistics.median(r["p99_ms"] for r in good)
                row["rss_mb"] = max(r["vmhwm_mb"] for r in good)
                row["cpu_server_s"] = statistics.median(r["cpu"]["server_s"] for r in good)
                row["cpu_postgres_s"] = statistics.median(r["cpu"]["postgres_s"] for r in good)
                row["cpu_wrk_s"] = statistics.median(r["cpu"]["wrk_s"] for r in good)
                row["cpu_wall_s"] = statistics.median(r["cpu"]["wall_s"] for r in good)
                row["cpu_other_s"] = statistics.median(r["cpu"]["other_s"] for r in good)
                row["noisy"] = sum(r["cpu"]["other_s"] > NOISY_OTHER_S for r in good)
                row["server_us_per_req"] = statistics.median(
                    1e6 * r["cpu"]["server_s"] / max(r["requests"], 1) for r in good
                )
                row["postgres_us_per_req"] = statistics.median(
                    1e6 * r["cpu"]["postgres_s"] / max(r["requests"], 1) for r in good
                )
            checks = [r["rows_check"] for r in runs if "rows_check" in r]
            if checks:
                row["rows_ok"] = sum(c["ok"] for c in checks)
                row["rows_checks"] = len(checks)
                row["rows_equal"] = sum(c["equal"] for c in checks)
                row["extra_rows_max"] = max(c["extra_rows"] for c in checks)
            backlogs = [r["backlog"] for r in runs if "backlog" in r]
            if backlogs:
                row["backlog_at_stop"] = statistics.median(b["at_stop"] for b in backlogs)
                row["drained"] = sum(b["drained"] for b in backlogs)
                drains = [b["drain_s"] for b in backlogs if b["drain_s"] is not None]
                row["drain_s"] = max(drains) if drains else None
                row["left_after_wait"] = max(b["after_wait"] for b in backlogs)
            cmds = [r["commands"] for r in runs if "commands" in r]
            if cmds:
                row["commands_per_s"] = statistics.median(c["per_s"] for c in cmds)
                row["commands_drain_s"] = max(c["drain_s"] for c in cmds)
                row["commands_drained"] = sum(c["drained"] for c in cmds)
            cchecks = [r["commands_check"] for r in runs if "commands_check" in r]
            if cchecks:
                row["commands_ok"] = sum(c["ok"] for c in cchecks)
                row["commands_checks"] = len(cchecks)
                row["commands_duplicates"] = sum(c["duplicates"] for c in cchecks)
            table[(cfg.key, conns)] = row
    return table


def targets(table: dict[tuple[str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    def rps(key: str) -> float | None:
        row = table.get((key, 64))
        return row.get("rps") if row else None

    out: list[dict[str, Any]] = []

    def ratio(name: str, num: str, den: str, factor: float, extra: str = "") -> None:
        a, b = rps(num), rps(den)
        if a is None or b is None:
            return
        value = a / b
        out.append(
            {
                "target": name,
                "value": f"{value:.2f}x ({a:.0f} / {b:.0f} req/s){extra}",
                "met": value >= factor,
            }
        )

    ratio("(a') >= (e)", "a'", "e", 1.0)
    ratio("(a') >= 2.5 x (d)", "a'", "d", 2.5)
    ratio("(a') >= 5 x (f)", "a'", "f", 5.0)
    row_a = table.get(("a", 64))
    if row_a and rps("a") is not None and rps("a'") is not None:
        keeps_up = row_a.get("drained") == row_a.get("runs")
        a, a_ingest = rps("a") or 0.0, rps("a'") or 1.0
        value = a / a_ingest
        out.append(
            {
                "target": "(a) >= 70% of (a') where the workers keep up",
                "value": f"{value:.0%} ({a:.0f} / {a_ingest:.0f} req/s); backlog drained in "
                f"{row_a.get('drained')}/{row_a.get('runs')} runs",
                "met": value >= 0.7 and keeps_up,
            }
        )
    for key in ("a'", "a", "b", "g", "i"):
        row = table.get((key, 64))
        if row and "p99_ms" in row:
            out.append(
                {
                    "target": f"p99 < 25 ms ({key})",
                    "value": f"{row['p99_ms']:.1f} ms",
                    "met": row["p99_ms"] < 25,
                }
            )
    for key in ("a'", "a", "b", "g", "i"):
        row = table.get((key, 64))
        if row and "rss_mb" in row:
            out.append(
                {
                    "target": f"RSS < 200 MB ({key})",
                    "value": f"{row['rss_mb']:.0f} MB",
                    "met": row["rss_mb"] < 200,
                }
            )
    # Issue 16's targets (same run, 64 connections).
    ratio("(a') >= 1.3 x (e')", "a'", "e'", 1.3)
    ratio("(a') >= 1.3 x (d')", "a'", "d'", 1.3)
    ratio("(a') >= 0.4 x (r)", "a'", "r", 0.4)
    ratio("(a) >= 0.75 x (a')", "a", "a'", 0.75)
    ratio("(g) >= 0.9 x (a')", "g", "a'", 0.9)
    ratio("(a1m) >= 0.9 x (a'): 1,000,000 stored events cost <= 10%", "a1m", "a'", 0.9)
    ratio("(a2) / (a'): serve --processes 2 (indicative: wrk shares a core)", "a2", "a'", 1.0)
    a64 = (table.get(("a'", 64)) or {}).get("p99_ms")
    e64 = (table.get(("e'", 64)) or {}).get("p99_ms")
    if a64 is not None and e64 is not None:
        out.append({"target": "p99 (a') <= p99 (e') at 64 connections",
                    "value": f"{a64:.1f} vs {e64:.1f} ms", "met": a64 <= e64})  # fmt: skip
    a16 = (table.get(("a'", 16)) or {}).get("p99_ms")
    r16 = (table.get(("r", 16)) or {}).get("p99_ms")
    if a16 is not None and r16 is not None:
        out.append({"target": "p99 (a') <= 2 x p99 (r) at 16 connections",
                    "value": f"{a16:.1f} vs {r16:.1f} ms", "met": a16 <= 2 * r16})  # fmt: skip
    for key in ("a'", "a", "a2"):
        row = table.get((key, 64))
        if row and "rss_mb" in row:
            out.append({"target": f"RSS <= 120 MB ({key})", "value": f"{row['rss_mb']:.0f} MB",
                        "met": row["rss_mb"] <= 120})  # fmt: skip
    ratio("(g) >= 3 x (h)", "g", "h", 3.0)
    ratio("(g) >= 80% of (a')", "g", "a'", 0.8)
    ratio("(a') >= 95% of (a0): metrics and rejection records cost <= 5%", "a'", "a0", 0.95)
    out += hooks_targets(table)
    return out


def hooks_targets(table: dict[tuple[str, int], dict[str, Any]]) -> list[dict[str, Any]]:
    """(j) hookport --hooks against (k) adnanh/webhook serving the same file, 64 connections."""
    j, k = table.get(("j", 64)), table.get(("k", 64))
    out: list[dict[str, Any]] = []
    if not j or not k or "rps" not in j or "rps" not in k:
        return out
    acks = j["rps"] / k["rps"]
    out.append({"target": "(j) acks/s >= 3 x (k)",
                "value": f"{acks:.2f}x ({j['rps']:.0f} / {k['rps']:.0f} acks/s)",
                "met": acks >= 3.0})  # fmt: skip
    if "commands_per_s" in j and "commands_per_s" in k:
        jc, kc = j["commands_per_s"], k["commands_per_s"]
        out.append({"target": "(j) commands/s >= (k), over the run plus the drain",
                    "value": f"{jc:.0f} vs {kc:.0f} commands/s (drain ≤ "
                    f"{j['commands_drain_s']:.1f} s vs ≤ {k['commands_drain_s']:.1f} s)",
                    "met": jc >= kc})  # fmt: skip
    out.append({"target": "(j) p99 < (k) p99",
                "value": f"{j['p99_ms']:.1f} vs {k['p99_ms']:.1f} ms",
                "met": j["p99_ms"] < k["p99_ms"]})  # fmt: skip
    for key, row in (("j", j), ("k", k)):
        if "commands_checks" in row:
            out.append({"target": f"every acknowledged delivery's command ran ({key})",
                        "value": f"{row['commands_ok']}/{row['commands_checks']} runs ok, "
                        f"{row['commands_duplicates']} ran twice",
                        "met": row["commands_ok"] == row["commands_checks"]})  # fmt: skip
    return out


def fmt(value: Any, spec: str = ".0f", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def render_md(
    plan: Plan,
    meta: dict[str, Any],
    table: dict[tuple[str, int], dict[str, Any]],
    goals: list[dict[str, Any]],
    profiles: list[dict[str, Any]],
) -> str:
    lines = [
        f"# hookport load benchmark — {meta['started']}",
        "",
        f"{meta['repeats']} repeat(s), interleaved; {meta['warmup']:g} s warm-up + "
        f"{meta['duration']:g} s measured per run; server on core {SERVER_CPU}, wrk -t1 on "
        f"core {CLIENT_CPU}; payload {meta['payload_bytes']} B; runtime "
        f"{meta['runtime_min']:.1f} min (of which {meta['quiet_wait_total_s']:.0f} s waiting "
        f"for other jobs on the machine to calm down). hookport {meta['hookport_commit']}. "
        "Medians of the repeats; RSS is the highest VmHWM.",
        "",
        "| row | configuration | conns | req/s | p50 ms | p99 ms | RSS MB | rows = 2xx check "
        "| backlog at stop → drained | runs ok |",
        "|---|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for cfg in plan.configs:
        for conns in plan.connections:
            row = table.get((cfg.key, conns), {})
            check = "n/a (no store)"
            if "rows_checks" in row:
                check = f"{row['rows_ok']}/{row['rows_checks']} ok"
                check += f" ({row['rows_equal']} exact, max +{row['extra_rows_max']} in flight)"
                if row["rows_ok"] != row["rows_checks"]:
                    check = f"**FAILED** {check}"
            bl = "n/a"
            if "backlog_at_stop" in row:
                bl = f"{row['backlog_at_stop']:.0f} → "
                bl += (
                    f"0 in ≤{row['drain_s']} s ({row['drained']}/{row['runs']})"
                    if row["drained"] == row["runs"]
                    else f"**{row['left_after_wait']} left after {DRAIN_TIMEOUT:g} s** "
                    f"({row['drained']}/{row['runs']} drained)"
                )
            ok = f"{row.get('runs', 0) - row.get('failed', 0)}/{row.get('runs', 0)}"
            if row.get("failed"):
                ok = f"**{ok}**"
            lines.append(
                f"| ({cfg.key}) | {cfg.label} | {conns} | {fmt(row.get('rps'))} | "
                f"{fmt(row.get('p50_ms'), '.1f')} | {fmt(row.get('p99_ms'), '.1f')} | "
                f"{fmt(row.get('rss_mb'))} | {check} | {bl} | {ok} |"
            )
    hook_rows = [
        (cfg, conns, table[(cfg.key, conns)])
        for cfg in plan.configs
        for conns in plan.connections
        if "commands_per_s" in table.get((cfg.key, conns), {})
    ]
    if hook_rows:
        lines += [
            "",
            "## Hooks rows: acknowledged deliveries and commands run",
            "",
            "acks/s is wrk's req/s (every answer was a 2xx); commands/s counts the lines the "
            "command appended from the start of the measured run until the last one after it "
            "(the drain).",
            "",
            "| row | conns | acks/s | commands/s | drain s | p99 ms | every ack's command ran |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for cfg, conns, row in hook_rows:
            ran = f"{row.get('commands_ok', 0)}/{row.get('commands_checks', 0)} ok"
            lines.append(
                f"| ({cfg.key}) | {conns} | {fmt(row.get('rps'))} | "
                f"{fmt(row.get('commands_per_s'))} | {fmt(row.get('commands_drain_s'), '.1f')} | "
                f"{fmt(row.get('p99_ms'), '.1f')} | {ran} |"
            )
    lines += ["", "## Targets (64 connections)", "", "| target | value | |", "|---|---|---|"]
    for goal in goals:
        lines.append(
            f"| {goal['target']} | {goal['value']} | {'met' if goal['met'] else '**missed**'} |"
        )
    lines += [
        "",
        "## CPU time during the measured run (seconds of CPU, medians)",
        "",
        "Server and wrk are pinned to one core each; PostgreSQL is not pinned. *other* is CPU "
        "time of every other process on the machine (interference); a run is *noisy* when it "
        f"exceeds {NOISY_OTHER_S:g} s.",
        "",
        "| row | conns | server | postgres | wrk | other | wall | noisy runs "
        "| server CPU µs/req | postgres CPU µs/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cfg in plan.configs:
        for conns in plan.connections:
            row = table.get((cfg.key, conns), {})
            if "cpu_server_s" in row:
                lines.append(
                    f"| ({cfg.key}) | {conns} | {row['cpu_server_s']:.1f} | "
                    f"{row['cpu_postgres_s']:.1f} | {row['cpu_wrk_s']:.1f} | "
                    f"{row['cpu_other_s']:.1f} | {row['cpu_wall_s']:.1f} | "
                    f"{row['noisy']}/{row['runs']} | {row['server_us_per_req']:.0f} | "
                    f"{row['postgres_us_per_req']:.0f} |"
                )
    lines += ["", "## All runs (req/s per repeat, in run order)", ""]
    for cfg in plan.configs:
        for conns in plan.connections:
            row = table.get((cfg.key, conns), {})
            lines.append(f"- ({cfg.key}) c{conns}: {row.get('rps_all')}")
    failures = [r for r in plan.results if not r["ok"]]
    if failures:
        lines += ["", "## FAILED RUNS", ""]
        for r in failures:
            detail = r.get("error") or json.dumps(
                {k: r.get(k) for k in ("rows_check", "commands_check", "stop", "non2xx", "codes")}
                | {"warmup": r.get("warmup")}
            )
            lines.append(f"- **({r['config']}) c{r['connections']} r{r['repeat']}**: {detail}")
    for prof in profiles:
        lines += ["", f"## Profile of ({prof['config']}) under 64 connections (py-spy)", ""]
        if "error" in prof:
            lines.append(f"profiling failed: {prof['error']}")
            continue
        lines.append(
            f"{prof['samples']} samples at 200 Hz over 10 s, "
            f"{prof['rps_under_profiler']:.0f} req/s under the profiler; "
            f"raw stacks: `bench/{prof['raw']}`."
        )
        lines += [
            "",
            "Samples per thread: " + ", ".join(f"{t} {p}%" for t, p in prof["threads"]),
            "",
        ]
        if "gc" in prof:
            gcs = prof["gc"]
            lines += [
                "Garbage collector during the profiled server's life (warm-up + run): "
                + ", ".join(
                    f"gen{g} {gcs[f'gen{g}']['count']}× total {gcs[f'gen{g}']['total_ms']:.0f} ms "
                    f"max {gcs[f'gen{g}']['max_ms']:.1f} ms"
                    for g in range(3)
                )
                + f"; {gcs['objects_tracked']} objects tracked at exit (the longest gen2 is "
                "usually hookport's own `gc.collect()` before `gc.freeze()` at start-up).",
                "",
            ]
        lines += ["| self % | function |", "|---:|---|"]
        lines += [f"| {p} | `{f}` |" for f, p in prof["self"]]
        lines += ["", "| inclusive % | function |", "|---:|---|"]
        lines += [f"| {p} | `{f}` |" for f, p in prof["inclusive"]]
    return "\n".join(lines) + "\n"


# -- main --------------------------------------------------------------------------------------


def check_tools() -> None:
    missing = [tool for tool in ("wrk", "taskset", "webhook", "psql") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)} (run bench/run.sh)")
    if not HOOKPORT.exists():
        raise SystemExit(f"{HOOKPORT} not found: create the project venv first (make run)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("needs 2 CPU cores (server on core 0, wrk on core 1)")


def pg_available() -> bool:
    try:
        psql("SELECT 1")
    except (RuntimeError, OSError, subprocess.TimeoutExpired):
        return False
    return True


def select_configs(args: argparse.Namespace) -> tuple[list[Config], list[str]]:
    notes = []
    configs = list(CONFIGS)
    if args.only:
        wanted = {k.strip() for k in args.only.split(",")}
        configs = [c for c in configs if c.key in wanted]
    pg = [c for c in configs if c.store == "postgres"]
    if pg and not POSTGRES_MODULE.exists():
        hookport_pg = [c.key for c in pg if c.kind == "hookport"]
        notes.append(
            f"{POSTGRES_MODULE.relative_to(ROOT)} does not exist: rows "
            f"{', '.join(hookport_pg)} skipped"
        )
        configs = [c for c in configs if not (c.store == "postgres" and c.kind == "hookport")]
        if not args.only:  # (h) alone has nothing to be compared with
            configs = [c for c in configs if c.store != "postgres"]
            notes[-1] += " (and (h), which only serves as their baseline)"
    if any(c.store == "postgres" for c in configs) and not pg_available():
        notes.append(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: PostgreSQL rows skipped")
        configs = [c for c in configs if c.store != "postgres"]
    return configs, notes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, 2 s warm-up, 5 s runs")
    parser.add_argument("--only", help='comma-separated rows, e.g. "a\',c"')
    parser.add_argument("--connections", help="comma-separated, default 16,64")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--warmup", type=float, default=None)
    parser.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles")
    args = parser.parse_args()

    check_tools()
    configs, notes = select_configs(args)
    for note in notes:
        log(f"NOTE: {note}")
    started = dt.datetime.now().astimezone()
    run_id = started.strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    workdir = RESULTS / f"{run_id}-work"
    workdir.mkdir()
    plan = Plan(
        warmup=args.warmup or (2.0 if args.quick else 3.0),
        duration=args.duration or (5.0 if args.quick else 10.0),
        repeats=args.repeats or (1 if args.quick else 3),
        configs=configs,
        connections=tuple(int(c) for c in args.connections.split(","))
        if args.connections
        else CONNECTIONS,
        workdir=workdir,
        run_id=run_id.replace("-", ""),
    )
    commit_at_start = git_describe()
    t0 = time.monotonic()
    total = plan.repeats * len(plan.connections) * len(plan.configs)
    n = 0
    # Interleaved: each repeat goes round all configurations before the next repeat starts.
    for rep in range(1, plan.repeats + 1):
        for conns in plan.connections:
            for cfg in plan.configs:
                n += 1
                log(f"run {n}/{total}: ({cfg.key}) {cfg.label}, {conns} connections, repeat {rep}")
                record = run_one(plan, cfg, conns, rep)
                plan.results.append(record)
                log("  " + one_line(record))
    table = summarise(plan)
    goals = targets(table)
    profiles: list[dict[str, Any]] = []
    if not args.no_profile and PY_SPY.exists():
        for key in ("a'", "a", "g", "i"):
            cfg = next((c for c in plan.configs if c.key == key), None)
            if cfg is not None:
                log(f"profiling ({key}) with py-spy")
                profiles.append(profile(plan, cfg))
    shutil.rmtree(workdir, ignore_errors=True)
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "repeats": plan.repeats,
        "warmup": plan.warmup,
        "duration": plan.duration,
        "connections": list(plan.connections),
        "payload_bytes": PAYLOAD.stat().st_size,
        "runtime_min": (time.monotonic() - t0) / 60,
        "notes": notes,
        "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "command": " ".join(sys.argv),
        "hookport_commit": commit_at_start
        if commit_at_start == git_describe()
        else f"{commit_at_start} at start, {git_describe()} at the end (src changed mid-run!)",
        "quiet_wait_total_s": round(QUIET_TOTAL_BUDGET - _quiet_budget[0], 1),
    }
    md = render_md(plan, meta, table, goals, profiles)
    if notes:
        md += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    (RESULTS / f"{run_id}.md").write_text(md)
    summary = {f"{k[0]}@{k[1]}": v for k, v in table.items()}
    doc = {
        "meta": meta,
        "summary": summary,
        "targets": goals,
        "runs": plan.results,
        "profiles": profiles,
    }
    (RESULTS / f"{run_id}.json").write_text(json.dumps(doc, indent=2, default=str))
    print(md)
    log(f"wrote {RESULTS / run_id}.md and .json ({meta['runtime_min']:.1f} min)")
    failed = [r for r in plan.results if not r["ok"]]
    if failed:
        log(f"!!! {len(failed)} RUN(S) FAILED — see the FAILED RUNS section !!!")
        return 1
    return 0


def git_describe() -> str:
    """The commit under test, ``+dirty`` when src/ has uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def one_line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"FAILED: {r['error']}"
    parts = [
        f"{r['rps']:.0f} req/s",
        f"p50 {r['p50_ms']:.1f} ms",
        f"p99 {r['p99_ms']:.1f} ms",
        f"RSS {r['vmhwm_mb']:.0f} MB",
        f"2xx {r['ok2xx']}",
        f"non-2xx {r['non2xx']}",
        f"cpu server {r['cpu']['server_s']:.1f}s pg {r['cpu']['postgres_s']:.1f}s "
        f"wrk {r['cpu']['wrk_s']:.1f}s other {r['cpu']['other_s']:.1f}s",
    ]
    if "backlog" in r:
        b = r["backlog"]
        parts.append(f"backlog {b['at_stop']} -> {b['after_wait']} ({b['waited_s']} s)")
    if "rows_check" in r:
        c = r["rows_check"]
        parts.append(
            f"rows {c['rows']} vs 2xx {c['acked_2xx']} "
            f"(+{c['extra_rows']}, ≤{c['unanswered_at_stop']} in flight, "
            f"missing acked ids {c['acked_ids_missing']}) "
            f"{'OK' if c['ok'] else 'MISMATCH'}"
        )
    if "commands" in r:
        c = r["commands"]
        parts.append(
            f"commands {c['lines']} ({c['per_s']:.0f}/s over {c['span_s']} s, "
            f"drain {c['drain_s']} s)"
        )
    if "commands_check" in r:
        c = r["commands_check"]
        parts.append(f"commands check {'OK' if c['ok'] else 'FAILED'} {json.dumps(c)}")
    if "stop" in r:
        parts.append(f"exit {r['stop']['exit_code']} in {r['stop']['stop_s']} s")
    if not r["ok"]:
        parts.append("*** RUN FAILED ***")
    return ", ".join(parts)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
