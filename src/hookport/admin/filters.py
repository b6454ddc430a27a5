"""What the dashboard's deliveries filter means: query parameters to an :class:`EventFilter`.

One form drives the list, its totals, its live updates and the bulk actions, so they all read
the same parameters here: ``status``; ``endpoint`` and ``type`` (substrings, any case: ``stripe``
finds ``shop:/stripe``); ``q`` (the start of an event id or of a delivery id); ``range`` (the
last ``15m``, ``1h``, ``24h`` or ``7d``) or ``since`` / ``until`` (``YYYY-MM-DDTHH:MM``, UTC, as
a ``datetime-local`` input sends them); ``size`` (25, 50 or 100 a page); ``before`` (the keyset
cursor: the last event id of the previous page) and ``n`` (how many newer events the previous
pages showed, for "51-100 of 1,234").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hookport.events import EventStatus
from hookport.store.base import MAX_PREFIX, EventFilter

RANGES = {"15m": 900.0, "1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
"""The time-range choices: name -> seconds back from now."""

SIZES = (25, 50, 100)
"""Page sizes the form offers (50 by default)."""

FIELDS = ("status", "endpoint", "type", "q", "range", "since", "until", "size")
"""The parameters that make the filter (what links to other pages carry along)."""

MAX_TEXT = 200
"""The longest substring filter taken."""

_ID = re.compile(r"[0-9a-f]{32}")
_STATUSES = {s.value for s in EventStatus}


def query_string(shown: Mapping[str, str], changes: Mapping[str, str | int | None]) -> str:
    """The query string of a page's ``shown`` filter with ``changes`` (None or "" drops one)."""
    values: dict[str, str | int] = {k: v for k, v in shown.items() if v}
    for key, value in changes.items():
        if value is None or value == "":
            values.pop(key, None)
        else:
            values[key] = value
    return urlencode(values)


class FilterError(ValueError):
    """A filter parameter that does not parse (the page answers 400 and says which)."""


@dataclass(frozen=True)
class Deliveries:
    """A parsed filter form: the store filter of this page, and what the form shows again."""

    filter: EventFilter
    shown: dict[str, str] = field(default_factory=dict)
    offset: int = 0

    def query(self, **changes: str | int | None) -> str:
        """The query string of this filter with ``changes`` (None drops a parameter)."""
        return query_string(self.shown, changes)

    def described(self) -> list[str]:
        """The filter in words, for the bulk-action preview."""
        f, words = self.filter, []
        if f.status is not None:
            words.append(f"status {f.status.value}")
        if f.endpoint_contains:
            words.append(f"endpoint contains “{f.endpoint_contains}”")
        if f.type_contains:
            words.append(f"type contains “{f.type_contains}”")
        if f.id_prefix:
            words.append(f"id or delivery id starts with “{f.id_prefix}”")
        if self.shown.get("range"):
            words.append(f"received in the last {self.shown['range']}")
        if self.shown.get("since"):
            words.append(f"received from {self.shown['since']} UTC")
        if self.shown.get("until"):
            words.append(f"received before {self.shown['until']} UTC")
        return words or ["every event"]


def utc_time(name: str, text: str) -> float:
    """The Unix time of ``text`` (``YYYY-MM-DDTHH:MM``, UTC unless it says otherwise), for the
    parameter ``name``; :class:`FilterError` if it is not a time."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name}: not a time (YYYY-MM-DDTHH:MM, UTC): {text[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def parse(params: Mapping[str, str], now: float, *, paged: bool = True) -> Deliveries:
    """The filter of ``params`` (a page's query, or a bulk form's fields) at ``now``.

    ``paged``: read ``size``, ``before`` and ``n`` too. Raises :class:`FilterError`.
    """
    get = {k: str(params.get(k, "")).strip() for k in (*FIELDS, "before", "n")}
    for key in ("endpoint", "type", "q"):
        if len(get[key]) > MAX_TEXT:
            raise FilterError(f"{key}: at most {MAX_TEXT} characters")
    if get["status"] and get["status"] not in _STATUSES:
        raise FilterError(f"status: one of {', '.join(sorted(_STATUSES))}")
    if len(get["q"]) > MAX_PREFIX:
        raise FilterError(f"q: an id prefix has at most {MAX_PREFIX} characters")
    since = until = None
    if get["range"]:
        if get["range"] not in RANGES:
            raise FilterError(f"range: one of {', '.join(RANGES)}")
        since = now - RANGES[get["range"]]
    if get["since"]:
        since = max(since or -1e18, utc_time("since", get["since"]))
    if get["until"]:
        until = utc_time("until", get["until"])
    size, before, offset = _page(get) if paged else (50, None, 0)
    flt = EventFilter(
        status=EventStatus(get["status"]) if get["status"] else None,
        endpoint_contains=get["endpoint"] or None,
        type_contains=get["type"] or None,
        id_prefix=get["q"] or None,
        since=since,
        until=until,
        limit=size,
        before_id=before,
    )
    shown = {k: get[k] for k in FIELDS if get[k]}
    return Deliveries(flt, shown, offset)


def _page(get: Mapping[str, str]) -> tuple[int, str | None, int]:
    """Page size, keyset cursor and offset of a page's parameters."""
    size, before, offset = 50, None, 0
    if get["size"]:
        if get["size"] not in {str(s) for s in SIZES}:
            raise FilterError(f"size: one of {', '.join(map(str, SIZES))}")
        size = int(get["size"])
    if get["before"]:
        if not _ID.fullmatch(get["before"]):
            raise FilterError("before: an event id (32 hex digits)")
        before = get["before"]
    if get["n"]:
        if not get["n"].isdigit() or len(get["n"]) > 9:
            raise FilterError("n: a count of events")
        offset = int(get["n"])
    return size, before, offset
