"""What the dashboard's rejected-deliveries filter means: query parameters to a
:class:`RejectionFilter`.

``status`` (an HTTP status, e.g. ``401``); ``endpoint`` (an endpoint's name, exactly, or
:data:`NO_ENDPOINT` for the paths no endpoint serves); ``range`` (the last ``15m``, ``1h``,
``24h`` or ``7d``) or ``since`` / ``until`` (``YYYY-MM-DDTHH:MM``, UTC) as on the deliveries
page; ``size`` (25, 50 or 100 a page); ``before`` (the keyset cursor: the last id of the
previous page) and ``n`` (how many newer rejections the previous pages showed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hookport.admin.filters import MAX_TEXT, RANGES, SIZES, FilterError, query_string, utc_time
from hookport.store.base import RejectionFilter

NO_ENDPOINT = "-"
"""The ``endpoint`` value that selects the rejections of paths no endpoint serves."""

FIELDS = ("status", "endpoint", "range", "since", "until", "size")
"""The parameters that make the filter (what the pager's links carry along)."""


@dataclass(frozen=True)
class Rejected:
    """A parsed filter form: the store filter of this page, and what the form shows again."""

    filter: RejectionFilter
    shown: dict[str, str] = field(default_factory=dict)
    offset: int = 0

    def query(self, **changes: str | int | None) -> str:
        """The query string of this filter with ``changes`` (None drops a parameter)."""
        return query_string(self.shown, changes)


def parse(params: Mapping[str, str], now: float) -> Rejected:
    """The filter of a page's query ``params`` at ``now``; raises :class:`FilterError`."""
    get = {k: str(params.get(k, "")).strip() for k in (*FIELDS, "before", "n")}
    if len(get["endpoint"]) > MAX_TEXT:
        raise FilterError(f"endpoint: at most {MAX_TEXT} characters")
    status = None
    if get["status"]:
        if not (get["status"].isdigit() and 100 <= int(get["status"][:4]) <= 599):
            raise FilterError("status: an HTTP status, e.g. 401")
        status = int(get["status"])
    since = until = None
    if get["range"]:
        if get["range"] not in RANGES:
            raise FilterError(f"range: one of {', '.join(RANGES)}")
        since = now - RANGES[get["range"]]
    if get["since"]:
        since = max(since or -1e18, utc_time("since", get["since"]))
    if get["until"]:
        until = utc_time("until", get["until"])
    size, before, offset = _page(get)
    endpoint = get["endpoint"]
    flt = RejectionFilter(
        status=status,
        endpoint=endpoint if endpoint and endpoint != NO_ENDPOINT else None,
        no_endpoint=endpoint == NO_ENDPOINT,
        since=since,
        until=until,
        limit=size,
        before_id=before,
    )
    return Rejected(flt, {k: get[k] for k in FIELDS if get[k]}, offset)


def _page(get: Mapping[str, str]) -> tuple[int, int | None, int]:
    """Page size, keyset cursor and offset of a page's parameters."""
    size, before, offset = 50, None, 0
    if get["size"]:
        if get["size"] not in {str(s) for s in SIZES}:
            raise FilterError(f"size: one of {', '.join(map(str, SIZES))}")
        size = int(get["size"])
    if get["before"]:
        if not get["before"].isdigit() or len(get["before"]) > 18:
            raise FilterError("before: a rejection id (a number)")
        before = int(get["before"])
    if get["n"]:
        if not get["n"].isdigit() or len(get["n"]) > 9:
            raise FilterError("n: a count of rejections")
        offset = int(get["n"])
    return size, before, offset
