"""Store contract: rejected deliveries are kept as metadata, newest first, bounded by count and
age, on both backends."""

from __future__ import annotations

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
    assert found[2] == first  # every field survives, header names in order
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


def test_the_filter_limit_is_bounded() -> None:
    with pytest.raises(ValueError, match="limit must be between"):
        RejectionFilter(limit=0)
