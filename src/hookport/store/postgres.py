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
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hookport.errors import StoreError, StoreUnavailable
from hookport.events import AppendResult, Event, EventStatus, NewEvent
from hookport.store import migrate
from hookport.store._batch import Batcher, GroupCommit, Wakeup
from hookport.store._caps import Candidate, Room, capped_rooms, choose
from hookport.store._pgconn import Listener, driver_errors
from hookport.store._queries import query
from hookport.store._rows import (
    INSERT_COLUMNS,
    attempt_from_row,
    dedupe_key,
    event_from_row,
    insert_row,
    merge_done,
)
from hookport.store.base import EventFilter, Finish, LeaseRequest

log = logging.getLogger("hookport.store")

Conn = asyncpg.Connection | PoolConnectionProxy
LeaseKey = tuple[str, str]  # (event id, lease owner)

CHANNEL = "hookport_events"
# Held (per transaction) while claiming capped endpoints: "hookcaps" in ASCII.
CAPS_LOCK_KEY = 0x686F6F6B63617073
# The arrival-order barrier, "hookordr": appends of ordered events hold it shared from before
# their seqs are drawn until they commit; claims for ordered endpoints take it exclusively,
# so every event with an earlier seq is committed, and visible, when they look.
ORDER_LOCK_KEY = 0x686F6F6B6F726472
_BODY = INSERT_COLUMNS.index("body")


def _q(name: str) -> str:
    return query("postgres", name)


def _columns(events: Sequence[NewEvent]) -> list[Any]:
    """The parameters of ``insert_events``: one array per column, bodies in one bytea.

    The bodies go as one concatenated value with their lengths, cut apart by the query:
    asyncpg encodes a ``bytea[]`` element by element, about 3x the client CPU of one value
    of the same size, and the bodies are most of what an append sends.
    """
    columns: list[Any] = list(zip(*map(insert_row, events), strict=True))
    bodies = columns.pop(_BODY)
    return [*columns, b"".join(bodies), [len(b) for b in bodies]]


def _kept_finishes(items: Sequence[Finish], leases: Mapping[LeaseKey, object]) -> list[int]:
    """Indexes of the items that take effect, as if the batch ran one item after another.

    An item takes effect when its owner holds the event's lease (``leases``: the leases found).
    Finishing drops the lease, so when one event appears several times in a batch only its
    first item from the lease owner takes effect; the others change nothing, as they would
    have one after another.
    """
    kept: list[int] = []
    finished: set[str] = set()
    for index, item in enumerate(items):
        if (item.event_id, item.owner) in leases and item.event_id not in finished:
            finished.add(item.event_id)
            kept.append(index)
    return kept


async def _candidates(conn: Conn, room: Room, now: float) -> list[Candidate]:
    """The events of a capped endpoint that :func:`choose` picks from, oldest first."""
    if room.ordered:
        first = await conn.fetchrow(_q("lease_first_pending"), room.endpoint, now)
        return [] if first is None else [Candidate(first["seq"], first["due"])]
    rows = await conn.fetch(_q("lease_capped"), room.endpoint, now, room.room)
    return [Candidate(r[0], True) for r in rows]


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
    ) -> None:
        """``dsn``: a libpq URL; extra query parameters become server settings."""
        self._dsn = dsn
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
            if await conn.fetchval(_q("autovacuum_on")) is False:
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
        )
        self._batcher.start()
        self._finisher = Batcher(  # two batches in flight: one commits while the next locks
            self._commit_finishes,
            batch_max=self._batch_max,
            name="hookport-postgres-outcomes",
            max_inflight=2,
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

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Conn]:
        if self._pool is None:
            raise StoreUnavailable("store is not open")
        with driver_errors():
            async with self._pool.acquire(timeout=self._connect_timeout + 1) as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Conn]:
        async with self._connection() as conn, conn.transaction():
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
        # One statement, its own transaction: committed (and notified) when fetch returns.
        # Skipped rows lost to a stored delivery id; that row is committed, so it can be read
        # afterwards (the insert waited for it if it was in flight).
        notify = any(e.status == EventStatus.QUEUED for e in events)
        async with self._connection() as conn:
            if any(e.ordered for e in events):
                async with conn.transaction():
                    await conn.execute(_q("order_barrier_shared"), ORDER_LOCK_KEY)
                    rows = await conn.fetch(_q("insert_events"), *_columns(events), notify)
            else:
                rows = await conn.fetch(_q("insert_events"), *_columns(events), notify)
            inserted = {r[0] for r in rows if r[0] is not None}
            skipped = [e for e in events if e.id not in inserted]
            existing: dict[tuple[str, str] | None, str] = {}
            if skipped:
                keys = [e.endpoint for e in skipped], [e.delivery_id for e in skipped]
                for row in await conn.fetch(_q("find_duplicates"), *keys):
                    existing[(row[0], row[1])] = row[2]
        results = []
        for event in events:
            if event.id in inserted:
                results.append(AppendResult(event.id, duplicate=False))
            elif dedupe_key(event) in existing:
                results.append(AppendResult(existing[dedupe_key(event)], duplicate=True))
            else:  # an id collision, not a duplicate delivery: never acknowledge it
                raise StoreError(f"event {event.id} was not stored")
        return results

    def _after_append(self, events: Sequence[NewEvent]) -> None:
        if any(e.status == EventStatus.QUEUED for e in events):
            self._wake.notify()

    # -- the work queue ----------------------------------------------------------------------

    async def lease(self, request: LeaseRequest) -> list[Event]:
        """Claim due events for ``request.owner`` (see :class:`LeaseRequest`)."""
        caps = dict(request.limits or {})
        wanted = None if request.endpoints is None else list(request.endpoints)
        scoped = {e: c for e, c in caps.items() if wanted is None or e in wanted}
        async with self._connection() as conn:
            if scoped:  # caps are counted and claimed under one transaction's advisory lock
                async with conn.transaction():
                    chosen = await self._choose_capped(conn, scoped, request)
                    rows = await self._claim(conn, request, wanted, sorted(caps), chosen)
            else:  # one statement, atomic on its own: no BEGIN and COMMIT round trips
                rows = await self._claim(conn, request, wanted, sorted(caps), [])
        return [event_from_row(row) for row in sorted(rows, key=lambda r: r["seq"])]

    @staticmethod
    async def _claim(
        conn: Conn,
        request: LeaseRequest,
        wanted: builtins.list[str] | None,
        capped: builtins.list[str],
        chosen: builtins.list[int],
    ) -> builtins.list[asyncpg.Record]:
        """Lease due events of uncapped endpoints plus the ``chosen`` seqs of capped ones."""
        return await conn.fetch(
            _q("lease_claim"),
            request.now,
            wanted,
            capped,
            request.limit,
            chosen,
            request.owner,
            request.now + request.lease_seconds,
        )

    @staticmethod
    async def _choose_capped(conn: Conn, caps: dict[str, int], request: LeaseRequest) -> list[int]:
        await conn.execute(_q("lease_lock_caps"), CAPS_LOCK_KEY)
        if 1 in caps.values():  # after the caps lock: one claimer waits at the barrier at once
            await conn.execute(_q("order_barrier"), ORDER_LOCK_KEY)
        live = {r[0]: r[1] for r in await conn.fetch(_q("lease_live"), request.now)}
        chosen: list[int] = []
        for room in capped_rooms(caps, live, request.limit):
            chosen += choose(room, await _candidates(conn, room, request.now))
        return chosen

    async def renew(self, owner: str, event_ids: Sequence[str], until: float) -> None:
        """Extend the leases ``owner`` holds on ``event_ids``."""
        async with self._connection() as conn:
            await conn.execute(_q("renew"), owner, list(event_ids), until)

    async def finish(self, finish: Finish) -> bool:
        """Record the attempt's outcomes and the event's new status; False if the lease was lost."""
        if self._finisher is None:
            raise StoreUnavailable("store is not open")
        return await self._finisher.submit(finish)

    async def _commit_finishes(self, items: Sequence[Finish]) -> list[bool]:
        # Outcomes of concurrent handlers share one transaction and three statements: lock the
        # leases still held, insert every attempt, update every event.
        async with self._transaction() as conn:
            leases = await self._lock_leases(conn, items)
            kept = _kept_finishes(items, leases)
            rows = [(items[i], leases[items[i].event_id, items[i].owner]) for i in kept]
            await self._insert_attempts(conn, rows)
            await self._finish_events(conn, rows)
        chosen = set(kept)
        return [i in chosen for i in range(len(items))]

    @staticmethod
    async def _lock_leases(conn: Conn, items: Sequence[Finish]) -> dict[LeaseKey, asyncpg.Record]:
        """Lock the events whose lease their item's owner still holds: ``{(id, owner): row}``."""
        pairs = list(dict.fromkeys((item.event_id, item.owner) for item in items))
        rows = await conn.fetch(_q("lookup_leases"), [p[0] for p in pairs], [p[1] for p in pairs])
        return {(row["id"], row["lease_owner"]): row for row in rows}

    @staticmethod
    async def _insert_attempts(conn: Conn, kept: Sequence[tuple[Finish, asyncpg.Record]]) -> None:
        """One row per outcome of every kept item, in order, tagged with the lease's attempt."""
        tagged = [(item.event_id, row["attempt"], o) for item, row in kept for o in item.outcomes]
        if not tagged:
            return
        await conn.execute(
            _q("insert_attempts"),
            [event_id for event_id, _, _ in tagged],
            [attempt for _, attempt, _ in tagged],
            [o.handler for _, _, o in tagged],
            [o.ok for _, _, o in tagged],
            [o.started_at for _, _, o in tagged],
            [o.finished_at for _, _, o in tagged],
            [o.error for _, _, o in tagged],
            [o.traceback for _, _, o in tagged],
        )

    @staticmethod
    async def _finish_events(conn: Conn, kept: Sequence[tuple[Finish, asyncpg.Record]]) -> None:
        """Set the new status of every kept item's event and drop its lease."""
        if not kept:
            return
        await conn.execute(
            _q("finish"),
            [item.event_id for item, _ in kept],
            [str(item.status) for item, _ in kept],
            [item.next_attempt_at for item, _ in kept],
            [item.error for item, _ in kept],
            [merge_done(row["done_handlers"], item.outcomes) for item, row in kept],
        )

    async def release(self, event_ids: Sequence[str], owner: str) -> None:
        """Give leases back; the interrupted attempt does not count."""
        async with self._transaction() as conn:
            await conn.execute(_q("release"), owner, list(event_ids))
            await conn.execute(_q("notify"))
        self._wake.notify()

    async def requeue(self, event_ids: Sequence[str], now: float) -> builtins.list[str]:
        """Make receiver events due now with a fresh attempt count; returns those requeued."""
        async with self._transaction() as conn:
            rows = await conn.fetch(_q("requeue"), list(event_ids), now)
            if rows:
                await conn.execute(_q("notify"))
        found = {r[0] for r in rows}
        if found:
            self._wake.notify()
        return [i for i in dict.fromkeys(event_ids) if i in found]

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` done events received before ``before`` (and their attempts)."""
        async with self._connection() as conn:
            return len(await conn.fetch(_q("prune"), before, limit))

    # -- reads -----------------------------------------------------------------------------

    async def get(self, event_id: str) -> Event | None:
        """One event with its attempts and recorded response."""
        async with self._connection() as conn, conn.transaction(isolation="repeatable_read"):
            row = await conn.fetchrow(_q("get_event"), event_id)
            if row is None:
                return None
            attempts = await conn.fetch(_q("get_attempts"), event_id)
        return event_from_row(row, [attempt_from_row(a) for a in attempts])

    async def list(self, filter: EventFilter) -> builtins.list[Event]:
        """Events matching ``filter``, newest first (attempts not loaded)."""
        status = None if filter.status is None else str(filter.status)
        async with self._connection() as conn:
            rows = await conn.fetch(
                _q("list_events"),
                filter.endpoint,
                status,
                filter.type,
                filter.since,
                filter.before_id,
                filter.limit,
            )
        return [event_from_row(row) for row in rows]

    async def ids_with_status(self, status: EventStatus, limit: int = 10_000) -> builtins.list[str]:
        """Ids of events in ``status``, oldest first."""
        async with self._connection() as conn:
            return [r[0] for r in await conn.fetch(_q("ids_with_status"), str(status), limit)]

    async def counts(self) -> dict[EventStatus, int]:
        """Number of events per status (every status present, zero if none)."""
        async with self._connection() as conn:
            rows = await conn.fetch(_q("counts"))
        counts = dict.fromkeys(EventStatus, 0)
        counts.update({EventStatus(r[0]): r[1] for r in rows})
        return counts

    async def next_due(self, now: float) -> float | None:
        """When the next event becomes due (``now`` if one is due already), or None."""
        async with self._connection() as conn:
            due: float | None = await conn.fetchval(_q("next_due"), now)
        return None if due is None else max(due, now)

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` if the database cannot be reached."""
        async with self._connection() as conn:
            await conn.fetchval(_q("ping"))
