"""Scale-out over PostgreSQL: several ``hookport serve --no-workers`` and ``hookport worker``
processes on one database, ``kill -9`` under load, a PostgreSQL outage, ``worker --receiver``.

Real processes on loopback ports, a real PostgreSQL (``pg.py`` says where it comes from: a fresh
database per test, or a cluster the test owns). Handlers of ``plugins/scaleout.py`` append
``start``/``end`` lines with their process id and wall-clock times to one shared file; that
file is the evidence of who ran what, when. Every wait is on a condition with a deadline; the
only sleeps are the senders' bounded back-off between retries, as a real sender would do.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e import pg
from tests.e2e.conftest import HOOKPORT, Server, start, wait_until

PLUGIN = str(Path(__file__).parent / "plugins" / "scaleout.py")
LEASE = 3.0  # [worker] lease: short, so a killed worker's events come back promptly
RENEW_EVERY = LEASE / 3  # the worker renews its leases every third of the lease
HANDLER_SECONDS = 0.04  # long enough for two concurrent runs of one event to overlap visibly
SLOW_SECONDS = 0.6  # a few handlers take this long, so a kill can land mid-run for sure

pytestmark = pytest.mark.postgres


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg_admin() -> Iterator[str]:
    """An admin DSN: ``HOOKPORT_TEST_PG_DSN``, else a throwaway cluster for this module."""
    with pg.admin_dsn() as dsn:
        yield dsn


@pytest.fixture
def database(pg_admin: str) -> Iterator[str]:
    """A fresh database for one test (dropped after, leftover connections terminated)."""
    with pg.fresh_database(pg_admin) as dsn:
        yield dsn


@pytest.fixture
def own_cluster() -> Iterator[pg.Cluster]:
    """A cluster this test may stop and start (initdb/pg_ctl; skipped when not installed)."""
    with pg.throwaway_cluster(required=False) as cluster:
        yield cluster


class Fleet:
    """``hookport serve`` and ``hookport worker`` processes on one store; all stopped after."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.log = tmp_path / "handled.log"
        self.config = tmp_path / "hookport.toml"
        self.env: dict[str, str] = {"SCALEOUT_LOG": str(self.log)}
        self.started: list[Server] = []

    def configure(self, store_url: str, **sections: dict[str, object]) -> None:
        """Write the config file every process reads; the store URL goes in the environment."""
        self.env["HOOKPORT_STORE__URL"] = store_url
        lines = []
        for section, values in sections.items():
            lines.append(f"[{section}]")
            lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
        self.config.write_text("\n".join(lines) + "\n")

    def serve(self, *args: str, port: int = 0) -> Server:
        """``hookport serve`` on ``port`` (0: any free port); ready when it announces its URL."""
        return self._start(["serve", "--host", "127.0.0.1", "--port", str(port), *args])

    def worker(self, *args: str) -> Server:
        """``hookport worker``; ready when it prints ``hookport worker running``."""
        return self._start(["worker", *args], announce="hookport worker running")

    def start_together(self, *starts: Callable[[], Server]) -> list[Server]:
        """Run several of :meth:`serve` / :meth:`worker` at once (start-up takes a second)."""
        with ThreadPoolExecutor(len(starts)) as pool:
            futures = [pool.submit(start) for start in starts]
            return [f.result() for f in futures]

    def _start(self, args: list[str], announce: str = "hookport listening on ") -> Server:
        full = [*args, "--config", str(self.config), "--plugin", PLUGIN]
        process = start(full, cwd=self.dir, env=self.env, announce=announce)
        self.started.append(process)
        return process

    def close(self) -> None:
        for process in self.started:
            process.close()  # kills by its own pid if it still runs


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    processes = Fleet(tmp_path)
    try:
        yield processes
    finally:
        processes.close()


# -- evidence ----------------------------------------------------------------------------------


@dataclass
class Run:
    """One run of a handler, from the plugin's log: who ran which attempt of which event."""

    receiver: str
    event_id: str
    attempt: int
    pid: int
    start: float
    seconds: float  # how long the handler means to take
    end: float | None = None  # None: cut short, its process was killed


def read_runs(log: Path) -> list[Run]:
    """Every handler run recorded so far in ``log``."""
    if not log.exists():
        return []
    runs: dict[tuple[str, str, str, str], Run] = {}
    # The last piece has no newline yet while a handler is writing it: read it next time.
    for line in log.read_text().split("\n")[:-1]:
        word, receiver, event_id, attempt, pid, t0, last = line.split()
        key = (event_id, attempt, pid, t0)
        if word == "start":
            runs[key] = Run(receiver, event_id, int(attempt), int(pid), float(t0), float(last))
        else:
            assert word == "end", f"malformed evidence line {line!r}"
            runs[key].end = float(last)
    return list(runs.values())


def finished_ids(log: Path, receiver: str | None = None) -> set[str]:
    return {
        r.event_id for r in read_runs(log) if r.end is not None and receiver in (None, r.receiver)
    }


def running_in(log: Path, pid: int, for_at_least: float = 0.0) -> int:
    """How many handler runs of process ``pid`` have started and not ended, and (with
    ``for_at_least``) will go on for at least that many seconds more."""
    now = time.time()
    return sum(
        1
        for r in read_runs(log)
        if r.pid == pid and r.end is None and r.start + r.seconds - now >= for_at_least
    )


def check_runs(runs: list[Run], killed_at: dict[int, float]) -> int:
    """Assert that no event ran in two places at once; returns the number of re-runs.

    A run may only be followed by another run of the same event when the first one's process
    was killed (``killed_at``: pid -> a time it was surely dead), and then only after the dead
    worker's lease could have expired, with the attempt counted. Runs never overlap.
    """
    by_event: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        assert run.end is not None or run.pid in killed_at, f"a handler vanished: {run}"
        by_event[run.event_id].append(run)
    reruns = 0
    for event_id, event_runs in by_event.items():
        event_runs.sort(key=lambda r: r.start)
        for earlier, later in itertools.pairwise(event_runs):
            reruns += 1
            why = f"event {event_id} ran again: {earlier} then {later}"
            end = earlier.end if earlier.end is not None else killed_at[earlier.pid]
            assert later.start >= end, f"{why}: the runs overlap"
            assert earlier.pid in killed_at, f"{why}, though its first worker was alive"
            assert later.start >= killed_at[earlier.pid], f"{why}: before the kill"
            # The dead worker's lease was renewed at most RENEW_EVERY before it died, so it
            # expired at least LEASE - RENEW_EVERY after; 1 s of slack for a busy machine.
            assert later.start >= killed_at[earlier.pid] + LEASE - RENEW_EVERY - 1.0, (
                f"{why}: before the dead worker's lease could have expired"
            )
            assert later.attempt > earlier.attempt, f"{why}: attempt not counted"
    return reruns


def statuses(dsn: str, receiver: str) -> dict[str, tuple[str, int, str | None]]:
    """Event id -> (status, attempt, delivery id) for every event of ``receiver``."""
    rows = pg.query(
        dsn, "SELECT id, status, attempt, delivery_id FROM events WHERE endpoint = $1", receiver
    )
    return {r["id"]: (r["status"], r["attempt"], r["delivery_id"]) for r in rows}


def recorded_successes(dsn: str) -> dict[str, tuple[int, int]]:
    """Event id -> (successful outcomes recorded, attempt of the last).

    Exactly ``(1, the event's attempt)`` for every done event means a run was repeated only
    when no outcome of the earlier run had been recorded.
    """
    rows = pg.query(
        dsn,
        "SELECT event_id, count(*) AS n, max(attempt) AS a FROM attempts WHERE ok "
        "GROUP BY event_id",
    )
    return {r["event_id"]: (r["n"], r["a"]) for r in rows}


def all_done(dsn: str, ids: set[str], receiver: str = "alpha") -> Callable[[], bool]:
    def check() -> bool:
        stored = statuses(dsn, receiver)
        return all(stored.get(i, ("missing",))[0] == "done" for i in ids)

    return check


# -- load --------------------------------------------------------------------------------------


class Load:
    """Concurrent senders; each delivery is retried with its ``Idempotency-Key`` until a 2xx.

    Delivery ``n`` of sender ``s`` starts on server ``(s + n) % len(urls)``; after a connection
    error, a timeout or a 5xx the sender fails over to the next server and backs off (20 ms, a
    sender's bounded retry; a real one would honour ``Retry-After``); a 4xx ends the sender.
    ``urls`` may change while the load runs (a replacement server). Everything is bounded by
    ``deadline`` seconds.
    """

    def __init__(
        self,
        urls: list[str],
        senders: int,
        per_sender: int,
        *,
        path: str = "/alpha",
        slow_every: int = 0,
        timeout: float = 10.0,
        deadline: float = 90.0,
    ) -> None:
        self.urls = urls
        self.path = path
        self.slow_every = slow_every  # every n-th delivery asks its handler to take SLOW_SECONDS
        self.timeout = timeout
        self.total = senders * per_sender
        self.deadline = time.monotonic() + deadline
        self.lock = threading.Lock()
        self.acked: dict[str, str] = {}  # Idempotency-Key -> event id
        self.acked_by: Counter[int] = Counter()  # server index -> acknowledgements
        self.answers: Counter[str] = Counter()  # "202", "503", "connect error", "timeout", ...
        self.without_retry_after = 0
        self.slowest = 0.0
        self.unfinished = 0
        self.threads = [
            threading.Thread(target=self._run, args=(s, per_sender), daemon=True)
            for s in range(senders)
        ]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join(max(0.0, self.deadline - time.monotonic()) + self.timeout + 5)
        assert not any(t.is_alive() for t in self.threads), "senders did not finish"
        assert self.unfinished == 0, (
            f"{self.unfinished} deliveries never acknowledged; answers {dict(self.answers)}"
        )

    def count(self, answer: str) -> int:
        with self.lock:
            return self.answers[answer]

    def _note(self, answer: str, seconds: float) -> None:
        with self.lock:
            self.answers[answer] += 1
            self.slowest = max(self.slowest, seconds)

    def _run(self, sender: int, count: int) -> None:
        with httpx.Client(timeout=self.timeout) as client:
            for n in range(count):
                if not self._deliver(client, uuid.uuid4().hex, (sender + n) % len(self.urls), n):
                    with self.lock:
                        self.unfinished += count - n
                    return

    def _deliver(self, client: httpx.Client, key: str, target: int, n: int) -> bool:
        slow = self.slow_every and n % self.slow_every == self.slow_every - 1
        body = json.dumps({"n": n, "sleep": SLOW_SECONDS} if slow else {"n": n}).encode()
        while time.monotonic() < self.deadline:
            began = time.monotonic()
            try:
                r = client.post(
                    self.urls[target] + self.path,
                    content=body,
                    headers={"Idempotency-Key": key, "Content-Type": "application/json"},
                )
            except httpx.TimeoutException:
                self._note("timeout", time.monotonic() - began)
            except httpx.TransportError:
                self._note("connect error", time.monotonic() - began)
            else:
                self._note(str(r.status_code), time.monotonic() - began)
                if r.status_code in (200, 202):
                    with self.lock:
                        self.acked[key] = r.json()["id"]
                        self.acked_by[target] += 1
                    return True
                if r.status_code < 500:
                    return False  # a 4xx: retrying would not help
                if r.status_code == 503 and not r.headers.get("retry-after", "").isdigit():
                    with self.lock:
                        self.without_retry_after += 1
            target = (target + 1) % len(self.urls)
            time.sleep(0.02)
        return False


# -- 1. many servers, many workers, kill -9 ------------------------------------------------------


SENDERS, PER_SENDER = 12, 125  # 1,500 deliveries


def test_servers_and_workers_share_one_database_through_kill_9(database: str, fleet: Fleet) -> None:
    """Two ingest nodes and two workers under load; at a third and at two thirds of the
    acknowledgements, ``kill -9`` a worker in the middle of a handler and an ingest node, and
    start replacements. Every acknowledged delivery is stored once and done, and no event ran
    in two workers at once except after its first worker died and its lease expired."""
    began = time.monotonic()
    fleet.configure(
        database,
        store={"pool_size": 4},
        server={"log_level": "warning"},
        worker={"lease": f"{LEASE}s", "concurrency": 8},
    )
    fleet.env["SCALEOUT_HANDLER_SECONDS"] = str(HANDLER_SECONDS)
    # All four at once: they race to migrate the empty database, which must be safe.
    ingest = functools.partial(fleet.serve, "--no-workers")
    s0, s1, w0, w1 = fleet.start_together(ingest, ingest, fleet.worker, fleet.worker)
    servers, workers = [s0, s1], [w0, w1]
    ports = [int(s.url.rsplit(":", 1)[1]) for s in servers]
    handled_by = {w.proc.pid for w in workers}

    load = Load([s.url for s in servers], SENDERS, PER_SENDER, slow_every=20)
    load.start()
    killed_at: dict[int, float] = {}  # worker pid -> when it was dead for sure
    cut_short = 0
    for victim, threshold in enumerate((load.total // 3, 2 * load.total // 3)):
        wait_until(lambda t=threshold: len(load.acked) >= t, 45, f"{threshold} acknowledgements")
        worker = workers[victim]
        wait_until(
            lambda w=worker: running_in(fleet.log, w.proc.pid, for_at_least=0.3) > 0,
            15,
            f"worker {worker.proc.pid} to be in the middle of a slow handler",
        )
        worker.stop(signal.SIGKILL)
        killed_at[worker.proc.pid] = time.time()
        servers[victim].stop(signal.SIGKILL)
        caught = running_in(fleet.log, worker.proc.pid)
        assert caught > 0, "the kill did not catch a handler mid-run"
        cut_short += caught
        servers[victim], workers[victim] = fleet.start_together(
            functools.partial(ingest, port=ports[victim]), fleet.worker
        )
        load.urls[victim] = servers[victim].url
        handled_by.add(workers[victim].proc.pid)
    load.join()

    # Every delivery acknowledged once, under one id, by both servers.
    assert len(load.acked) == load.total
    acked_ids = set(load.acked.values())
    assert len(acked_ids) == load.total, "two deliveries were given one event id"
    assert all(load.acked_by[i] > 0 for i in range(len(servers))), load.acked_by
    assert load.count("connect error") > 0  # the kills really interrupted the senders

    # Every acknowledged event is stored, exactly once per delivery, and handled.
    wait_until(all_done(database, acked_ids), 45, "every acknowledged event to be done")
    stored = statuses(database, "alpha")
    assert {delivery: event_id for event_id, (_, _, delivery) in stored.items()} == load.acked
    wait_until(lambda: acked_ids <= finished_ids(fleet.log), 10, "the handlers' evidence")
    assert recorded_successes(database) == {i: (1, a) for i, (_, a, _) in stored.items()}

    # No event ran in two processes at once; a second run only after its first holder died.
    runs = read_runs(fleet.log)
    assert {r.pid for r in runs} <= handled_by
    assert {w0.proc.pid, w1.proc.pid} <= {r.pid for r in runs}  # both shared the work
    reruns = check_runs(runs, killed_at)
    assert reruns >= cut_short  # each was run again, later, elsewhere (and finished: above)

    for process in [*servers, *workers]:
        assert process.stop(signal.SIGTERM) == 0, "".join(process.output[-20:])
    elapsed = time.monotonic() - began
    print(
        f"\n{load.total} deliveries, answers {dict(load.answers)}, slowest {load.slowest:.2f}s; "
        f"2 servers + 2 workers killed; {cut_short} runs cut short, {reruns} re-runs; "
        f"{elapsed:.1f}s"
    )


# -- 2. PostgreSQL goes away and comes back ------------------------------------------------------


def test_postgres_outage_answers_503_then_recovers_without_a_restart(
    own_cluster: pg.Cluster, fleet: Fleet
) -> None:
    """``pg_ctl stop -m fast`` under load: 503 + Retry-After quickly (no hanging request),
    nothing acknowledged while down, ready 503 / health 200; ``pg_ctl start``: 202 again and
    the backlog processed by the same ``hookport serve`` process, nothing lost."""
    began = time.monotonic()
    dsn = own_cluster.dsn
    fleet.configure(
        dsn,
        store={"pool_size": 4},
        server={"log_level": "warning"},
        worker={"lease": f"{LEASE}s", "concurrency": 8},
    )
    fleet.env["SCALEOUT_HANDLER_SECONDS"] = str(HANDLER_SECONDS)
    server = fleet.serve()  # with its in-process workers
    probe = httpx.Client(base_url=server.url, timeout=5)

    def ready() -> int:
        return probe.get("/_hookport/ready").status_code

    load = Load([server.url], senders=8, per_sender=100, timeout=10.0)  # 800 deliveries
    load.start()
    try:
        wait_until(lambda: len(load.acked) >= 200, 30, "200 acknowledgements before the outage")
        assert ready() == 200
        own_cluster.stop("fast")
        down_at = len(load.acked)
        refused = load.count("503")
        wait_until(lambda: load.count("503") >= refused + 50, 30, "503 answers while it is down")
        wait_until(lambda: ready() == 503, 10, "/_hookport/ready to say 503")
        assert probe.get("/_hookport/health").status_code == 200  # alive, just not ready
        assert len(load.acked) - down_at <= 8  # only answers already in flight got through
        backlog = len(set(load.acked.values()) - finished_ids(fleet.log))
        own_cluster.start()
        wait_until(lambda: ready() == 200, 30, "/_hookport/ready to say 200 again")
        accepted = load.count("202")
        wait_until(lambda: load.count("202") >= accepted + 100, 30, "202 answers again")
        load.join()
    finally:
        probe.close()

    assert len(load.acked) == load.total
    assert load.count("503") >= 50 and load.without_retry_after == 0
    assert load.count("timeout") == 0 and load.count("connect error") == 0, load.answers
    assert load.slowest < 5.0, f"a request took {load.slowest:.1f}s"  # none hangs
    assert set(load.answers) <= {"200", "202", "503"}, load.answers
    acked_ids = set(load.acked.values())
    assert backlog > 0  # acknowledged before the outage, handled only after it
    wait_until(all_done(dsn, acked_ids), 45, "the backlog to be processed")
    stored = statuses(dsn, "alpha")
    assert {delivery: event_id for event_id, (_, _, delivery) in stored.items()} == load.acked
    assert recorded_successes(dsn) == {i: (1, a) for i, (_, a, _) in stored.items()}
    assert acked_ids <= finished_ids(fleet.log)
    assert server.stop() == 0, "".join(server.output[-20:])
    print(
        f"\n{load.total} deliveries, answers {dict(load.answers)}, slowest "
        f"{load.slowest:.2f}s, backlog at restart {backlog}, {time.monotonic() - began:.1f}s"
    )


# -- 3. hookport worker --receiver, and SIGTERM ---------------------------------------------------


def test_worker_for_one_receiver_leaves_the_others_queued_and_exits_0_on_sigterm(
    database: str, fleet: Fleet
) -> None:
    """``worker --receiver alpha`` handles alpha's events only, even when beta's are older;
    SIGTERM lets its running handler finish and exits 0; another worker then takes beta's."""
    fleet.configure(database, worker={"lease": f"{LEASE}s"})
    server = fleet.serve("--no-workers")
    with httpx.Client(base_url=server.url, timeout=10) as client:

        def post(path: str, body: bytes = b"{}") -> str:
            r = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 202, r.text
            return str(r.json()["id"])

        betas = {post("/beta") for _ in range(10)}  # older: oldest-first would take these first
        alphas = {post("/alpha") for _ in range(10)}

        worker = fleet.worker("--receiver", "alpha")
        wait_until(all_done(database, alphas), 20, "the alpha events to be done")
        assert finished_ids(fleet.log) == alphas
        assert {e: s[:2] for e, s in statuses(database, "beta").items()} == dict.fromkeys(
            betas, ("queued", 0)
        )

        # SIGTERM while a handler runs: the worker finishes it, then exits 0.
        slow = post("/alpha", b'{"sleep": 1.5}')
        wait_until(
            lambda: slow in {r.event_id for r in read_runs(fleet.log)},
            15,
            "the slow handler to start",
        )
        assert worker.stop(signal.SIGTERM) == 0, "".join(worker.output[-20:])
        assert slow in finished_ids(fleet.log)
        assert statuses(database, "alpha")[slow][:2] == ("done", 1)
        assert not finished_ids(fleet.log, "beta")

    # A name that is not a receiver is refused up front.
    wrong = subprocess.run(
        [
            *HOOKPORT,
            "worker",
            "--receiver",
            "gamma",
            "--config",
            str(fleet.config),
            "--plugin",
            PLUGIN,
        ],
        cwd=fleet.dir,
        env={**os.environ, **fleet.env, "HOOKPORT_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert wrong.returncode != 0 and "gamma" in wrong.stderr, wrong.stderr
    assert "Traceback" not in wrong.stderr

    # Any worker for every receiver then takes the beta events.
    everyone = fleet.worker()
    wait_until(all_done(database, betas, "beta"), 20, "the beta events to be done")
    assert finished_ids(fleet.log, "beta") == betas
    assert everyone.stop(signal.SIGTERM) == 0
    assert server.stop(signal.SIGTERM) == 0
