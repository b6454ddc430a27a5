"""PostgreSQL specifics: migration drift and concurrency, NOTIFY wake-ups, outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from hookport.config import StoreSettings
from hookport.errors import StoreUnavailable
from hookport.events import EventStatus, HandlerOutcome, NewEvent
from hookport.store import _postgres_ops as pg_ops
from hookport.store import migrate
from hookport.store._queries import query
from hookport.store.base import EventFilter, Finish, LeaseRequest
from hookport.store.postgres import PostgresStore

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

EventFactory = Callable[..., NewEvent]
EXPECTED = Path(__file__).parent / "schema" / "postgres.txt"


async def pg_schema(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, column_default, is_identity "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "ORDER BY table_name, ordinal_position"
        )
        indexes = await conn.fetch(
            "SELECT indexname, replace(indexdef, current_schema() || '.', '') FROM pg_indexes "
            "WHERE schemaname = current_schema() ORDER BY indexname"
        )
        constraints = await conn.fetch(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint "
            "WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) "
            "ORDER BY 1, 2"
        )
    finally:
        await conn.close()
    lines = ["-- columns", *(" | ".join(str(v) for v in row) for row in columns)]
    lines += ["-- indexes", *(" | ".join(row) for row in indexes)]
    lines += ["-- constraints", *(" | ".join(row) for row in constraints)]
    return "\n".join(lines) + "\n"


async def test_migrations_give_the_checked_in_schema(pg_schema_dsn: str) -> None:
    import os

    conn = await asyncpg.connect(pg_schema_dsn)
    try:
        applied = await migrate.postgres_migrate(conn)
        assert [m.version for m in applied] == [m.version for m in migrate.migrations("postgres")]
        assert await migrate.postgres_migrate(conn) == []
        assert (await migrate.postgres_status(conn)).up_to_date
    finally:
        await conn.close()
    actual = await pg_schema(pg_schema_dsn)
    if os.environ.get("HOOKPORT_UPDATE_SCHEMA") == "1":
        EXPECTED.write_text(actual)
    assert actual == EXPECTED.read_text(), "schema differs: edit it only through a migration"
    status = await migrate.status(StoreSettings(url=pg_schema_dsn))
    assert status.up_to_date


async def test_stores_opening_at_once_migrate_once(pg_schema_dsn: str) -> None:
    stores = [PostgresStore(pg_schema_dsn, pool_size=2) for _ in range(4)]
    try:
        await asyncio.gather(*(s.open() for s in stores))
    finally:
        for s in stores:
            await s.close()
    assert await pg_schema(pg_schema_dsn) == EXPECTED.read_text()


async def test_open_warns_exactly_when_autovacuum_is_off(
    pg_schema_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    conn = await asyncpg.connect(pg_schema_dsn)
    try:
        autovacuum = await conn.fetchval("SHOW autovacuum")
    finally:
        await conn.close()
    store = PostgresStore(pg_schema_dsn)
    with caplog.at_level(logging.WARNING, logger="hookport.store"):
        await store.open()
    await store.close()
    warned = [r for r in caplog.records if "autovacuum is off" in r.getMessage()]
    assert len(warned) == (1 if autovacuum == "off" else 0)


async def test_index_diet_upgrades_a_database_with_events(
    pg_schema_dsn: str, make_event: EventFactory, t0: float
) -> None:
    events = [make_event() for _ in range(4)]
    conn = await asyncpg.connect(pg_schema_dsn)
    try:  # a database at version 2, with events in several states, as the previous release left it
        await conn.execute(query("postgres", "create_migrations_table"))
        for old in migrate.migrations("postgres")[:2]:
            await conn.execute(old.sql)
            await conn.execute(query("postgres", "record_migration"), old.version, old.name, t0)
        # The columns of version 2 (today's insert_events writes columns added later).
        await conn.executemany(
            "INSERT INTO events (id, kind, plugin, endpoint, received_at, method, path, body,"
            " status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                (e.id, e.kind, e.plugin, e.endpoint, e.received_at, e.method, e.path, e.body, "queued")
                for e in events
            ],
        )
        states = ["done", "dead", "retrying"]
        for event, status in zip(events, states, strict=False):
            await conn.execute(
                "UPDATE events SET status = $2, attempt = 1, next_attempt_at = $3 WHERE id = $1",
                event.id,
                status,
                t0 if status == "retrying" else None,
            )
        assert await conn.fetchval("SELECT to_regclass('events_due') IS NOT NULL")
    finally:
        await conn.close()
    store = PostgresStore(pg_schema_dsn)
    await store.open()  # applies the index diet
    try:
        counts = await store.counts()
        assert {s.value: n for s, n in counts.items() if n} == {
            "done": 1,
            "dead": 1,
            "retrying": 1,
            "queued": 1,
        }
        assert await store.ids_with_status(EventStatus.DEAD) == [events[1].id]
        assert await store.next_due(t0 - 10) == t0 - 10  # the queued one is due
        leased = await store.lease(LeaseRequest("w", 10, 60, t0))
        assert [e.id for e in leased] == [events[2].id, events[3].id]  # retrying, queued
    finally:
        await store.close()
    assert await pg_schema(pg_schema_dsn) == EXPECTED.read_text()


async def test_notify_wakes_a_worker_in_another_process(
    pg_schema_dsn: str, make_event: EventFactory
) -> None:
    ingest, worker = PostgresStore(pg_schema_dsn), PostgresStore(pg_schema_dsn)
    await ingest.open()
    await worker.open()
    try:
        await asyncio.wait_for(worker.listening.wait(), 10)
        await worker.wait_for_work(0)  # consume the wake-up of connecting
        waiter = asyncio.ensure_future(worker.wait_for_work(timeout=60))
        await ingest.append(make_event())
        await asyncio.wait_for(waiter, timeout=10)
    finally:
        await ingest.close()
        await worker.close()


async def test_unreachable_server_is_unavailable_quickly(make_event: EventFactory) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = PostgresStore(f"postgresql://postgres@127.0.0.1:{port}/x", connect_timeout=1)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.open()
    with pytest.raises(StoreUnavailable):
        await migrate.status(StoreSettings(url=f"postgresql://postgres@127.0.0.1:{port}/x"))
    assert time.monotonic() - started < 10


async def test_one_outcome_batch_runs_as_if_item_by_item(
    pg_schema_dsn: str, make_event: EventFactory, t0: float
) -> None:
    store = PostgresStore(pg_schema_dsn)
    await store.open()
    try:
        ids = [(await store.append(make_event())).id for _ in range(3)]
        assert len(await store.lease(LeaseRequest("w", 3, 60, t0))) == 3

        def ok(handler: str) -> HandlerOutcome:
            return HandlerOutcome(handler, ok=True, started_at=t0, finished_at=t0 + 1)

        def finish(eid: str, owner: str, *handlers: str) -> Finish:
            outcomes = [ok(h) for h in handlers]
            return Finish.done(eid, owner, outcomes)

        batch = [
            finish(ids[0], "intruder", "x"),  # not the lease owner
            finish(ids[0], "w", "a", "b"),  # takes effect
            finish(ids[0], "w", "c"),  # the lease is gone by then
            finish("f" * 32, "w", "a"),  # no such event
            finish(ids[1], "w"),  # no outcomes
            finish(ids[2], "w", "b", "a"),
        ]
        assert await store._commit_finishes(batch) == [False, True, False, False, True, True]
        events = [await store.get(eid) for eid in ids]
        assert [e.status if e else None for e in events] == [EventStatus.DONE] * 3
        assert [[a.handler for a in e.attempts] if e else None for e in events] == [
            ["a", "b"],
            [],
            ["b", "a"],
        ]
        assert [e.done_handlers if e else None for e in events] == [{"a", "b"}, set(), {"a", "b"}]
    finally:
        await store.close()


class Proxy:
    """A TCP proxy in front of PostgreSQL that can be cut and restored (a simulated outage)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.transport.abort()


@pytest.fixture
async def proxy(pg_schema_dsn: str) -> AsyncIterator[tuple[Proxy, str]]:
    parts = urlsplit(pg_schema_dsn)
    proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    netloc = parts.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{proxy.port}"
    yield proxy, urlunsplit(parts._replace(netloc=netloc))
    await proxy.cut()


async def test_outage_is_unavailable_then_recovers(
    proxy: tuple[Proxy, str], make_event: EventFactory, t0: float
) -> None:
    server, dsn = proxy
    store = PostgresStore(dsn, connect_timeout=1, command_timeout=3)
    await store.open()
    try:
        await asyncio.wait_for(store.listening.wait(), 10)
        first = await store.append(make_event())
        await server.cut()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.append(make_event(delivery_id="during"))
        with pytest.raises(StoreUnavailable):
            await store.lease(LeaseRequest("w", 10, 60, t0))
        with pytest.raises(StoreUnavailable):
            await store.ping()
        assert time.monotonic() - started < 15
        await asyncio.wait_for(store.wait_for_work(0.05), 5)  # polling still works
        await server.start()  # the server is back, same address
        again = await store.append(make_event(delivery_id="during"))
        assert not again.duplicate
        assert {e.id for e in await store.list(EventFilter())} == {first.id, again.id}
        await asyncio.wait_for(store.listening.wait(), 10)  # LISTEN reconnected
    finally:
        await store.close()


async def test_an_ordered_claim_waits_for_an_earlier_append_still_committing(
    pg_schema_dsn: str, make_event: EventFactory, t0: float
) -> None:
    # Two ingest nodes: the first drew its seq but has not committed when the second's later
    # event commits. A claim for the ordered endpoint must not run the later one first.
    first = make_event("ordered", ordered=True)
    second = make_event("ordered", ordered=True)
    store = PostgresStore(pg_schema_dsn)
    await store.open()
    node = await asyncpg.connect(pg_schema_dsn)
    try:
        committing = node.transaction()
        await committing.start()
        await node.execute(query("postgres", "order_barrier_shared"), pg_ops.ORDER_LOCK_KEY)
        await node.fetch(query("postgres", "insert_events"), *pg_ops.columns([first]), True)
        assert not (await store.append(second)).duplicate

        claim = asyncio.ensure_future(
            store.lease(LeaseRequest("w", 10, 60, t0, limits={"ordered": 1}))
        )
        await _until_waiting_for_a_lock(node)  # the claim is held at the barrier
        assert not claim.done()
        await committing.commit()
        leased = await asyncio.wait_for(claim, 10)
        assert [e.id for e in leased] == [first.id]
    finally:
        await node.close()
        await store.close()


async def _until_waiting_for_a_lock(conn: asyncpg.Connection) -> None:
    """Return once another session waits for an advisory lock (polled: a condition, bounded)."""
    deadline = time.monotonic() + 10
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    while not await conn.fetchval(waiting):
        assert time.monotonic() < deadline, "the claim never waited at the order barrier"
        await asyncio.sleep(0.01)
