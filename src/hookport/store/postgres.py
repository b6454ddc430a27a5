"""The PostgreSQL backend: an asyncpg pool, group commit, SKIP LOCKED claims, LISTEN/NOTIFY.

Any number of ``hookport serve`` and ``hookport worker`` processes share one database. Appends
go through the same group commit as SQLite: one transaction (one ``INSERT ... SELECT FROM
unnest(...)``) per batch, acknowledged after ``COMMIT``. Workers claim with ``FOR UPDATE SKIP
LOCKED``; per-endpoint caps are enforced under a transaction advisory lock. Commits that add due
work (appends, requeues, releases) send ``NOTIFY hookport_events``, and ``wait_for_work``
listens on a dedicated connection; when that connection drops it is re-opened in the background
with backoff, and waiting falls back to the timeout (polling) meanwhile.

When PostgreSQL is down every operation raises ``StoreUnavailable`` within the connect timeout,
and the pool reconnects by itself when the server is back.

This module owns the pool, the batchers and the transactions; the statements run in them are
in ``_postgres_ops.py``, the LISTEN connection in ``_pgconn.py``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import asyncpg

from hookport.errors import StoreError, StoreUnavailable
from hookport.events import AppendResult, Event, EventStatus, NewEvent
from hookport.metrics import EndpointCount, StoreOp
from hookport.store import _postgres_ops as ops
from hookport.store import migrate
from hookport.store._batch import Batcher, GroupCommit, Wakeup
from hookport.store._pgconn import Listener, driver_errors
from hookport.store._postgres_ops import Conn
from hookport.store._rows import (
    attempt_from_row,
    chat_command_from_row,
    chat_command_row,
    event_from_row,
    rejection_from_row,
    rejection_row,
)
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

CHANNEL = "hookport_events"


class PostgresStore:
    """:class:`~hookport.store.base.Store` on PostgreSQL (see the module docstring)."""

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = 10,
        batch_max: int = 256,
        queue_max: int = 10_000,
        connect_timeout: float = 3.0,
        command_timeout: float = 10.0,
        observer: StoreObserver | None = None,
    ) -> None:
        """``dsn``: a libpq URL; extra query parameters become server settings. ``observer``
        is told of commits and failures (metrics)."""
        self._dsn = dsn
        self._observer = observer
        self._pool_size = pool_size
        self._batch_max = batch_max
        self._queue_max = queue_max
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None
        self._batcher: GroupCommit | None = None
        self._finisher: Batcher[Finish, bool] | None = None
        self._wake = Wakeup()
        self._listener = Listener(dsn, CHANNEL, self._wake.notify, connect_timeout=connect_timeout)
        self.listening = self._listener.listening
        """Set while the LISTEN connection is up (else ``wait_for_work`` polls)."""

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the pool, apply pending migrations, start listening for new work.

        Raises ``StoreUnavailable`` if the server cannot be reached within the connect timeout.
        """
        try:
            await self._open()
        except BaseException:
            await self.close()
            raise

    async def _open(self) -> None:
        with driver_errors():
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=1,
                max_size=self._pool_size,
                timeout=self._connect_timeout,
                command_timeout=self._command_timeout,
            )
        async with self._connection() as conn:
            await migrate.postgres_migrate(conn)
            if await conn.fetchval(ops.q("autovacuum_on")) is False:
                log.warning(
                    "PostgreSQL autovacuum is off: dead rows and stale statistics will slow "
                    "claims and dedupe as events accumulate; turn it on, or VACUUM ANALYZE the "
                    "events and attempts tables regularly (docs/deployment.md)"
                )
        self._batcher = GroupCommit(
            self._commit_batch,
            batch_max=self._batch_max,
            queue_max=self._queue_max,
            timeout=self._connect_timeout + self._command_timeout,
            on_commit=self._after_append,
            max_inflight=3,
            observe=self._observed("append"),
        )
        self._batcher.start()
        self._finisher = Batcher(  # two batches in flight: one commits while the next locks
            self._commit_finishes,
            batch_max=self._batch_max,
            name="hookport-postgres-outcomes",
            max_inflight=2,
            observe=self._observed("finish"),
        )
        self._finisher.start()
        self._listener.start()

    async def close(self) -> None:
        """Commit queued appends, stop listening, close the pool."""
        if self._batcher is not None:
            await self._batcher.close()
            self._batcher = None
        if self._finisher is not None:
            await self._finisher.close()
            self._finisher = None
        await self._listener.stop()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), self._command_timeout)
            pool.terminate()

    def _observed(self, op: StoreOp) -> Callable[[int, float], None] | None:
        observer = self._observer
        if observer is None:
            return None
        return lambda size, seconds: observer.committed(op, size, seconds)

    @contextlib.asynccontextmanager
    async def _connection(self, op: StoreOp = "write") -> AsyncIterator[Conn]:
        if self._pool is None:
            raise StoreUnavailable("store is not open")
        try:
            with driver_errors():
                async with self._pool.acquire(timeout=self._connect_timeout + 1) as conn:
                    yield conn
        except StoreError as exc:
            if self._observer is not None:
                self._observer.store_failed(op, isinstance(exc, StoreUnavailable))
            raise

    @contextlib.asynccontextmanager
    async def _transaction(self, op: StoreOp = "write") -> AsyncIterator[Conn]:
        async with self._connection(op) as conn, conn.transaction():
            yield conn

    # -- wake-ups ----------------------------------------------------------------------------

    async def wait_for_work(self, timeout: float) -> None:  # noqa: ASYNC109 - poll interval
        """Return on a notification (any process) or a local append, or after ``timeout``."""
        await self._wake.wait(timeout)

    # -- appends ---------------------------------------------------------------------------

    async def append(self, event: NewEvent) -> AppendResult:
        """Commit ``event`` with its batch, or return the first event with its delivery id."""
        if self._batcher is None:
            raise StoreUnavailable("store is not open")
        return await self._batcher.append(event)

    async def _commit_batch(self, events: Sequence[NewEvent]) -> list[AppendResult]:
        notify = any(e.status == EventStatus.QUEUED for e in events)
        async with self._connection("append") as conn:
            return await ops.insert_batch(conn, events, notify)

    def _after_append(self, events: Sequence[NewEvent]) -> None:
        if any(e.status == EventStatus.QUEUED for e in events):
            self._wake.notify()

    # -- the work queue ----------------------------------------------------------------------

    async def lease(self, request: LeaseRequest) -> list[Event]:
        """Claim due events for ``request.owner`` (see :class:`LeaseRequest`)."""
        caps = dict(request.limits or {})
        wanted = None if request.endpoints is None else list(request.endpoints)
        scoped = {e: c for e, c in caps.items() if wanted is None or e in wanted}
        async with self._connection("lease") as conn:
            if scoped:  # caps are counted and claimed under one transaction's advisory lock
                async with conn.transaction():
                    chosen = await ops.choose_capped(conn, scoped, request)
                    rows = await ops.claim(conn, request, wanted, sorted(caps), chosen)
            else:  # one statement, atomic on its own: no BEGIN and COMMIT round trips
                rows = await ops.claim(conn, request, wanted, sorted(caps), [])
        return [event_from_row(row) for row in sorted(rows, key=lambda r: r["seq"])]

    async def renew(self, owner: str, event_ids: Sequence[str], until: float) -> None:
        """Extend the leases ``owner`` holds on ``event_ids``."""
        async with self._connection() as conn:
            await conn.execute(ops.q("renew"), owner, list(event_ids), until)

    async def finish(self, finish: Finish) -> bool:
        """Record the attempt's outcomes and the event's new status; False if the lease was lost."""
        if self._finisher is None:
            raise StoreUnavailable("store is not open")
        return await self._finisher.submit(finish)

    async def _commit_finishes(self, items: Sequence[Finish]) -> list[bool]:
        # Outcomes of concurrent handlers share one transaction and three statements.
        async with self._transaction("finish") as conn:
            return await ops.finish_many(conn, items)

    async def release(self, event_ids: Sequence[str], owner: str) -> None:
        """Give leases back; the interrupted attempt does not count."""
        async with self._transaction() as conn:
            await conn.execute(ops.q("release"), owner, list(event_ids))
            await conn.execute(ops.q("notify"))
        self._wake.notify()

    async def requeue(self, event_ids: Sequence[str], now: float) -> builtins.list[str]:
        """Make receiver events due now with a fresh attempt count; returns those requeued."""
        async with self._transaction() as conn:
            rows = await conn.fetch(ops.q("requeue"), list(event_ids), now)
            if rows:
                await conn.execute(ops.q("notify"))
        found = {r[0] for r in rows}
        if found:
            self._wake.notify()
        return [i for i in dict.fromkeys(event_ids) if i in found]

    async def arrivals(self, since: float, recent: float) -> dict[str, tuple[int, int]]:
        """Per endpoint, events received since ``since`` and since ``recent``."""
        async with self._connection("read") as conn:
            rows = await conn.fetch(ops.q("arrivals"), since, recent, id_floor(since))
        return {row[0]: (int(row[1]), int(row[2])) for row in rows}

    async def delete(self, event_ids: Sequence[str]) -> builtins.list[str]:
        """Delete events no worker holds (attempts cascade); returns those deleted."""
        async with self._connection() as conn:
            rows = await conn.fetch(ops.q("delete_events"), list(event_ids))
        found = {r[0] for r in rows}
        return [i for i in dict.fromkeys(event_ids) if i in found]

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` done events received before ``before`` (and their attempts)."""
        async with self._connection() as conn:
            return len(await conn.fetch(ops.q("prune"), before, limit))

    # -- pauses ----------------------------------------------------------------------------

    async def pause(self, pause: Pause) -> None:
        """Hold ``pause.endpoint``'s events from this commit on (every process's claims read
        the pause table)."""
        async with self._connection() as conn:
            await conn.execute(
                ops.q("pause"), pause.endpoint, pause.paused_at, pause.expires_at, pause.paused_by
            )

    async def resume(self, endpoint: str, now: float) -> bool:
        """Lift the pause and NOTIFY every process's workers."""
        async with self._transaction() as conn:
            rows = await conn.fetch(ops.q("resume"), endpoint)
            await conn.execute(ops.q("notify"))
        self._wake.notify()
        return any(r[0] is None or r[0] > now for r in rows)

    async def pauses(self, now: float) -> builtins.list[Pause]:
        """The pauses in force at ``now``."""
        async with self._connection() as conn:
            rows = await conn.fetch(ops.q("pauses"), now)
        return [Pause(r[0], r[1], r[2], r[3]) for r in rows]

    # -- rejections ------------------------------------------------------------------------

    async def record_rejections(
        self, rejections: Sequence[Rejection], *, keep: int, before: float
    ) -> None:
        """Commit ``rejections`` (one multi-row insert) and prune by ``keep`` and ``before``."""
        if not rejections:
            return
        columns = list(zip(*(rejection_row(r) for r in rejections), strict=True))
        async with self._transaction() as conn:
            await conn.execute(ops.q("insert_rejection"), *map(list, columns))
            await conn.execute(ops.q("prune_rejections"), before, keep)

    async def rejections(self, filter: RejectionFilter) -> builtins.list[Rejection]:
        """Recorded rejections matching ``filter``, newest first."""
        async with self._connection("read") as conn:
            rows = await conn.fetch(
                ops.q("list_rejections"), *_rejection_args(filter), filter.before_id, filter.limit
            )
        return [rejection_from_row(row) for row in rows]

    async def count_rejections(self, filter: RejectionFilter, cap: int) -> int:
        """Rejections matching ``filter``, counted up to ``cap``."""
        async with self._connection("read") as conn:
            n = await conn.fetchval(ops.q("count_rejections"), *_rejection_args(filter), cap)
        return int(n)

    # -- chat commands ---------------------------------------------------------------------

    async def record_chat_command(
        self, command: ChatCommand, *, keep: int, before: float
    ) -> None:
        """Commit one chat command record and prune by ``keep`` and ``before``."""
        async with self._transaction() as conn:
            await conn.execute(ops.q("insert_chat_command"), *chat_command_row(command))
            await conn.execute(ops.q("prune_chat_commands"), before, keep)

    async def chat_commands(self, filter: ChatCommandFilter) -> builtins.list[ChatCommand]:
        """Recorded chat commands matching ``filter``, newest first."""
        async with self._connection("read") as conn:
            rows = await conn.fetch(
                ops.q("list_chat_commands"), filter.since, filter.platform, filter.limit
            )
        return [chat_command_from_row(row) for row in rows]

    # -- reads -----------------------------------------------------------------------------

    async def get(self, event_id: str) -> Event | None:
        """One event with its attempts and recorded response."""
        async with self._connection("read") as conn, conn.transaction(isolation="repeatable_read"):
            row = await conn.fetchrow(ops.q("get_event"), event_id)
            if row is None:
                return None
            attempts = await conn.fetch(ops.q("get_attempts"), event_id)
        return event_from_row(row, [attempt_from_row(a) for a in attempts])

    async def list(self, filter: EventFilter) -> builtins.list[Event]:
        """Events matching ``filter``, newest first (attempts not loaded)."""
        status = None if filter.status is None else str(filter.status)
        async with self._connection("read") as conn:
            rows = await conn.fetch(
                ops.q("list_events"),
                filter.endpoint,
                status,
                filter.type,
                filter.since,
                filter.before_id,
                filter.limit,
                filter.endpoint_contains,
                filter.type_contains,
                filter.id_prefix,
                filter.until,
            )
        return [event_from_row(row) for row in rows]

    async def count(self, filter: EventFilter, cap: int) -> int:
        """Events matching ``filter``, counted up to ``cap``."""
        status = None if filter.status is None else str(filter.status)
        async with self._connection("read") as conn:
            n = await conn.fetchval(
                ops.q("count_events"),
                filter.endpoint,
                status,
                filter.type,
                filter.since,
                filter.until,
                filter.endpoint_contains,
                filter.type_contains,
                filter.id_prefix,
                cap,
            )
        return int(n)

    async def ids_with_status(self, status: EventStatus, limit: int = 10_000) -> builtins.list[str]:
        """Ids of events in ``status``, oldest first."""
        async with self._connection("read") as conn:
            return [r[0] for r in await conn.fetch(ops.q("ids_with_status"), str(status), limit)]

    async def counts(self) -> dict[EventStatus, int]:
        """Number of events per status (every status present, zero if none)."""
        async with self._connection("read") as conn:
            rows = await conn.fetch(ops.q("counts"))
        counts = dict.fromkeys(EventStatus, 0)
        counts.update({EventStatus(r[0]): r[1] for r in rows})
        return counts

    async def endpoint_counts(self, now: float) -> builtins.list[EndpointCount]:
        """Events per endpoint and status, and when the oldest due one became due."""
        async with self._connection("read") as conn:
            rows = await conn.fetch(ops.q("endpoint_counts"), now)
        return [EndpointCount(r[0], r[1], r[2], r[3]) for r in rows]

    async def next_due(self, now: float) -> float | None:
        """When the next event becomes due (``now`` if one is due already), or None."""
        async with self._connection("read") as conn:
            due: float | None = await conn.fetchval(ops.q("next_due"), now)
        return None if due is None else max(due, now)

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` if the database cannot be reached, or its last commit
        failed moments ago (readiness must not say yes while writes fail)."""
        if self._batcher is not None:
            self._batcher.check_recent()
        async with self._connection("read") as conn:
            await conn.fetchval(ops.q("ping"))


def _rejection_args(filter: RejectionFilter) -> tuple[Any, ...]:
    """The first five parameters of ``list_rejections`` and ``count_rejections``."""
    return (filter.since, filter.until, filter.endpoint, filter.no_endpoint, filter.status)
