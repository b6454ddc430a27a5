"""PostgreSQL statements on one connection: each function is one step of a store verb.

``postgres.py`` owns the pool, the batchers and the wake-ups, and decides where transactions
begin and end; the functions here run the named queries on the connection they are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from hookport.errors import StoreError
from hookport.events import AppendResult, NewEvent
from hookport.store._caps import Candidate, Room, capped_rooms, choose
from hookport.store._queries import query
from hookport.store._rows import INSERT_COLUMNS, dedupe_key, insert_row, merge_done
from hookport.store.base import LEASE_EXPIRED, Finish, LeaseRequest

Conn = asyncpg.Connection | PoolConnectionProxy
LeaseKey = tuple[str, str]  # (event id, lease owner)

CAPS_LOCK_KEY = 0x686F6F6B63617073
"""Held (per transaction) while claiming for capped endpoints: "hookcaps" in ASCII."""
ORDER_LOCK_KEY = 0x686F6F6B6F726472
"""The arrival-order barrier, "hookordr": appends of ordered events hold it shared from before
their seqs are drawn until they commit; claims for ordered endpoints take it exclusively, so
every event with an earlier seq is committed, and visible, when they look."""
_BODY = INSERT_COLUMNS.index("body")


def q(name: str) -> str:
    """The named PostgreSQL query."""
    return query("postgres", name)


def columns(events: Sequence[NewEvent]) -> list[Any]:
    """The parameters of ``insert_events``: one array per column, bodies in one bytea.

    The bodies go as one concatenated value with their lengths, cut apart by the query:
    asyncpg encodes a ``bytea[]`` element by element, about 3x the client CPU of one value
    of the same size, and the bodies are most of what an append sends.
    """
    values: list[Any] = list(zip(*map(insert_row, events), strict=True))
    bodies = values.pop(_BODY)
    return [*values, b"".join(bodies), [len(b) for b in bodies]]


async def insert_batch(conn: Conn, events: Sequence[NewEvent], notify: bool) -> list[AppendResult]:
    """Insert distinct ``events`` in one statement; stored delivery ids make duplicates.

    One statement, its own transaction: committed (and notified, with ``notify``) when it
    returns. Skipped rows lost to a stored delivery id; that row is committed, so it can be
    read afterwards (the insert waited for it if it was in flight).
    """
    if any(e.ordered for e in events):
        async with conn.transaction():
            await conn.execute(q("order_barrier_shared"), ORDER_LOCK_KEY)
            rows = await conn.fetch(q("insert_events"), *columns(events), notify)
    else:
        rows = await conn.fetch(q("insert_events"), *columns(events), notify)
    inserted = {r[0] for r in rows if r[0] is not None}
    skipped = [e for e in events if e.id not in inserted]
    existing: dict[tuple[str, str] | None, str] = {}
    if skipped:
        keys = [e.endpoint for e in skipped], [e.delivery_id for e in skipped]
        for row in await conn.fetch(q("find_duplicates"), *keys):
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


async def choose_capped(conn: Conn, caps: Mapping[str, int], request: LeaseRequest) -> list[int]:
    """The seqs of capped endpoints' events to claim; call inside the claim's transaction.

    Takes the caps lock (and the arrival-order barrier for ordered endpoints) first, so that
    the counts and candidates stay true until the claim commits. Paused endpoints are left
    out (the claim statement leaves out the uncapped ones itself).
    """
    await conn.execute(q("lease_lock_caps"), CAPS_LOCK_KEY)
    if 1 in caps.values():  # after the caps lock: one claimer waits at the barrier at once
        await conn.execute(q("order_barrier"), ORDER_LOCK_KEY)
    paused = {r[0] for r in await conn.fetch(q("lease_paused"), request.now)}
    caps = {name: cap for name, cap in caps.items() if name not in paused}
    live = {r[0]: r[1] for r in await conn.fetch(q("lease_live"), request.now)}
    chosen: list[int] = []
    for room in capped_rooms(caps, live, request.limit):
        chosen += choose(room, await _candidates(conn, room, request.now))
    return chosen


async def _candidates(conn: Conn, room: Room, now: float) -> list[Candidate]:
    """The events of a capped endpoint that :func:`choose` picks from, oldest first."""
    if room.ordered:
        first = await conn.fetchrow(q("lease_first_pending"), room.endpoint, now)
        return [] if first is None else [Candidate(first["seq"], first["due"])]
    rows = await conn.fetch(q("lease_capped"), room.endpoint, now, room.room)
    return [Candidate(r[0], True) for r in rows]


async def claim(
    conn: Conn,
    request: LeaseRequest,
    wanted: list[str] | None,
    capped: list[str],
    chosen: list[int],
) -> list[asyncpg.Record]:
    """Lease due events of uncapped endpoints plus the ``chosen`` seqs of capped ones."""
    return await conn.fetch(
        q("lease_claim"),
        request.now,
        wanted,
        capped,
        request.limit,
        chosen,
        request.owner,
        request.now + request.lease_seconds,
        LEASE_EXPIRED,
    )


async def finish_many(conn: Conn, items: Sequence[Finish]) -> list[bool]:
    """Outcome writes in the caller's transaction; False where the lease was lost.

    Three statements for the whole batch: lock the leases still held, insert every attempt,
    update every event.
    """
    leases = await _lock_leases(conn, items)
    kept = kept_finishes(items, leases)
    rows = [(items[i], leases[items[i].event_id, items[i].owner]) for i in kept]
    await _insert_attempts(conn, rows)
    await _finish_events(conn, rows)
    chosen = set(kept)
    return [i in chosen for i in range(len(items))]


def kept_finishes(items: Sequence[Finish], leases: Mapping[LeaseKey, object]) -> list[int]:
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


async def _lock_leases(conn: Conn, items: Sequence[Finish]) -> dict[LeaseKey, asyncpg.Record]:
    """Lock the events whose lease their item's owner still holds: ``{(id, owner): row}``."""
    pairs = list(dict.fromkeys((item.event_id, item.owner) for item in items))
    rows = await conn.fetch(q("lookup_leases"), [p[0] for p in pairs], [p[1] for p in pairs])
    return {(row["id"], row["lease_owner"]): row for row in rows}


async def _insert_attempts(conn: Conn, kept: Sequence[tuple[Finish, asyncpg.Record]]) -> None:
    """One row per outcome of every kept item, in order, tagged with the lease's attempt."""
    tagged = [(item.event_id, row["attempt"], o) for item, row in kept for o in item.outcomes]
    if not tagged:
        return
    replays = [row["replays"] for item, row in kept for _ in item.outcomes]
    await conn.execute(
        q("insert_attempts"),
        [event_id for event_id, _, _ in tagged],
        [attempt for _, attempt, _ in tagged],
        [o.handler for _, _, o in tagged],
        [o.ok for _, _, o in tagged],
        [o.started_at for _, _, o in tagged],
        [o.finished_at for _, _, o in tagged],
        [o.error for _, _, o in tagged],
        [o.traceback for _, _, o in tagged],
        replays,
    )


async def _finish_events(conn: Conn, kept: Sequence[tuple[Finish, asyncpg.Record]]) -> None:
    """Set the new status of every kept item's event and drop its lease."""
    if not kept:
        return
    await conn.execute(
        q("finish"),
        [item.event_id for item, _ in kept],
        [str(item.status) for item, _ in kept],
        [item.next_attempt_at for item, _ in kept],
        [item.error for item, _ in kept],
        [merge_done(row["done_handlers"], item.outcomes) for item, row in kept],
    )
