"""The store protocol: the domain verbs every backend (SQLite, PostgreSQL) implements.

The store is the only source of truth for event status. Backends keep their SQL in
``queries/*.sql`` and their schema in numbered ``migrations/<backend>/NNNN_*.sql`` files.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from hookport.events import AppendResult, Event, EventStatus, HandlerOutcome, NewEvent
from hookport.metrics import EndpointCount, StoreOp

MAX_LIST = 1000
"""The most events one list call returns (pages beyond it use ``before_id``)."""

MAX_PREFIX = 64
"""The longest ``id_prefix`` a filter takes (an event id has 32 characters)."""


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Filters for :meth:`Store.list` and :meth:`Store.count`; ``None`` means no filter.

    Newest first, by id: an id begins with its arrival time in milliseconds, so id order is
    arrival order and ``before_id`` (the last id of the previous page) is the keyset cursor.
    ``endpoint`` and ``type`` match exactly; ``endpoint_contains`` and ``type_contains`` match
    a substring, ignoring case (``stripe`` finds ``shop:/stripe``). ``since`` and ``until``
    bound ``received_at`` (``since`` included, ``until`` not). ``id_prefix`` finds events whose
    id (any case) or delivery id (exactly) starts with it.
    """

    endpoint: str | None = None
    status: EventStatus | None = None
    type: str | None = None
    since: float | None = None
    limit: int = 50
    before_id: str | None = None  # keyset pagination: events with id < before_id
    until: float | None = None
    endpoint_contains: str | None = None
    type_contains: str | None = None
    id_prefix: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIST:
            raise ValueError(f"limit must be between 1 and {MAX_LIST}, not {self.limit}")
        if self.id_prefix is not None and not 1 <= len(self.id_prefix) <= MAX_PREFIX:
            raise ValueError(f"an id prefix has 1 to {MAX_PREFIX} characters")


def id_floor(since: float) -> str:
    """The smallest id an event received at ``since`` can have (its leading milliseconds), less
    a minute for the moments between an id's making and its ``received_at``."""
    return f"{max(int((since - 60) * 1000), 0):012x}"


@dataclass(frozen=True, slots=True)
class LeaseRequest:
    """What a worker asks of :meth:`Store.lease`.

    ``endpoints``: only these endpoints (``None``: all). ``limits``: per-endpoint cap on events
    in flight across all workers; an endpoint with limit 1 is also ordered: an event is claimable
    only when no earlier event of that endpoint is still queued, processing or retrying.
    """

    owner: str
    limit: int
    lease_seconds: float
    now: float
    endpoints: Sequence[str] | None = None
    limits: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """An endpoint held by :meth:`Store.pause`: since ``paused_at``, until ``expires_at``
    (``None``: until resumed), by ``paused_by`` (who asked: a CLI user, an admin token, a chat
    user; free text)."""

    endpoint: str
    paused_at: float
    expires_at: float | None = None
    paused_by: str | None = None

    def active(self, now: float) -> bool:
        """Whether the pause holds at ``now``."""
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True)
class Rejection:
    """A delivery hookport refused (a 4xx, or a hook whose rules did not match): metadata only.

    Never the body or a header's value: ``header_names`` are the names the request sent,
    ``body_size`` what it declared (``Content-Length``). ``endpoint`` is ``None`` for a path no
    endpoint serves; ``reason`` is the answer's message (or the hook rule's), bounded in length.
    ``id`` is the store's (``None`` until recorded): ids grow with each record, so id order is
    record order and the keyset of :class:`RejectionFilter`.
    """

    at: float
    method: str
    path: str
    endpoint: str | None
    status: int
    reason: str
    source_ip: str | None = None
    header_names: tuple[str, ...] = ()
    body_size: int = 0
    id: int | None = None


@dataclass(frozen=True, slots=True)
class RejectionFilter:
    """Filters for :meth:`Store.rejections` and :meth:`Store.count_rejections`; ``None``
    means no filter. Newest first, by id.

    ``endpoint`` matches a name exactly; ``no_endpoint`` keeps only the paths no endpoint
    serves (the two exclude each other). ``status`` is the answer's HTTP status. ``since`` and
    ``until`` bound ``at`` (``since`` included, ``until`` not). ``before_id`` (the last id of
    the previous page) is the keyset cursor.
    """

    since: float | None = None
    endpoint: str | None = None
    limit: int = 50
    status: int | None = None
    no_endpoint: bool = False
    until: float | None = None
    before_id: int | None = None  # keyset pagination: rejections with id < before_id

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIST:
            raise ValueError(f"limit must be between 1 and {MAX_LIST}, not {self.limit}")
        if self.no_endpoint and self.endpoint is not None:
            raise ValueError("an endpoint and no endpoint exclude each other")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status (100-599), not {self.status}")


ChatResult = Literal["ok", "refused", "error"]
"""How a chat command ended: answered, refused by the allow-list, or failed (an error id)."""


@dataclass(frozen=True, slots=True)
class ChatCommand:
    """One chat command run (``hookport.chatops``): when, on which platform, by whom, where,
    the command text, how it ended and a short summary of the answer. Bounded in length by
    :mod:`hookport.chatops.audit`; never a secret (commands carry none)."""

    at: float
    platform: str
    user: str
    channel: str
    command: str
    result: ChatResult
    summary: str = ""


@dataclass(frozen=True, slots=True)
class ChatCommandFilter:
    """Filters for :meth:`Store.chat_commands`: since a time, of one platform; newest first."""

    since: float | None = None
    platform: str | None = None
    limit: int = 50

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIST:
            raise ValueError(f"limit must be between 1 and {MAX_LIST}, not {self.limit}")


_FINISHED = (EventStatus.DONE, EventStatus.RETRYING, EventStatus.DEAD, EventStatus.UNHANDLED)


@dataclass(frozen=True, slots=True)
class Finish:
    """The end of one attempt, for :meth:`Store.finish`: its outcomes and the event's next status.

    ``status`` is ``done``, ``retrying`` (due again at ``next_attempt_at``), ``dead`` or
    ``unhandled`` (no handler takes the event's type);
    ``error`` is the attempt's error summary (``None`` when done). Build one with
    :meth:`done`, :meth:`retry` or :meth:`dead`.
    """

    event_id: str
    owner: str
    outcomes: Sequence[HandlerOutcome]
    status: EventStatus
    next_attempt_at: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in _FINISHED:
            raise ValueError(f"an attempt cannot finish as {self.status}")
        if (self.status is EventStatus.RETRYING) != (self.next_attempt_at is not None):
            raise ValueError("next_attempt_at is set exactly when the event is retrying")

    @classmethod
    def done(cls, event_id: str, owner: str, outcomes: Sequence[HandlerOutcome]) -> Finish:
        """Every handler succeeded: the event is ``done``."""
        return cls(event_id, owner, outcomes, EventStatus.DONE)

    @classmethod
    def retry(
        cls,
        event_id: str,
        owner: str,
        outcomes: Sequence[HandlerOutcome],
        run_at: float,
        error: str,
    ) -> Finish:
        """A handler failed and attempts remain: the event is ``retrying``, due at ``run_at``."""
        return cls(event_id, owner, outcomes, EventStatus.RETRYING, run_at, error)

    @classmethod
    def dead(
        cls, event_id: str, owner: str, outcomes: Sequence[HandlerOutcome], error: str
    ) -> Finish:
        """A handler failed and no attempts remain: the event is ``dead``."""
        return cls(event_id, owner, outcomes, EventStatus.DEAD, None, error)

    @classmethod
    def unhandled(cls, event_id: str, owner: str) -> Finish:
        """No handler of the event's endpoint takes its type: nothing ran, nothing failed.

        Kept (and pruned with ``done`` events) so that a replay runs it once a handler exists.
        """
        return cls(event_id, owner, (), EventStatus.UNHANDLED)


LEASE_EXPIRED = "lease expired before the attempt finished (its worker stopped or lost the store)"
"""``Event.last_error`` of an event claimed again after its lease expired (set by the claim)."""


class StoreObserver(Protocol):
    """What a store reports about itself (:class:`hookport.metrics.Metrics` is one)."""

    def committed(self, op: StoreOp, size: int, seconds: float) -> None:
        """A group-committed batch of ``size`` items took ``seconds``."""
        ...

    def store_failed(self, op: StoreOp, unavailable: bool) -> None:
        """An operation failed (``unavailable``: could not commit or reach the store)."""
        ...


class Store(Protocol):
    """Durable event storage and the work queue over it."""

    async def open(self) -> None:
        """Connect and apply pending migrations (safe when several processes start at once)."""
        ...

    async def close(self) -> None:
        """Flush pending appends, then release connections."""
        ...

    async def append(self, event: NewEvent) -> AppendResult:
        """Commit ``event`` (group commit), or return the first event with its delivery id.

        Returns only after the batch holding it has committed. Raises ``StoreUnavailable``
        when the store cannot commit or the append queue is full; nothing is then stored.
        """
        ...

    async def lease(self, request: LeaseRequest) -> list[Event]:
        """Claim due events (queued, retrying past ``next_attempt_at``, or lease expired).

        Claimed events become ``processing`` with ``attempt`` incremented and a lease until
        ``now + lease_seconds``; oldest first. Events of endpoints paused at ``now`` (see
        :meth:`pause`) are never claimed: the store reads the pauses in the claim itself.
        """
        ...

    async def renew(self, owner: str, event_ids: Sequence[str], until: float) -> None:
        """Extend the leases ``owner`` holds on ``event_ids``."""
        ...

    async def finish(self, finish: Finish) -> bool:
        """Record one attempt's outcomes and move the event to ``finish.status``.

        ``done``; ``retrying``, due at ``finish.next_attempt_at``; or ``dead`` (it stays for
        inspection and replay). The lease is dropped. Returns False (and changes nothing) if
        ``finish.owner`` no longer holds the lease.
        """
        ...

    async def release(self, event_ids: Sequence[str], owner: str) -> None:
        """Give leases back without counting the attempt (graceful shutdown)."""
        ...

    async def get(self, event_id: str) -> Event | None:
        """One event with its attempts and recorded response."""
        ...

    async def list(self, filter: EventFilter) -> list[Event]:
        """Events matching ``filter``, newest first: metadata only.

        Headers, bodies and the response body are left empty (and attempts out), so a list
        costs the same whatever the deliveries weigh; :meth:`get` loads one event whole.
        """
        ...

    async def count(self, filter: EventFilter, cap: int) -> int:
        """How many events :meth:`list` would page through for ``filter`` (its ``limit`` and
        ``before_id`` aside), counting at most ``cap``: the cost is bounded by ``cap``."""
        ...

    async def arrivals(self, since: float, recent: float) -> dict[str, tuple[int, int]]:
        """Per endpoint: how many events were received since ``since`` and since ``recent``
        (``recent >= since``). Reads only that window (ids begin with the arrival time)."""
        ...

    async def requeue(self, event_ids: Sequence[str], now: float) -> builtins.list[str]:
        """Make events due again now (replay); returns the ids requeued, in the given order.

        A replay starts a fresh round: attempt counter and done handlers reset, and the
        event's ``replays`` goes up by one (the attempts of the new round record it, so they
        are told apart from the earlier rounds'). Only receiver events are work: ids that do
        not exist or name a route record are left out.
        """
        ...

    async def delete(self, event_ids: Sequence[str]) -> builtins.list[str]:
        """Delete events and their attempts; returns the ids deleted, in the given order.

        Events being processed (a worker holds their lease) are left out.
        """
        ...

    async def ids_with_status(self, status: EventStatus, limit: int = 10_000) -> builtins.list[str]:
        """Ids of events in ``status``, oldest first (for bulk replay)."""
        ...

    async def prune(self, before: float, limit: int) -> int:
        """Delete up to ``limit`` ``done`` events received before ``before``; returns the count."""
        ...

    async def counts(self) -> dict[EventStatus, int]:
        """Number of events per status."""
        ...

    async def endpoint_counts(self, now: float) -> builtins.list[EndpointCount]:
        """Events per endpoint and status, with when the oldest due one became due (one query)."""
        ...

    async def next_due(self, now: float) -> float | None:
        """When the next event becomes due (``now`` if one is due), or None if none is pending."""
        ...

    async def wait_for_work(self, timeout: float) -> None:  # noqa: ASYNC109 - poll interval
        """Return when new work may be due (an append, a notification) or after ``timeout``."""
        ...

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` if the store cannot be reached."""
        ...

    async def pause(self, pause: Pause) -> None:
        """Hold ``pause.endpoint`` (replacing a pause it has): from the commit on, no lease
        claims its events, in any process; appends go on as before. Events already leased
        finish their attempt."""
        ...

    async def resume(self, endpoint: str, now: float) -> bool:
        """Lift the pause of ``endpoint`` and wake the workers (its held events are due again,
        oldest first); False if it was not paused at ``now``."""
        ...

    async def pauses(self, now: float) -> builtins.list[Pause]:
        """The pauses in force at ``now`` (expired ones are left out), by endpoint name."""
        ...

    async def record_rejections(
        self, rejections: Sequence[Rejection], *, keep: int, before: float
    ) -> None:
        """Commit ``rejections`` in one transaction, then prune: only the newest ``keep`` are
        kept, and none received before ``before``."""
        ...

    async def rejections(self, filter: RejectionFilter) -> builtins.list[Rejection]:
        """Recorded rejections matching ``filter``, newest first, each with its ``id``."""
        ...

    async def count_rejections(self, filter: RejectionFilter, cap: int) -> int:
        """How many rejections :meth:`rejections` would page through for ``filter`` (its
        ``limit`` and ``before_id`` aside), counting at most ``cap``."""
        ...

    async def record_chat_command(self, command: ChatCommand, *, keep: int, before: float) -> None:
        """Commit ``command``, then prune: only the newest ``keep`` records are kept, and none
        made before ``before``."""
        ...

    async def chat_commands(self, filter: ChatCommandFilter) -> builtins.list[ChatCommand]:
        """Recorded chat commands matching ``filter``, newest first."""
        ...
