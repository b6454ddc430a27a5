"""Conversions between store rows and event records, shared by both backends."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from hookport.events import (
    Attempt,
    Event,
    EventStatus,
    HandlerOutcome,
    NewEvent,
    RecordedResponse,
    headers_from_json,
    headers_to_json,
    params_to_json,
)
from hookport.store.base import ChatCommand, Rejection

PENDING = (EventStatus.QUEUED, EventStatus.PROCESSING, EventStatus.RETRYING)


class Row(Protocol):
    """A result row addressable by column name (``sqlite3.Row``, ``asyncpg.Record``)."""

    def __getitem__(self, key: str, /) -> Any: ...


INSERT_COLUMNS = (
    "id", "kind", "plugin", "endpoint", "type", "delivery_id", "received_at", "method", "path",
    "query_string", "headers", "body", "params", "sender", "source_ip", "status",
    "next_attempt_at", "response_status", "response_headers", "response_body", "trace_context",
)  # fmt: skip
"""The ``events`` columns an append writes, in the order of :func:`insert_row`."""


def insert_row(event: NewEvent) -> tuple[Any, ...]:
    """Column values for inserting ``event``, in ``INSERT_COLUMNS`` order; JSON serialised."""
    response = event.response
    queued = event.status == EventStatus.QUEUED
    return (
        event.id,
        event.kind,
        event.plugin,
        event.endpoint,
        event.type,
        event.delivery_id,
        event.received_at,
        event.method,
        event.path,
        event.query_string,
        headers_to_json(event.headers),
        event.body,
        params_to_json(event.params),
        event.sender,
        event.source_ip,
        event.status.value,
        # Informational for queued events (queued is always due); the time work became due.
        event.received_at if queued else None,
        response.status if response else None,
        headers_to_json(response.headers) if response else None,
        response.body if response else None,
        event.trace_context,
    )


def event_from_row(row: Row, attempts: Sequence[Attempt] = ()) -> Event:
    """Build an :class:`Event` from a row of the ``events`` table."""
    response = None
    if row["response_status"] is not None:
        response = RecordedResponse(
            status=row["response_status"],
            headers=headers_from_json(row["response_headers"]),
            body=bytes(row["response_body"] or b""),
        )
    return Event(
        id=row["id"],
        kind=row["kind"],
        plugin=row["plugin"],
        endpoint=row["endpoint"],
        type=row["type"],
        delivery_id=row["delivery_id"],
        received_at=row["received_at"],
        method=row["method"],
        path=row["path"],
        query_string=row["query_string"],
        headers=headers_from_json(row["headers"]),
        body=bytes(row["body"]),
        params={str(k): v for k, v in json.loads(row["params"] or "{}").items()},
        sender=row["sender"],
        source_ip=row["source_ip"],
        status=EventStatus(row["status"]),
        attempt=row["attempt"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        done_handlers=frozenset(json.loads(row["done_handlers"] or "[]")),
        response=response,
        attempts=tuple(attempts),
        replays=_column(row, "replays", 0),
        trace_context=_column(row, "trace_context", None),
    )


def _column(row: Row, name: str, default: Any) -> Any:
    """``row[name]``, or ``default`` for a query that does not select it (claims)."""
    try:
        return row[name]
    except (KeyError, IndexError):
        return default


def attempt_from_row(row: Row) -> Attempt:
    """Build an :class:`Attempt` from a row of the ``attempts`` table."""
    return Attempt(
        attempt=row["attempt"],
        handler=row["handler"],
        ok=bool(row["ok"]),
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        error=row["error"],
        traceback=row["traceback"],
        replay=row["replay"],
    )


def merge_done(done_json: str | None, outcomes: Iterable[HandlerOutcome]) -> str:
    """The ``done_handlers`` JSON after adding the handlers that succeeded in ``outcomes``."""
    done = set(json.loads(done_json or "[]"))
    done.update(o.handler for o in outcomes if o.ok)
    return json.dumps(sorted(done), separators=(",", ":"))


def dedupe_key(event: NewEvent) -> tuple[str, str] | None:
    """The (endpoint, delivery id) pair that makes a delivery a duplicate, if it has one."""
    return None if event.delivery_id is None else (event.endpoint, event.delivery_id)


def rejection_row(r: Rejection) -> tuple[Any, ...]:
    """Column values of a ``rejections`` row, in the order of the insert queries."""
    names = json.dumps(list(r.header_names), separators=(",", ":"))
    return (
        r.at, r.method, r.path, r.endpoint, r.status, r.reason, r.source_ip, names, r.body_size
    )  # fmt: skip


def rejection_from_row(row: Row) -> Rejection:
    """A :class:`Rejection` from a ``list_rejections`` row."""
    return Rejection(
        id=row["id"],
        at=row["at"],
        method=row["method"],
        path=row["path"],
        endpoint=row["endpoint"],
        status=row["status"],
        reason=row["reason"],
        source_ip=row["source_ip"],
        header_names=tuple(json.loads(row["header_names"])),
        body_size=row["body_size"],
    )


def chat_command_row(c: ChatCommand) -> tuple[Any, ...]:
    """Column values of a ``chat_commands`` row, in the order of the insert queries."""
    return (c.at, c.platform, c.user, c.channel, c.command, c.result, c.summary)


def chat_command_from_row(row: Row) -> ChatCommand:
    """A :class:`ChatCommand` from a ``list_chat_commands`` row."""
    return ChatCommand(
        at=row["at"],
        platform=row["platform"],
        user=row["user"],
        channel=row["channel"],
        command=row["command"],
        result=row["result"],
        summary=row["summary"],
    )
