"""The one service API that the CLI, the admin API and the dashboard call.

They never reach the store or the route table any other way, so what one shows, the others
show too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, urlencode

from hookport.assembly import Assembly, Endpoint, describe
from hookport.errors import ConfigError, NotFoundError, StoreUnavailable
from hookport.events import Event, EventStatus
from hookport.pauses import PauseBook
from hookport.redaction import REDACTED, Redaction
from hookport.routing import compile_path
from hookport.store.base import (
    MAX_LIST,
    ChatCommand,
    ChatCommandFilter,
    EventFilter,
    Pause,
    RejectionFilter,
    Store,
)
from hookport.types import Signed, Verifier
from hookport.verify.auth import TokenVerifier
from hookport.verify.combinators import AllOf, AnyOf

COUNT_CAP = 10_000
"""The most events a total counts (a page shows "10,000+" beyond it)."""

BULK_CAP = 10_000
"""The most events one bulk replay or delete acts on."""

_BACKLOG = frozenset({"queued", "retrying", "processing"})


@dataclass
class Operations:
    """Inspect and replay deliveries; describe endpoints; report health.

    ``base_url`` is where senders reach this server (``[server] base_url``, else the listening
    address): endpoint URLs are built from it, unless ``[server.urls]`` names an endpoint.
    """

    store: Store
    assembly: Assembly
    base_url: str = "http://127.0.0.1:8080"
    clock: Callable[[], float] = time.time
    public_urls: Mapping[str, str] = field(default_factory=dict)
    """``[server.urls]``: endpoint name -> the public URL senders use for it."""
    redaction: Redaction = field(default_factory=Redaction)
    """What every surface hides of a delivery when it shows one (``[redact]``)."""
    pause_book: PauseBook | None = None
    """The pauses this process knows (shared with ingest); default: one over ``store``."""

    def __post_init__(self) -> None:
        if self.pause_book is None:
            self.pause_book = PauseBook(self.store, clock=self.clock)

    @property
    def pauses(self) -> PauseBook:
        """The pause book (routes, metrics and listings read pauses through it)."""
        assert self.pause_book is not None  # set in __post_init__
        return self.pause_book

    @contextlib.asynccontextmanager
    async def opened(self) -> AsyncIterator[Operations]:
        """Open the store for the block (one-shot CLI commands), then close it."""
        await self.store.open()
        try:
            yield self
        finally:
            await self.store.close()

    def summary(self, event: Event, paused: Mapping[str, Pause] | None = None) -> dict[str, Any]:
        """An event as lists show it (credentials redacted)."""
        return event_summary(event, paused, self.redaction)

    def detail(self, event: Event, paused: Mapping[str, Pause] | None = None) -> dict[str, Any]:
        """One event as its detail shows it (credentials redacted)."""
        return event_detail(event, paused, self.redaction)

    def routes(self, *, reveal: bool = False) -> list[dict[str, Any]]:
        """Every endpoint in match precedence, with the URLs senders use.

        ``url``: the first URL (None for a regular-expression path); ``urls``: one line per
        access token (see :meth:`urls_of`); ``pattern``: the regular expression, if any.
        Access tokens in URLs show as ``[redacted]`` unless ``reveal`` (``routes --urls``, for
        the operator who hands the URLs to senders).
        """
        rows = []
        for ep in self.assembly.endpoints:
            urls = self.urls_of(ep, reveal=reveal)
            pattern = ep.path if compile_path(ep.path).example is None else None
            url = urls[0] if pattern is None or ep.name in self.public_urls else None
            rows.append({**describe(ep), "url": url, "urls": urls, "pattern": pattern})
        return rows

    def url_of(self, ep: Endpoint, *, reveal: bool = True) -> str:
        """The first of :meth:`urls_of`."""
        return self.urls_of(ep, reveal=reveal)[0]

    def urls_of(self, ep: Endpoint, *, reveal: bool = True) -> list[str]:
        """The URLs senders use for ``ep``: one per access token of a query-token verifier
        (``?access_token=``), else one, with whatever query its verifier signs.

        Parameters show as ``{name}`` whatever the path syntax. A regular-expression path has
        no example URL: it shows as ``BASE + a path matching PATTERN``. ``[server.urls]`` gives
        an endpoint's public URL outright (a tunnel, invenio's
        ``WEBHOOKS_DEBUG_RECEIVER_URLS``); ``{token}`` in it is replaced by each token.
        """
        base = self.base_url.rstrip("/")
        example = compile_path(ep.path).example
        override = self.public_urls.get(ep.name)
        if override is not None:
            url = override
        elif example is not None:
            url = base + example
        else:
            url = f"{base} + a path matching {ep.path}"
        queries = _token_queries(ep.verifier) if ep.verifier is not None else []
        if not queries:
            signed = _signed_for_url(ep.verifier, url, self.clock())
            queries = [signed.query] if signed is not None and signed.query else [{}]
        elif not reveal:
            queries = [dict.fromkeys(query, REDACTED) for query in queries]
        urls = [_with_query(url, query) for query in queries]
        if reveal:
            return urls
        shown = [u.replace(quote(REDACTED, safe=""), REDACTED) for u in urls]
        return [self.redaction.target(u) for u in shown]

    async def list_events(self, filter: EventFilter) -> list[Event]:
        """Recorded deliveries, newest first."""
        return await self.store.list(filter)

    async def get_event(self, event_id: str) -> Event | None:
        """One delivery with its attempts and response."""
        return await self.store.get(event_id)

    async def replay(self, event_ids: Sequence[str]) -> list[str]:
        """Make these events due again; returns the ids that exist."""
        return await self.store.requeue(list(event_ids), self.clock())

    async def count_events(self, filter: EventFilter, cap: int = COUNT_CAP) -> int:
        """How many events match ``filter`` (its page aside), counted up to ``cap``."""
        return await self.store.count(filter, cap)

    async def matching_ids(self, filter: EventFilter, cap: int = BULK_CAP) -> list[str]:
        """Ids of the events matching ``filter`` (``before_id`` included), newest first, at
        most ``cap`` (for bulk replay and delete)."""
        ids: list[str] = []
        before = filter.before_id
        while len(ids) < cap:
            size = min(MAX_LIST, cap - len(ids))
            page = await self.store.list(replace(filter, limit=size, before_id=before))
            ids += [e.id for e in page]
            if len(page) < size:
                break
            before = page[-1].id
        return ids

    async def delete(self, event_ids: Sequence[str]) -> list[str]:
        """Delete events and their attempts; returns the ids deleted (events being processed
        are left)."""
        return await self.store.delete(list(event_ids))

    async def endpoint_load(self, hour: float = 3600.0, recent: float = 300.0) -> dict[str, Any]:
        """Per endpoint: its events by status, its backlog (queued, retrying, processing),
        since when the oldest due one waits, and how many arrived in the last ``recent`` and
        ``hour`` seconds (``received``: ``{recent: n, hour: n}``). Two grouped queries."""
        now = self.clock()
        arrived = await self.store.arrivals(now - hour, now - recent)
        load: dict[str, Any] = {}
        for ep in self.assembly.endpoints:
            in_hour, in_recent = arrived.get(ep.name, (0, 0))
            load[ep.name] = {
                "statuses": {},
                "backlog": 0,
                "due_since": None,
                "received": {recent: in_recent, hour: in_hour},
            }
        for row in await self.store.endpoint_counts(now):
            entry = load.get(row.endpoint)
            if entry is None:  # events of an endpoint no longer served
                continue
            entry["statuses"][row.status] = row.count
            if row.status in _BACKLOG:
                entry["backlog"] += row.count
            if row.due_since is not None:
                since = entry["due_since"]
                entry["due_since"] = row.due_since if since is None else min(since, row.due_since)
        return load

    async def ids_with_status(self, status: EventStatus) -> list[str]:
        """Ids of every event in ``status`` (for bulk replay)."""
        return await self.store.ids_with_status(status)

    async def rejections(self, filter: RejectionFilter) -> list[dict[str, Any]]:
        """Rejected deliveries (4xx answers, hook rule mismatches), newest first: metadata
        only, as plain values (``at`` is Unix time)."""
        return [dataclasses.asdict(r) for r in await self.store.rejections(filter)]

    async def count_rejections(self, filter: RejectionFilter, cap: int = COUNT_CAP) -> int:
        """How many rejections match ``filter`` (its page aside), counted up to ``cap``."""
        return await self.store.count_rejections(filter, cap)

    async def record_chat_command(
        self, command: ChatCommand, *, keep: int, max_age: float
    ) -> None:
        """Record one chat command run (the chat-ops audit), keeping the newest ``keep`` records
        and none older than ``max_age`` seconds; ``keep=0`` records nothing."""
        if keep:
            await self.store.record_chat_command(
                command, keep=keep, before=self.clock() - max_age
            )

    async def chat_commands(self, filter: ChatCommandFilter) -> list[dict[str, Any]]:
        """Chat commands run, newest first, as plain values (``at`` is Unix time)."""
        return [dataclasses.asdict(c) for c in await self.store.chat_commands(filter)]

    async def find_event_id(self, given: str) -> str:
        """An event id from its unique prefix (8 or more characters; the full 32 as is).

        ``ValueError`` for a prefix too short or ambiguous, ``NotFoundError`` when no event's
        id starts with it.
        """
        wanted = given.strip().lower()
        if len(wanted) == 32:
            return wanted
        if len(wanted) < 8:
            raise ValueError(f"{given!r} is too short: give at least 8 characters of an event id")
        if len(wanted) > 32:
            raise NotFoundError(f"no event with an id starting {given!r}")
        found = await self.list_events(EventFilter(id_prefix=wanted, limit=3))
        ids = [e.id for e in found if e.id.startswith(wanted)]
        if not ids:
            raise NotFoundError(f"no event with an id starting {given!r}")
        if len(ids) > 1:
            many = len(ids) if len(ids) < 3 else "3 or more"
            raise ValueError(
                f"{given!r} is ambiguous: {many} events' ids start with it; give more characters"
            )
        return ids[0]

    async def stats(self) -> dict[str, int]:
        """Number of events per status."""
        counts = await self.store.counts()
        return {status.value: counts.get(status, 0) for status in EventStatus}

    async def pause(
        self, name: str, *, duration: float | None = None, by: str | None = None
    ) -> Pause:
        """Pause the endpoint ``name`` (for ``duration`` seconds, else until resumed).

        A paused receiver still verifies, stores and acknowledges; no worker runs its events
        until it is resumed. A paused route answers 503 with ``Retry-After``. Raises
        ``NotFoundError`` for an unknown name, ``ValueError`` for a duration that is not
        positive.
        """
        self._endpoint(name)
        if duration is not None and duration <= 0:
            raise ValueError(f"a pause lasts a positive time, not {duration:g}s")
        now = self.clock()
        pause = Pause(name, now, None if duration is None else now + duration, by)
        await self.store.pause(pause)
        self.pauses.invalidate()
        return pause

    async def resume(self, name: str) -> bool:
        """Resume the endpoint ``name``: its held events run, oldest first. False if it was
        not paused; ``NotFoundError`` for an unknown name."""
        self._endpoint(name)
        lifted = await self.store.resume(name, self.clock())
        self.pauses.invalidate()
        return lifted

    async def paused(self) -> dict[str, Pause]:
        """The pauses in force, by endpoint (read through the pause book)."""
        return dict(await self.pauses.current())

    async def route_states(self, *, reveal: bool = False) -> list[dict[str, Any]]:
        """:meth:`routes`, each row with its ``state`` (``active``/``paused``), and for a paused
        endpoint ``paused_at``, ``paused_until`` (None: until resumed) and ``paused_by``."""
        self.pauses.invalidate()  # a listing shows the table as it is now
        paused = await self.paused()
        return [
            {**row, **pause_fields(paused.get(row["name"]))} for row in self.routes(reveal=reveal)
        ]

    def _endpoint(self, name: str) -> Endpoint:
        ep = self.assembly.endpoint(name)
        if ep is None:
            known = ", ".join(e.name for e in self.assembly.endpoints) or "none"
            raise NotFoundError(f"no endpoint named {name!r} (known: {known})")
        return ep

    async def ready(self) -> tuple[bool, str]:
        """Whether the store answers."""
        try:
            await self.store.ping()
        except StoreUnavailable as exc:
            return False, exc.message
        return True, "ok"


def _token_queries(verifier: Verifier) -> list[dict[str, str]]:
    """One query per token of a verifier that reads its token from the query string only (a
    verifier with a header sends it there: the URL carries no secret)."""
    if isinstance(verifier, TokenVerifier) and verifier.query and not verifier.header:
        return [{verifier.query: value} for _, value in verifier.tokens]
    if isinstance(verifier, AllOf | AnyOf):
        return next((q for q in map(_token_queries, verifier.verifiers) if q), [])
    return []


def _with_query(url: str, query: Mapping[str, str]) -> str:
    if not query:
        return url
    if "{token}" in url and len(query) == 1:
        return url.replace("{token}", quote(next(iter(query.values())), safe=""))
    return url + ("&" if "?" in url else "?") + urlencode(query)


def pause_fields(pause: Pause | None) -> dict[str, Any]:
    """An endpoint's state as every surface shows it: ``state`` and, when paused, since when,
    until when (None: until resumed) and by whom."""
    if pause is None:
        return {"state": "active"}
    return {
        "state": "paused",
        "paused_at": pause.paused_at,
        "paused_until": pause.expires_at,
        "paused_by": pause.paused_by,
    }


HELD = frozenset({EventStatus.QUEUED, EventStatus.RETRYING})
"""Statuses whose events a pause holds (due, or due later, but not leased while paused)."""


def is_held(event: Event, paused: Mapping[str, Pause] | None) -> bool:
    """Whether ``event`` waits for its endpoint's resume."""
    return bool(paused) and event.endpoint in (paused or {}) and event.status in HELD


def event_summary(
    event: Event,
    paused: Mapping[str, Pause] | None = None,
    redaction: Redaction | None = None,
) -> dict[str, Any]:
    """The JSON shape of an event in lists; ``held``: it waits for its paused endpoint.
    Credentials are redacted by ``redaction`` (by default, the default rule)."""
    r = redaction or _DEFAULT_REDACTION
    return {
        "id": event.id,
        "kind": event.kind,
        "endpoint": event.endpoint,
        "plugin": event.plugin,
        "type": event.type,
        "delivery_id": event.delivery_id,
        "status": event.status.value,
        "attempt": event.attempt,
        "replays": event.replays,
        "received_at": event.received_at,
        "next_attempt_at": event.next_attempt_at,
        "last_error": r.scrub(event.last_error) if event.last_error else event.last_error,
        "sender": event.sender,
        "source_ip": event.source_ip,
        "held": is_held(event, paused),
    }


def event_detail(
    event: Event,
    paused: Mapping[str, Pause] | None = None,
    redaction: Redaction | None = None,
) -> dict[str, Any]:
    """The JSON shape of one event with headers, body, attempts and response (credentials
    redacted by ``redaction``, by default the default rule)."""
    r = redaction or _DEFAULT_REDACTION
    data = event_summary(event, paused, r)
    data["method"] = event.method
    data["path"] = r.target(event.path)
    data["query_string"] = r.query_string(event.query_string)
    data["headers"] = r.header_list(event.headers)
    data["body"] = r.body(event.text, _content_type(event.headers))
    data["params"] = r.params(event.params)
    data["done_handlers"] = sorted(event.done_handlers)
    data["attempts"] = [
        {
            "attempt": a.attempt,
            "replay": a.replay,
            "handler": a.handler,
            "ok": a.ok,
            "started_at": a.started_at,
            "finished_at": a.finished_at,
            "error": r.scrub(a.error) if a.error else a.error,
            "traceback": r.scrub(a.traceback) if a.traceback else a.traceback,
        }
        for a in event.attempts
    ]
    if event.response is not None:
        data["response"] = {
            "status": event.response.status,
            "headers": r.header_list(event.response.headers),
            "body": r.body(
                event.response.body.decode("utf-8", "replace"),
                _content_type(event.response.headers),
            ),
        }
    return data


_DEFAULT_REDACTION = Redaction()


def _content_type(headers: Sequence[tuple[str, str]]) -> str | None:
    return next((v for k, v in headers if k.lower() == "content-type"), None)


def format_time(ts: float | None) -> str:
    """A Unix time as ``YYYY-MM-DD HH:MM:SS`` UTC (``""`` for None), as every surface shows it."""
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _signed_for_url(verifier: Verifier | None, url: str, now: float) -> Signed | None:
    """What signing puts in an endpoint's URL; None when the verifier cannot sign here (a
    Discord endpoint knows only the public key): its URL then has no query to show."""
    if verifier is None:
        return None
    try:
        return verifier.sign(b"", url=url, now=now)
    except ConfigError:
        return None
