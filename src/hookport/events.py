"""Recorded deliveries: the event lifecycle, the records the store keeps, and their ids."""

from __future__ import annotations

import enum
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from hookport.errors import PayloadError
from hookport.forms import FormFields, UploadedFile, parse_form
from hookport.types import JSON, MultiMapping

EventKind = Literal["receiver", "route"]


class EventStatus(enum.StrEnum):
    """Where an event is in its life. Status lives in the store, and only there."""

    QUEUED = "queued"  # committed, waiting for a worker
    PROCESSING = "processing"  # leased by a worker; due again if the lease expires
    DONE = "done"  # every matching handler succeeded (routes are recorded as done)
    RETRYING = "retrying"  # a handler failed; due again at next_attempt_at
    DEAD = "dead"  # attempts exhausted; kept for inspection and replay
    UNHANDLED = "unhandled"  # no handler of its endpoint takes its type; replay once one does


def new_event_id(now: float | None = None) -> str:
    """A time-ordered unique id: 48 bits of milliseconds then 80 random bits, as 32 hex digits."""
    ms = int((time.time() if now is None else now) * 1000)
    return f"{ms:012x}{os.urandom(10).hex()}"


@dataclass(frozen=True, slots=True)
class RecordedResponse:
    """What a route answered, recorded next to the request."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A delivery to append to the store (built by ``ingest``)."""

    id: str
    kind: EventKind
    plugin: str
    endpoint: str
    type: str | None
    delivery_id: str | None
    received_at: float
    method: str
    path: str
    query_string: str
    headers: list[tuple[str, str]]
    body: bytes
    params: dict[str, Any]
    sender: str | None
    source_ip: str | None
    status: EventStatus = EventStatus.QUEUED
    response: RecordedResponse | None = None
    ordered: bool = False
    """Its receiver handles events one at a time in arrival order (``concurrency=1``): stores
    that commit concurrently must not let a later event be claimed before an earlier one is
    visible. Not stored."""
    trace_context: str | None = None
    """The W3C ``traceparent`` of the span that took the delivery in (``[tracing]``): each
    handler run's span links to it. ``None`` when tracing is off."""


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The outcome of an append: the stored id, and whether it was a duplicate delivery."""

    id: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class HandlerOutcome:
    """One handler's run within one attempt.

    ``traceback``: a failure's Python traceback, or the handler's own report (a
    :class:`HandlerReport` it returned, a ``ReportedFailure`` it raised).
    """

    handler: str
    ok: bool
    started_at: float
    finished_at: float
    error: str | None = None
    traceback: str | None = None


@dataclass(frozen=True, slots=True)
class HandlerReport:
    """What a handler may return to have ``text`` kept with its attempt (``events show``, the
    dashboard): a command's exit code and output, for example."""

    text: str


@dataclass(frozen=True, slots=True)
class Attempt:
    """A recorded attempt of one handler (for ``events show``).

    ``attempt`` counts from 1 within a round; ``replay`` names the round: 0 for the original
    delivery, 1 for the first replay, and so on.
    """

    attempt: int
    handler: str
    ok: bool
    started_at: float
    finished_at: float
    error: str | None
    traceback: str | None
    replay: int = 0


@dataclass(frozen=True)
class Event:
    """A recorded delivery, as handlers, the CLI and the API see it.

    ``attempt`` is 1 on the first run, 2 on the first retry, and so on. ``done_handlers`` names
    the handlers that already succeeded, so a retry re-runs only those that failed. A replay
    starts again at attempt 1; ``replays`` counts the replays.
    """

    id: str
    """The event id: 32 hex digits, time-ordered (what the 202 answered)."""
    kind: EventKind
    """``receiver`` (a delivery to handle) or ``route`` (the record of an answered request)."""
    plugin: str
    """The name of the plugin that declared the endpoint."""
    endpoint: str
    """The endpoint's name (``plugin:path`` unless ``name=`` gave one)."""
    type: str | None
    """The event type (``push``, ``issues.opened``), or None when nothing tells it."""
    delivery_id: str | None
    """The sender's delivery id (the dedupe key), or None."""
    received_at: float
    """When the delivery arrived (Unix seconds)."""
    method: str
    """The request's HTTP method."""
    path: str
    """The request's path, without the query string."""
    query_string: str
    """The raw query string (without ``?``)."""
    headers: list[tuple[str, str]]
    """Every header as received, in order; :meth:`header` reads one."""
    body: bytes
    """The body as received (after ``Content-Encoding`` decoding)."""
    params: dict[str, Any]
    """The path parameters of the endpoint's path."""
    sender: str | None
    """Who verification says sent it: the basic-auth user or the token's name."""
    source_ip: str | None
    """The client address (the original client behind trusted proxies)."""
    status: EventStatus
    """Where the event is in its life (see :class:`EventStatus`)."""
    attempt: int = 0
    """The attempt running now: 1 on the first run, 2 on the first retry."""
    next_attempt_at: float | None = None
    """When a ``retrying`` event is due again (Unix seconds)."""
    last_error: str | None = None
    """The error of the latest failed attempt."""
    done_handlers: frozenset[str] = frozenset()
    """Handlers that already succeeded in this round (a retry skips them)."""
    response: RecordedResponse | None = None
    """What the sender was answered."""
    attempts: Sequence[Attempt] = ()
    """Every recorded attempt of every handler (filled by ``events show``)."""
    replays: int = 0
    """How many times the event was replayed."""
    trace_context: str | None = None
    """The W3C ``traceparent`` of the delivery's ingest span (``[tracing]``), else ``None``."""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def log_fields(self) -> dict[str, object]:
        """The fields every log line about this event carries."""
        return {
            "event_id": self.id,
            "endpoint": self.endpoint,
            "plugin": self.plugin,
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
        }

    @property
    def receiver(self) -> str:
        """The endpoint's name under its round-1 name (kept for old handlers): :attr:`endpoint`."""
        return self.endpoint

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    @property
    def json(self) -> Any:
        """The body parsed as JSON (cached); ``PayloadError`` if it is not JSON.

        Typed ``Any`` (as ``json.loads``): a handler indexes the payload its provider sends
        without narrowing it first; the value is a dict, list, str, number, bool or None.
        """
        if "json" not in self._cache:
            self._cache["json"] = parse_json(self.body)
        return self._cache["json"]

    @property
    def form(self) -> FormFields:
        """URL-encoded or multipart fields (files excluded; see :attr:`files`), as a route's
        ``request.form``; ``PayloadError`` for a malformed multipart body."""
        return self._parse_form()[0]

    @property
    def files(self) -> list[UploadedFile]:
        """Files uploaded in a multipart form (field, filename, content type, size, content)."""
        return self._parse_form()[1]

    def form_param(self, name: str = "payload") -> Any:
        """A JSON document carried in one form field (GitHub's form content type); ``Any`` as
        :attr:`json`."""
        return form_param(self.form, name)

    def _parse_form(self) -> tuple[FormFields, list[UploadedFile]]:
        if "form" not in self._cache:
            self._cache["form"] = parse_form(self.header("content-type") or "", self.body)
        return self._cache["form"]  # type: ignore[no-any-return]

    def header(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (case-insensitive)."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default


MAX_JSON_DEPTH = 512


def parse_json(body: bytes) -> JSON:
    """Parse a JSON body strictly: UTF-8, one document, bounded nesting; else ``PayloadError``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not valid UTF-8 (byte {exc.start})") from None
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        raise PayloadError(f"JSON nesting is deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)  # type: ignore[no-any-return]
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:  # pragma: no cover - guarded by _nesting_exceeds
        raise PayloadError("JSON nesting is too deep") from None


def form_param(form: MultiMapping, name: str) -> JSON:
    """The JSON document in form field ``name``; ``PayloadError`` if missing or not JSON."""
    value = form.get(name)
    if not isinstance(value, str):
        raise PayloadError(f"form field {name!r} is missing")
    return parse_json(value.encode("utf-8"))


def check_json(body: bytes) -> None:
    """Accept only a strict JSON document (as :func:`parse_json` would), without keeping it.

    Runs on the ingest hot path for providers that always send JSON, so it uses orjson (2.6x
    faster than the stdlib). orjson is only stricter: NaN, a byte order mark or a lone
    surrogate are rejected. Bad input goes through :func:`parse_json` for its precise message.
    Handlers still get :func:`parse_json`'s exact values (orjson turns huge integers into floats).
    """
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        parse_json(body)  # the nesting check, and the stdlib's message if it is malformed
        return
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        parse_json(body)  # raises with the stdlib's precise message when it is malformed
        raise PayloadError(f"malformed JSON: {exc}") from None


def _nesting_exceeds(text: str, limit: int) -> bool:
    """True if brackets outside strings nest deeper than ``limit`` (cheap pre-check)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def headers_to_json(headers: Sequence[tuple[str, str]]) -> str:
    """Serialise a header list for storage (compact JSON pairs; orjson: on every append)."""
    return orjson.dumps(headers).decode()


def headers_from_json(raw: str | None) -> list[tuple[str, str]]:
    """Inverse of :func:`headers_to_json`."""
    if not raw:
        return []
    return [(str(k), str(v)) for k, v in json.loads(raw)]


def params_to_json(params: Mapping[str, Any]) -> str:
    """Serialise path parameters for storage."""
    return orjson.dumps(dict(params)).decode() if params else "{}"


# Where senders put the delivery id and the event type, for receivers whose verifier does not
# know the provider (DESIGN §2). Never Bitbucket's X-Hook-UUID: it names the hook.
_DELIVERY_ID_HEADERS = (
    "x-github-delivery",
    "webhook-id",
    "svix-id",
    "x-shopify-webhook-id",
    "idempotency-key",
    "x-gitlab-event-uuid",
)
_EVENT_TYPE_HEADERS = (
    "x-github-event",
    "x-gitea-event",
    "x-gitlab-event",
    "x-event-key",
    "x-shopify-topic",
    "x-hookport-event",
)
MAX_DELIVERY_ID = 255


def fallback_delivery_id(headers: Any) -> str | None:
    """The first delivery-id header a known sender uses, else None (no dedupe)."""
    for name in _DELIVERY_ID_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def fallback_event_type(headers: Any) -> str | None:
    """The event type from the first event header a known sender uses, else None."""
    for name in _EVENT_TYPE_HEADERS:
        value = headers.get(name)
        if value:
            return str(value)
    return None


def check_storable(event: NewEvent) -> None:
    """Refuse text no store can hold: a NUL character (PostgreSQL's text and jsonb reject it).

    Raises ``PayloadError`` (400). Checked before the append, so that one such request is
    refused alone instead of failing the group commit it would have joined. Only the fields a
    NUL can reach are checked: the decoded path (``%00``) and its parameters, and values taken
    from the body (type, sender). HTTP parsers refuse NUL in the request line and headers,
    and the query string is kept percent-encoded.
    """
    if (
        "\x00" in event.path
        or (event.type is not None and "\x00" in event.type)
        or (event.sender is not None and "\x00" in event.sender)
        or any(isinstance(v, str) and "\x00" in v for v in event.params.values())
    ):
        raise PayloadError("the request contains a NUL character, which cannot be stored")


def check_delivery_id(value: str) -> str:
    """Reject delivery ids that are too long or not printable ASCII (``PayloadError``, 400)."""
    if len(value) > MAX_DELIVERY_ID:
        raise PayloadError(f"delivery id is longer than {MAX_DELIVERY_ID} characters")
    if not value.isascii() or not value.isprintable():
        raise PayloadError("delivery id must be printable ASCII")
    return value
