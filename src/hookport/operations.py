"""The one service API that the CLI, the admin API and the dashboard call.

They never reach the store or the route table any other way, so what one shows, the others
show too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hookport.assembly import Assembly, Endpoint, describe
from hookport.errors import StoreUnavailable
from hookport.events import Event, EventStatus
from hookport.store.base import EventFilter, Store


@dataclass
class Operations:
    """Inspect and replay deliveries; describe endpoints; report health.

    ``base_url`` is where senders reach this server (``[server] base_url``, else the listening
    address): endpoint URLs are built from it.
    """

    store: Store
    assembly: Assembly
    base_url: str = "http://127.0.0.1:8080"
    clock: Callable[[], float] = time.time

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[Operations]:
        """Open the store for the block (one-shot CLI commands), then close it."""
        await self.store.open()
        try:
            yield self
        finally:
            await self.store.close()

    def routes(self) -> list[dict[str, Any]]:
        """Every endpoint in match precedence, with its full URL."""
        return [{**describe(ep), "url": self.url_of(ep)} for ep in self.assembly.endpoints]

    def url_of(self, ep: Endpoint) -> str:
        """The URL senders use for ``ep``, with the query its verifier needs (access tokens)."""
        url = self.base_url.rstrip("/") + ep.path
        if ep.verifier is not None:
            query = ep.verifier.sign(b"", url=url, now=self.clock()).query
            if query:
                url += "?" + urlencode(query)
        return url

    async def list_events(self, filter: EventFilter) -> list[Event]:
        """Recorded deliveries, newest first."""
        return await self.store.list(filter)

    async def get_event(self, event_id: str) -> Event | None:
        """One delivery with its attempts and response."""
        return await self.store.get(event_id)

    async def replay(self, event_ids: Sequence[str]) -> list[str]:
        """Make these events due again; returns the ids that exist."""
        return await self.store.requeue(list(event_ids), self.clock())

    async def ids_with_status(self, status: EventStatus) -> list[str]:
        """Ids of every event in ``status`` (for bulk replay)."""
        return await self.store.ids_with_status(status)

    async def stats(self) -> dict[str, int]:
        """Number of events per status."""
        counts = await self.store.counts()
        return {status.value: counts.get(status, 0) for status in EventStatus}

    async def ready(self) -> tuple[bool, str]:
        """Whether the store answers."""
        try:
            await self.store.ping()
        except StoreUnavailable as exc:
            return False, exc.message
        return True, "ok"


def event_summary(event: Event) -> dict[str, Any]:
    """The JSON shape of an event in lists."""
    return {
        "id": event.id,
        "kind": event.kind,
        "endpoint": event.endpoint,
        "plugin": event.plugin,
        "type": event.type,
        "delivery_id": event.delivery_id,
        "status": event.status.value,
        "attempt": event.attempt,
        "received_at": event.received_at,
        "next_attempt_at": event.next_attempt_at,
        "last_error": event.last_error,
        "sender": event.sender,
        "source_ip": event.source_ip,
    }


def event_detail(event: Event) -> dict[str, Any]:
    """The JSON shape of one event with headers, body, attempts and response."""
    data = event_summary(event)
    data["method"] = event.method
    data["path"] = event.path
    data["query_string"] = event.query_string
    data["headers"] = [list(h) for h in event.headers]
    data["body"] = event.text
    data["params"] = event.params
    data["done_handlers"] = sorted(event.done_handlers)
    data["attempts"] = [
        {
            "attempt": a.attempt,
            "handler": a.handler,
            "ok": a.ok,
            "started_at": a.started_at,
            "finished_at": a.finished_at,
            "error": a.error,
            "traceback": a.traceback,
        }
        for a in event.attempts
    ]
    if event.response is not None:
        data["response"] = {
            "status": event.response.status,
            "headers": [list(h) for h in event.response.headers],
            "body": event.response.body.decode("utf-8", "replace"),
        }
    return data


def format_time(ts: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` UTC (``""`` for None), as every surface shows it."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
