"""Store contract: rejected deliveries are kept as metadata, newest first, bounded by count and
age, on both backends."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hookport.store.base import Rejection, RejectionFilter, Store

pytestmark = pytest.mark.anyio


def rejection(at: float, endpoint: str | None = "p:/in", status: int = 401) -> Rejection:
    return Rejection(
        at=at,
        method="POST",
        path="/in",
        endpoint=endpoint,
        status=status,
        reason="invalid signature",
        source_ip="192.0.2.7",
        header_names=("content-type", "x-hub-signature-256"),
        body_size=7321,
    )


async def test_rejections_round_trip_newest_first_and_filtered(store: Store, t0: float) -> None:
    assert await store.rejections(RejectionFilter()) == []
    first = rejection(t0)
    unmatched = rejection(t0 + 1, endpoint=None, status=404)
    await store.record_rejections([first, unmatched], keep=100, before=t0 - 60)
    await store.record_rejections([rejection(t0 + 2, status=403)], keep=100, before=t0 - 60)
    found = await store.rejections(RejectionFilter())
    assert [r.at for r in found] == [t0 + 2, t0 + 1, t0]
    assert replace(found[2], id=None) == first  # every field survives, header names in order
    assert found[0].id is not None and found[1].id is not None and found[2].id is not None
    assert found[0].id > found[1].id > found[2].id  # ids grow with each record
    assert found[1].endpoint is None
    assert [r.status for r in await store.rejections(RejectionFilter(endpoint="p:/in"))] == [
        403,
        401,
    ]
    assert [r.at for r in await store.rejections(RejectionFilter(since=t0 + 1))] == [
        t0 + 2,
        t0 + 1,
    ]
    assert len(await store.rejections(RejectionFilter(limit=1))) == 1


async def test_rejections_are_pruned_by_count_and_age(store: Store, t0: float) -> None:
    await store.record_rejections([rejection(t0 + i) for i in range(10)], keep=4, before=t0)
    assert [r.at for r in await store.rejections(RejectionFilter())] == [
        t0 + 9,
        t0 + 8,
        t0 + 7,
        t0 + 6,
    ]
    # An empty batch writes nothing; the next batch prunes what grew too old.
    await store.record_rejections([], keep=4, before=t0 + 100)
    await store.record_rejections([rejection(t0 + 200)], keep=4, before=t0 + 100)
    assert [r.at for r in await store.rejections(RejectionFilter())] == [t0 + 200]


async def test_rejections_filter_by_status_endpoint_and_time_and_page_by_id(
    store: Store, t0: float
) -> None:
    """The dashboard's view: status, one endpoint or none, a time range, keyset pages, totals."""
    recorded = [
        rejection(t0 + i, endpoint=None if i % 3 == 0 else "p:/in", status=404 if i % 3 == 0 else 401)
        for i in range(12)
    ]  # fmt: skip
    await store.record_rejections(recorded, keep=100, before=t0 - 60)

    async def ats(flt: RejectionFilter) -> list[float]:
        return [r.at - t0 for r in await store.rejections(flt)]

    unmatched = RejectionFilter(no_endpoint=True)
    assert await ats(unmatched) == [9, 6, 3, 0]
    assert await store.count_rejections(unmatched, 100) == 4
    assert await ats(RejectionFilter(status=401, limit=3)) == [11, 10, 8]
    assert await store.count_rejections(RejectionFilter(status=401), 100) == 8
    assert await store.count_rejections(RejectionFilter(status=404, endpoint="p:/in"), 100) == 0
    window = RejectionFilter(since=t0 + 2, until=t0 + 6)  # since included, until not
    assert await ats(window) == [5, 4, 3, 2]
    assert await store.count_rejections(window, 100) == 4
    assert await store.count_rejections(RejectionFilter(), 5) == 5  # counted up to the cap
    assert await store.count_rejections(RejectionFilter(status=418), 100) == 0

    # Keyset pages: every rejection once, newest first, whatever the page size.
    seen: list[float] = []
    before: int | None = None
    while True:
        page = await store.rejections(RejectionFilter(limit=5, before_id=before))
        seen += [r.at - t0 for r in page]
        if len(page) < 5:
            break
        before = page[-1].id
    assert seen == list(range(11, -1, -1))
    # A cursor with the filters: the next page of the unmatched ones.
    first = await store.rejections(RejectionFilter(no_endpoint=True, limit=2))
    after = RejectionFilter(no_endpoint=True, before_id=first[-1].id)
    assert await ats(after) == [3, 0]
    assert await store.count_rejections(after, 100) == 4  # the total ignores the cursor


def test_the_filter_limit_is_bounded() -> None:
    with pytest.raises(ValueError, match="limit must be between"):
        RejectionFilter(limit=0)
    with pytest.raises(ValueError, match="exclude each other"):
        RejectionFilter(endpoint="p:/in", no_endpoint=True)
    with pytest.raises(ValueError, match="HTTP status"):
        RejectionFilter(status=4010)
