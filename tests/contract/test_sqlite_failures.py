"""SQLite: a store that cannot commit answers StoreUnavailable promptly, then recovers."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from hookport.errors import StoreUnavailable
from hookport.events import NewEvent
from hookport.store.base import EventFilter
from hookport.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

EventFactory = Callable[..., NewEvent]


@pytest.fixture
async def connections(
    tmp_path: Path,
) -> AsyncIterator[tuple[SqliteStore, list[sqlite3.Connection]]]:
    """A store with a short busy timeout, and its connections (writer first)."""
    seen: list[sqlite3.Connection] = []
    store = SqliteStore(tmp_path / "h.db", busy_timeout=0.2, on_connect=seen.append)
    await store.open()
    yield store, seen
    await store.close()


async def test_locked_database_fails_fast_and_recovers(
    connections: tuple[SqliteStore, list[sqlite3.Connection]], make_event: EventFactory
) -> None:
    store, _ = connections
    blocker = sqlite3.connect(store.path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as info:
            await store.append(make_event(delivery_id="d1"))
        assert time.monotonic() - started < 5
        assert info.value.retry_after > 0  # ingest answers 503 with this Retry-After
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()
    result = await store.append(make_event(delivery_id="d1"))
    assert not result.duplicate  # the refused delivery was not stored
    assert [e.id for e in await store.list(EventFilter())] == [result.id]


async def test_disk_full_fails_the_whole_batch_then_recovers(
    connections: tuple[SqliteStore, list[sqlite3.Connection]], make_event: EventFactory
) -> None:
    store, seen = connections
    writer = seen[0]
    await store.append(make_event())
    # Simulate SQLITE_FULL: cap the file at its current size (the store is idle meanwhile).
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")
    big = [make_event(body=b"x" * 200_000) for _ in range(5)]
    results = await asyncio.gather(*(store.append(e) for e in big), return_exceptions=True)
    assert all(isinstance(r, StoreUnavailable) for r in results)
    assert len(await store.list(EventFilter())) == 1
    writer.execute("PRAGMA max_page_count = 1073741823")
    stored = await asyncio.gather(*(store.append(e) for e in big))
    assert not any(r.duplicate for r in stored)
    assert len(await store.list(EventFilter())) == 6
    await store.ping()


async def test_readiness_fails_while_commits_fail_though_reads_work(
    connections: tuple[SqliteStore, list[sqlite3.Connection]], make_event: EventFactory
) -> None:
    store, seen = connections
    writer = seen[0]
    await store.append(make_event())
    await store.ping()
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    writer.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    with pytest.raises(StoreUnavailable):
        await store.append(make_event(body=b"x" * 200_000))
    assert len(await store.list(EventFilter())) == 1  # reads still work...
    with pytest.raises(StoreUnavailable, match="the last commit failed"):
        await store.ping()  # ...but /_hookport/ready must say no
    writer.execute("PRAGMA max_page_count = 1073741823")
    await store.append(make_event())  # the next commit decides
    await store.ping()


async def test_operations_on_a_closed_store_are_unavailable(
    tmp_path: Path, make_event: EventFactory
) -> None:
    store = SqliteStore(tmp_path / "h.db")
    with pytest.raises(StoreUnavailable):
        await store.append(make_event())
    await store.open()
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()
    await store.close()  # idempotent
