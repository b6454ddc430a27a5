"""SQLite work done on a connection's own thread: each function is one step of a transaction.

``sqlite.py`` runs these through its single-thread executors; nothing here touches the loop.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from hookport.events import AppendResult, Event, NewEvent
from hookport.store._caps import Candidate, Room, capped_rooms, choose
from hookport.store._queries import query
from hookport.store._rows import (
    INSERT_COLUMNS,
    attempt_from_row,
    chat_command_row,
    dedupe_key,
    event_from_row,
    insert_row,
    merge_done,
    rejection_row,
)
from hookport.store.base import LEASE_EXPIRED, ChatCommand, Finish, LeaseRequest, Rejection

log = logging.getLogger("hookport.store")

T = TypeVar("T")
Connection = sqlite3.Connection


def q(name: str) -> str:
    """The named SQLite query."""
    return query("sqlite", name)


def ids_json(ids: Sequence[str]) -> str:
    """A list of ids as JSON text, for ``json_each``."""
    return json.dumps(list(ids))


def transaction(conn: Connection, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(conn, *args)`` inside ``BEGIN IMMEDIATE`` ... ``COMMIT``."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn, *args)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:  # the original error is the one to report
                log.warning("rollback failed: %s", exc)
        raise
    return result


def execute(conn: Connection, sql: str, params: dict[str, Any]) -> None:
    conn.execute(sql, params)


def fetchall(conn: Connection, sql: str, params: dict[str, Any]) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


def insert_batch(conn: Connection, events: Sequence[NewEvent]) -> list[AppendResult]:
    keys = [[e.endpoint, e.delivery_id] for e in events if e.delivery_id is not None]
    existing: dict[tuple[str, str], str] = {}
    if keys:
        for row in conn.execute(q("find_duplicates"), {"keys": json.dumps(keys)}):
            existing[(row[0], row[1])] = row[2]
    results: list[AppendResult] = []
    fresh: list[tuple[Any, ...]] = []
    bodies: list[tuple[int, bytes]] = []
    seq = conn.execute(q("last_seq")).fetchone()[0]  # under this transaction's write lock
    for event in events:
        key = dedupe_key(event)
        if key is not None and key in existing:
            results.append(AppendResult(existing[key], duplicate=True))
            continue
        seq += 1
        row = insert_row(event)
        fresh.append((seq, *row[:_BODY], *row[_BODY + 1 :]))
        bodies.append((seq, event.body))
        results.append(AppendResult(event.id, duplicate=False))
    conn.executemany(q("insert_event"), fresh)
    conn.executemany(q("insert_body"), bodies)
    return results


_BODY = INSERT_COLUMNS.index("body")
"""Where :func:`insert_row` puts the body: SQLite keeps it in ``event_bodies`` (0008)."""


def lease(conn: Connection, request: LeaseRequest) -> list[Event]:
    """Claim due events for ``request`` in the caller's transaction, oldest first.

    Paused endpoints are read first, in the same transaction, and left out. While any is
    paused, each named endpoint is scanned on its own (``lease_capped``): one arrival-order
    walk would read a paused endpoint's whole backlog, on every lease, to skip it.
    """
    now, caps = request.now, dict(request.limits or {})
    paused = {row[0] for row in conn.execute(q("lease_paused"), {"now": now})}
    wanted = None if request.endpoints is None else set(request.endpoints) - paused
    caps = {name: cap for name, cap in caps.items() if name not in paused}
    live = dict(conn.execute(q("lease_live"), {"now": now}).fetchall()) if caps else {}
    picked: list[int] = []
    for room in capped_rooms(caps, live, request.limit, wanted):
        picked += choose(room, _candidates(conn, room, now))
    if paused and wanted is not None:
        for endpoint in sorted(wanted - caps.keys()):
            params = {"endpoint": endpoint, "now": now, "limit": request.limit}
            picked += [row[0] for row in conn.execute(q("lease_capped"), params)]
    else:
        free = {
            "now": now,
            "endpoints": None if wanted is None else ids_json(sorted(wanted)),
            "excluded": ids_json(sorted(caps.keys() | paused)),
            "limit": request.limit,
        }
        picked += [row[0] for row in conn.execute(q("lease_free"), free)]
    picked = sorted(picked)[: request.limit]
    if not picked:
        return []
    claim = {
        "seqs": json.dumps(picked),
        "owner": request.owner,
        "until": now + request.lease_seconds,
        "expired": LEASE_EXPIRED,
    }
    rows = conn.execute(q("lease_claim"), claim).fetchall()
    rows.sort(key=lambda row: row["seq"])
    return [event_from_row(row) for row in rows]


def _candidates(conn: Connection, room: Room, now: float) -> list[Candidate]:
    """The events of a capped endpoint that :func:`choose` picks from, oldest first."""
    if room.ordered:
        params = {"endpoint": room.endpoint, "now": now}
        row = conn.execute(q("lease_first_pending"), params).fetchone()
        return [] if row is None else [Candidate(row["seq"], bool(row["due"]))]
    params = {"endpoint": room.endpoint, "now": now, "limit": room.room}
    return [Candidate(row[0], True) for row in conn.execute(q("lease_capped"), params)]


def finish(conn: Connection, item: Finish) -> bool:
    """One outcome write in the caller's transaction; False if the lease was lost."""
    event_id, outcomes = item.event_id, item.outcomes
    row = conn.execute(q("lookup_lease"), {"id": event_id, "owner": item.owner}).fetchone()
    if row is None:
        return False
    conn.executemany(
        q("insert_attempt"),
        [
            {
                "event_id": event_id,
                "attempt": row["attempt"],
                "replay": row["replays"],
                "handler": o.handler,
                "ok": int(o.ok),
                "started_at": o.started_at,
                "finished_at": o.finished_at,
                "error": o.error,
                "traceback": o.traceback,
            }
            for o in outcomes
        ],
    )
    conn.execute(
        q("finish"),
        {
            "id": event_id,
            "status": str(item.status),
            "next_attempt_at": item.next_attempt_at,
            "error": item.error,
            "done_handlers": merge_done(row["done_handlers"], outcomes),
        },
    )
    return True


def finish_many(conn: Connection, items: Sequence[Finish]) -> list[bool]:
    """Several outcome writes in the caller's transaction; False where the lease was lost."""
    return [finish(conn, item) for item in items]


def record_rejections(
    conn: Connection, rejections: Sequence[Rejection], keep: int, before: float
) -> None:
    """Insert rejections, then prune to the newest ``keep`` received at or after ``before``."""
    columns = ("at", "method", "path", "endpoint", "status", "reason", "source_ip",
               "header_names", "body_size")  # fmt: skip
    rows = [dict(zip(columns, rejection_row(r), strict=True)) for r in rejections]
    conn.executemany(q("insert_rejection"), rows)
    conn.execute(q("prune_rejections"), {"before": before, "keep": keep})


def record_chat_command(conn: Connection, command: ChatCommand, keep: int, before: float) -> None:
    """Insert one chat command record, then prune to the newest ``keep`` made at or after
    ``before``."""
    columns = ("at", "platform", "user", "channel", "command", "result", "summary")
    conn.execute(
        q("insert_chat_command"), dict(zip(columns, chat_command_row(command), strict=True))
    )
    conn.execute(q("prune_chat_commands"), {"before": before, "keep": keep})


def resume(conn: Connection, endpoint: str, now: float) -> bool:
    """Delete the pause of ``endpoint``; whether one was in force at ``now``."""
    rows = conn.execute(q("resume"), {"endpoint": endpoint}).fetchall()
    return any(row[0] is None or row[0] > now for row in rows)


def requeue(conn: Connection, params: dict[str, Any]) -> set[str]:
    return {row[0] for row in conn.execute(q("requeue"), params).fetchall()}


def delete(conn: Connection, ids: str) -> set[str]:
    """Delete the events named by ``ids`` (JSON) that no worker holds, with their attempts."""
    found = {row[0] for row in conn.execute(q("delete_events"), {"ids": ids}).fetchall()}
    conn.execute(q("delete_attempts"), {"ids": ids_json(sorted(found))})
    return found


def prune(conn: Connection, before: float, limit: int) -> int:
    rows = conn.execute(q("prune_select"), {"before": before, "limit": limit}).fetchall()
    if not rows:
        return 0
    ids = ids_json([row[0] for row in rows])
    conn.execute(q("prune_attempts"), {"ids": ids})
    return conn.execute(q("prune_events"), {"ids": ids}).rowcount


def get(conn: Connection, event_id: str) -> Event | None:
    # One read transaction, so the event and its attempts are a consistent snapshot.
    conn.execute("BEGIN")
    try:
        row = conn.execute(q("get_event"), {"id": event_id}).fetchone()
        if row is None:
            return None
        attempts = conn.execute(q("get_attempts"), {"id": event_id}).fetchall()
        return event_from_row(row, [attempt_from_row(a) for a in attempts])
    finally:
        conn.execute("COMMIT")


def select_events(conn: Connection, sql: str, params: dict[str, Any]) -> list[Event]:
    return [event_from_row(row) for row in conn.execute(sql, params)]
