"""The SQLite backend: one file, WAL mode, one writer connection, group commit.

Durability: the database runs in WAL mode with ``PRAGMA synchronous=FULL`` by default, so a
commit, and so a 202, survives power loss. ``synchronous = "normal"`` syncs the WAL only at
checkpoints: still safe against a process crash (``kill -9``), but a power loss or OS crash can
lose the last transactions, i.e. deliveries already acknowledged. Choose it only when senders
retry or losing the last moments of traffic is acceptable.

Threads: sqlite3 blocks, so the event loop never touches a connection. All writes (append
batches, leases, outcomes) go through one writer connection on a single-thread executor, which
matches SQLite's single-writer model and lets ``BEGIN IMMEDIATE`` serialise with other
processes. Reads use a second connection on its own thread; WAL readers never wait for the
writer. Lock waits are bounded by ``busy_timeout``; a commit that fails (disk full, read-only,
locked, I/O error) surfaces as ``StoreUnavailable`` and the next batch tries afresh.

Wake-ups are local: appends and requeues in this process wake its workers at once; workers in
other processes find new work by polling (``wait_for_work`` timeout).
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from hookport.errors import StoreError, StoreUnavailable
from hookport.events import AppendResult, Event, EventStatus, NewEvent
from hookport.metrics import EndpointCount, StoreOp
from hookport.observability import LogLimiter
from hookport.store import _sqlite_ops as ops
from hookport.store import migrate
from hookport.store._batch import Batcher, GroupCommit, Wakeup
from hookport.store._rows import chat_command_from_row, rejection_from_row
from hookport.store.base import (
    ChatCommand,
    ChatCommandFilter,
    EventFilter,
    Finish,
    LeaseRequest,
    Pause,
    Rejection,
    RejectionFilter,
    StoreObserver,
    id_floor,
)

log = logging.getLogger("hookport.store")

T = TypeVar("T")
Connection = sqlite3.Connection


class SqliteStore:
    """:class:`~hookport.store.base.Store` on a SQLite file (see the module docstring)."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["full", "normal"] = "full",
        batch_max: int = 256,
        queue_max: int = 10_000,
        busy_timeout: float = 3.0,
        on_connect: Callable[[Connection], None] | None = None,
        observer: StoreObserver | None = None,
    ) -> None:
        """``on_connect`` runs on each new connection (writer first) after hookport's pragmas;
        ``observer`` is told of commits and failures (metrics)."""
        self._observer = observer
        self.path = Path(path)
        self._synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._on_connect = on_connect
        self._batch_max = batch_max
        self._queue_max = queue_max
        self._wake = Wakeup()
        self._writer_pool: ThreadPoolExecutor | None = None
        self._reader_pool: ThreadPoolExecutor | None = None
        self._writer: Connection | None = None
        self._reader: Connection | None = None
        self._batcher: GroupCommit | None = None
        self._unavailable = LogLimiter(log)
        self._finisher: Batcher[Finish, bool] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the file if needed, switch to WAL, apply pending migrations."""
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> None:
        self._writer_pool = ThreadPoolExecutor(1, thread_name_prefix="hookport-sqlite-writer")
        self._reader_pool = ThreadPoolExecutor(1, thread_name_prefix="hookport-sqlite-reader")
        self._writer = await self._call(self._writer_pool, self._connect, False, op="write")
        await self._call(self._writer_pool, migrate.sqlite_migrate, self._writer, op="write")
        self._reader = await self._call(self._reader_pool, self._connect, True, op="read")
        self._batcher = GroupCommit(
            self._commit_batch,
            batch_max=self._batch_max,
            queue_max=self._queue_max,
            on_commit=self._after_append,
            observe=self._observed("append"),
        )
        self._batcher.start()
        self._finisher = Batcher(
            self._commit_finishes,
            batch_max=self._batch_max,
            name="hookport-sqlite-outcomes",
            observe=self._observed("finish"),
        )
        self._finisher.start()

    async def close(self) -> None:
        """Commit queued appends and outcomes, then close both connections."""
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None
        if self._finisher is not None:
            await self._finisher.close()
            self._finisher = None
        for pool, conn in ((self._writer_pool, self._writer), (self._reader_pool, self._reader)):
            if pool is not None:
                if conn is not None:
                    await asyncio.get_running_loop().run_in_executor(pool, conn.close)
                pool.shutdown(wait=True)
        self._writer = self._reader = None
        self._writer_pool = self._reader_pool = None

    def _connect(self, read_only: bool) -> Connection:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # explicit BEGIN IMMEDIATE / COMMIT only
            check_same_thread=False,  # each connection is confined to its own executor thread
        )
        conn.row_factory = sqlite3.Row
        if not read_only:
            self._enable_wal(conn)
        conn.execute(f"PRAGMA synchronous={self._synchronous.upper()}")
        conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
        if read_only:
            conn.execute("PRAGMA query_only=1")
        if self._on_connect is not None:
            self._on_connect(conn)
        return conn

    def _enable_wal(self, conn: Connection) -> None:
        # Switching the journal mode can answer "database is locked" at once, without the busy
        # handler, while another process is opening the same new file: retry until the timeout.
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.01)  # a worker thread, not the event loop

    # -- plumbing --------------------------------------------------------------------------

    def _observed(self, op: StoreOp) -> Callable[[int, float], None] | None:
        observer = self._observer
        if observer is None:
            return None
        return lambda size, seconds: observer.committed(op, size, seconds)

    def _failed(self, op: StoreOp, unavailable: bool) -> None:
        if self._observer is not None:
            self._observer.store_failed(op, unavailable)

    async def _call(
        self, pool: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any, op: StoreOp
    ) -> T:
        if pool is None:
            raise StoreUnavailable("store is not open")
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except sqlite3.IntegrityError as exc:
            self._failed(op, False)
            raise StoreError(f"sqlite: {exc}") from exc
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            self._failed(op, True)
            # Details for operators only, at most a line per 5 s (a full disk fails every write).
            fields = {"error": str(exc)}
            self._unavailable.log(logging.WARNING, str(exc), "sqlite store unavailable", fields)
            raise StoreUnavailable("store cannot commit, retry later") from exc

    async def _write(self, fn: Callable[..., T], *args: Any, op: StoreOp = "write") -> T:
        return await self._call(self._writer_pool, ops.transaction, self._writer, fn, *args, op=op)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._call(self._reader_pool, fn, self._reader, *args, op="read")

    # -- appends ---------------------------------------------------------------------------

    async def append(self, event: NewEvent) -> AppendResult:
        """Commit ``event`` with its batch, or return the first event with its delivery id."""
        if self._batcher is None:
            raise StoreUnavailable("store is not open")
        return await self._batcher.append(event)

    async def _commit_batch(self, events: Sequence[NewEvent]) -> list[AppendResult]:
        return await self._write(ops.insert_batch, events, op="append")

    def _after_append(self, events: Sequence[NewEvent]) -> None:
        if any(e.status == EventStatus.QUEUED for e in events):
            self._wake.notify()

    # -- the work queue ----------------------------------------------------------------------

    async def lease(self, request: LeaseRequest) -> list[Event]:
        """Claim due events for ``request.owner`` (see :class:`LeaseRequest`)."""
        return await self._write(ops.lease, request, op="lease")

    async def finish(self, finish: Finish) -> bool:
        """Record the attempt's outcomes and the event's new status; False if the lease was lost."""
        if self._finisher is None:
            raise StoreUnavailable("store is not open")
        return await self._finisher.submit(finish)

    async def _commit_finishes(self, items: Sequence[Finish]) -> list[bool]:
        # Outcomes of concurrent handlers share one transaction: one fsync, not one each.
        return await self._write(ops.finish_many, items, op="finish")

    async def renew(self, owner: str, event_ids: Sequence[str], until: float) -> None:
        """Extend the leases ``owner`` holds on ``event_ids``."""
        params = {"owner": owner, "ids": ops.ids_json(event_ids), "until": until}
        await self._write(ops.execute, ops.q("renew"), params)

    async def release(self, event_ids: Sequence[str], owner: str) -> None:
        """Give leases back; the interrupted attempt does not count."""
        await self._write(
            ops.execute, ops.q("release"), {"owner": owner, "ids": ops.ids_json(event_ids)}
        )
        self._wake.notify()

    async def requeue(self, event_ids: Sequence[str], now: float) -> list[str]:
        """Make receiver events due now with a fresh attempt count; returns those requeued."""
        found = await self._write(ops.requeue, {"ids": ops.ids_json(event_ids), "now": now})
        if found:
            self._wake.notify()
        return [i for i in dict.fromkeys(event_ids) if i in found]

    async def arrivals(self, since: float, recent: float) -> dict[str, tuple[int, int]]:
        """Per endpoint, events received since ``since`` and since ``recent``."""
        params = {"since": since, "recent": recent, "low": id_floor(since)}
        rows = await self._read(ops.fetchall, ops.q("arrivals"), params)
        return {row[0]: (int(row[1]), int(row[2] or 0)) for row in rows}

    async def delete(self, event_ids: Sequence[str]) -> list[str]:
        """Delete events no worker holds, with their attempts; returns those deleted."""
        found = await self._write(ops.delete, ops.ids_json(event_ids))
        return [i for i in dict.fromkeys(event_ids) if i in found]

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` done events received before ``before`` (and their attempts)."""
        return await self._write(ops.prune, before, limit)

    # -- pauses ----------------------------------------------------------------------------

    async def pause(self, pause: Pause) -> None:
        """Hold ``pause.endpoint``'s events from this commit on (every process reads it)."""
        params = {
            "endpoint": pause.endpoint,
            "now": pause.paused_at,
            "expires_at": pause.expires_at,
            "by": pause.paused_by,
        }
        await self._write(ops.execute, ops.q("pause"), params)

    async def resume(self, endpoint: str, now: float) -> bool:
        """Lift the pause; this process's workers wake at once, others at their next poll."""
        lifted = await self._write(ops.resume, endpoint, now)
        self._wake.notify()
        return lifted

    async def pauses(self, now: float) -> builtins.list[Pause]:
        """The pauses in force at ``now``."""
        rows = await self._read(ops.fetchall, ops.q("pauses"), {"now": now})
        return [Pause(row[0], row[1], row[2], row[3]) for row in rows]

    # -- rejections ------------------------------------------------------------------------

    async def record_rejections(
        self, rejections: Sequence[Rejection], *, keep: int, before: float
    ) -> None:
        """Commit ``rejections`` in one transaction and prune by ``keep`` and ``before``."""
        if rejections:
            await self._write(ops.record_rejections, rejections, keep, before)

    async def rejections(self, filter: RejectionFilter) -> builtins.list[Rejection]:
        """Recorded rejections matching ``filter``, newest first."""
        params = {**_rejection_params(filter), "limit": filter.limit, "before_id": filter.before_id}
        rows = await self._read(ops.fetchall, ops.q("list_rejections"), params)
        return [rejection_from_row(row) for row in rows]

    async def count_rejections(self, filter: RejectionFilter, cap: int) -> int:
        """Rejections matching ``filter``, counted up to ``cap``."""
        params = {**_rejection_params(filter), "cap": cap}
        rows = await self._read(ops.fetchall, ops.q("count_rejections"), params)
        return int(rows[0][0])

    # -- chat commands ---------------------------------------------------------------------

    async def record_chat_command(
        self, command: ChatCommand, *, keep: int, before: float
    ) -> None:
        """Commit one chat command record and prune by ``keep`` and ``before``."""
        await self._write(ops.record_chat_command, command, keep, before)

    async def chat_commands(self, filter: ChatCommandFilter) -> builtins.list[ChatCommand]:
        """Recorded chat commands matching ``filter``, newest first."""
        params = {"since": filter.since, "platform": filter.platform, "limit": filter.limit}
        rows = await self._read(ops.fetchall, ops.q("list_chat_commands"), params)
        return [chat_command_from_row(row) for row in rows]

    # -- reads -----------------------------------------------------------------------------

    async def get(self, event_id: str) -> Event | None:
        """One event with its attempts and recorded response."""
        return await self._read(ops.get, event_id)

    async def list(self, filter: EventFilter) -> list[Event]:
        """Events matching ``filter``, newest first (attempts not loaded)."""
        params = {**_filter_params(filter), "before_id": filter.before_id, "limit": filter.limit}
        return await self._read(ops.select_events, ops.q("list_events"), params)

    async def count(self, filter: EventFilter, cap: int) -> int:
        """Events matching ``filter``, counted up to ``cap``."""
        rows = await self._read(
            ops.fetchall, ops.q("count_events"), {**_filter_params(filter), "cap": cap}
        )
        return int(rows[0][0])

    async def ids_with_status(self, status: EventStatus, limit: int = 10_000) -> builtins.list[str]:
        """Ids of events in ``status``, oldest first."""
        params = {"status": str(status), "limit": limit}
        rows = await self._read(ops.fetchall, ops.q("ids_with_status"), params)
        return [row[0] for row in rows]

    async def counts(self) -> dict[EventStatus, int]:
        """Number of events per status (every status present, zero if none)."""
        rows = await self._read(ops.fetchall, ops.q("counts"), {})
        counts = dict.fromkeys(EventStatus, 0)
        counts.update({EventStatus(row[0]): row[1] for row in rows})
        return counts

    async def endpoint_counts(self, now: float) -> builtins.list[EndpointCount]:
        """Events per endpoint and status, and when the oldest due one became due."""
        rows = await self._read(ops.fetchall, ops.q("endpoint_counts"), {"now": now})
        return [EndpointCount(r[0], r[1], r[2], r[3]) for r in rows]

    async def next_due(self, now: float) -> float | None:
        """When the next event becomes due (``now`` if one is due already), or None."""
        rows = await self._read(ops.fetchall, ops.q("next_due"), {"now": now})
        due: float | None = rows[0][0] if rows else None
        return None if due is None else max(due, now)

    async def wait_for_work(self, timeout: float) -> None:  # noqa: ASYNC109 - poll interval
        """Return when this process appended or requeued work, or after ``timeout``."""
        await self._wake.wait(timeout)

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` if the database cannot be read, or its last commit
        failed moments ago (readiness must not say yes while writes fail)."""
        if self._batcher is not None:
            self._batcher.check_recent()
        await self._read(ops.fetchall, ops.q("ping"), {})


def _filter_params(filter: EventFilter) -> dict[str, Any]:
    """The named parameters ``list_events`` and ``count_events`` share."""
    return {
        "endpoint": filter.endpoint,
        "status": None if filter.status is None else str(filter.status),
        "type": filter.type,
        "since": filter.since,
        "until": filter.until,
        "endpoint_contains": filter.endpoint_contains,
        "type_contains": filter.type_contains,
        "prefix": filter.id_prefix,
    }


def _rejection_params(filter: RejectionFilter) -> dict[str, Any]:
    """The named parameters ``list_rejections`` and ``count_rejections`` share."""
    return {
        "since": filter.since,
        "until": filter.until,
        "endpoint": filter.endpoint,
        "no_endpoint": filter.no_endpoint,
        "status": filter.status,
    }
