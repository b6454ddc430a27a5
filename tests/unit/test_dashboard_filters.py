"""The dashboard's filter form: what each parameter means, and the 400s for what does not parse."""

from __future__ import annotations

import pytest

from hookport.admin import filters
from hookport.events import EventStatus

NOW = 1_760_000_000.0


def test_parameters_make_one_store_filter() -> None:
    view = filters.parse(
        {
            "status": "dead",
            "endpoint": " stripe ",
            "type": "charge",
            "q": "01a2",
            "range": "1h",
            "until": "2025-10-09T09:00",
            "size": "25",
            "before": "0" * 32,
            "n": "50",
        },
        NOW,
    )
    f = view.filter
    assert (f.status, f.endpoint_contains, f.type_contains, f.id_prefix) == (
        EventStatus.DEAD,
        "stripe",
        "charge",
        "01a2",
    )
    assert (f.since, f.until) == (NOW - 3600, 1_760_000_400.0)  # 09:00 UTC
    assert (f.limit, f.before_id, view.offset) == (25, "0" * 32, 50)
    assert view.query(before=None) == (
        "status=dead&endpoint=stripe&type=charge&q=01a2&range=1h&until=2025-10-09T09%3A00&size=25"
    )
    assert view.described()[:2] == ["status dead", "endpoint contains “stripe”"]
    bulk = filters.parse({"before": "junk", "size": "7"}, NOW, paged=False)  # pages aside
    assert (bulk.filter.limit, bulk.filter.before_id) == (50, None)
    assert bulk.described() == ["every event"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "lost"}, "status: one of"),
        ({"since": "yesterday"}, "since: not a time"),
        ({"range": "2y"}, "range: one of"),
        ({"size": "1000"}, "size: one of"),
        ({"before": "'; drop table events"}, "before: an event id"),
        ({"n": "-1"}, "n: a count"),
        ({"endpoint": "x" * 201}, "endpoint: at most 200"),
        ({"q": "x" * 65}, "q: an id prefix"),
    ],
)
def test_what_does_not_parse_is_named(params: dict[str, str], message: str) -> None:
    with pytest.raises(filters.FilterError, match=message):
        filters.parse(params, NOW)
