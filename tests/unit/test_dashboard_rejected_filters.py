"""The rejected page's filter form: what each parameter means, and the 400s for what does not
parse."""

from __future__ import annotations

import pytest

from hookport.admin import rejected
from hookport.admin.filters import FilterError
from hookport.store.base import RejectionFilter

NOW = 1_760_000_000.0


def test_parameters_make_one_store_filter() -> None:
    view = rejected.parse(
        {
            "status": "401",
            "endpoint": " shop:/signed ",
            "range": "1h",
            "until": "2025-10-09T09:00",
            "size": "25",
            "before": "1207",
            "n": "50",
        },
        NOW,
    )
    f = view.filter
    assert (f.status, f.endpoint, f.no_endpoint) == (401, "shop:/signed", False)
    assert (f.since, f.until) == (NOW - 3600, 1_760_000_400.0)  # 09:00 UTC
    assert (f.limit, f.before_id, view.offset) == (25, 1207, 50)
    assert view.query(before=None) == (
        "status=401&endpoint=shop%3A%2Fsigned&range=1h&until=2025-10-09T09%3A00&size=25"
    )


def test_the_no_endpoint_choice_and_the_defaults() -> None:
    f = rejected.parse({"endpoint": rejected.NO_ENDPOINT}, NOW).filter
    assert (f.endpoint, f.no_endpoint) == (None, True)
    plain = rejected.parse({}, NOW)
    assert plain.filter == RejectionFilter()
    assert (plain.offset, plain.query()) == (0, "")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "abc"}, "status: an HTTP status"),
        ({"status": "99"}, "status: an HTTP status"),
        ({"status": "600"}, "status: an HTTP status"),
        ({"status": "4" * 40}, "status: an HTTP status"),
        ({"endpoint": "x" * 201}, "endpoint: at most 200"),
        ({"range": "2h"}, "range: one of 15m, 1h, 24h, 7d"),
        ({"since": "yesterday"}, "since: not a time"),
        ({"size": "1000"}, "size: one of 25, 50, 100"),
        ({"before": "01a2"}, "before: a rejection id"),
        ({"before": "9" * 19}, "before: a rejection id"),
        ({"n": "-1"}, "n: a count"),
    ],
)
def test_what_does_not_parse_says_which(params: dict[str, str], message: str) -> None:
    with pytest.raises(FilterError, match=message):
        rejected.parse(params, NOW)
