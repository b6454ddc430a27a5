"""Store contract: listing, counting, pruning and scheduling queries."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hookport.events import EventStatus, HandlerOutcome, NewEvent
from hookport.store.base import EventFilter, Finish, LeaseRequest, Store

pytestmark = pytest.mark.anyio

EventFactory = Callable[..., NewEvent]


async def test_list_filters_newest_first_with_keyset_pages(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    events = [
        make_event("github", type="push"),
        make_event("github", type="issues.opened"),
        make_event("stripe", type="charge.succeeded"),
        make_event("github", type="push"),
    ]
    for e in events:
        await store.append(e)
    ids = [e.id for e in events]
    assert [e.id for e in await store.list(EventFilter())] == ids[::-1]
    assert [e.id for e in await store.list(EventFilter(endpoint="github"))] == [
        ids[3],
        ids[1],
        ids[0],
    ]
    assert [e.id for e in await store.list(EventFilter(type="push"))] == [ids[3], ids[0]]
    assert [e.id for e in await store.list(EventFilter(since=events[2].received_at))] == [
        ids[3],
        ids[2],
    ]
    page = await store.list(EventFilter(limit=2))
    assert [e.id for e in page] == [ids[3], ids[2]]
    page2 = await store.list(EventFilter(limit=2, before_id=page[-1].id))
    assert [e.id for e in page2] == [ids[1], ids[0]]
    assert page2[0].body == b"" and page2[0].headers == []  # lists carry metadata only...
    whole = await store.get(page2[0].id)
    assert whole is not None and whole.body == events[1].body  # ...one event is loaded whole
    await store.lease(LeaseRequest("w", 1, 60, t0))
    assert [e.id for e in await store.list(EventFilter(status=EventStatus.PROCESSING))] == [ids[0]]
    assert [
        e.id for e in await store.list(EventFilter(status=EventStatus.QUEUED, endpoint="stripe"))
    ] == [ids[2]]


async def test_list_and_count_by_substring_time_and_id_prefix(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    events = [
        make_event("shop:/stripe", type="charge.succeeded", delivery_id="evt_1AbC"),
        make_event("github", type="push", delivery_id="d-77"),
        make_event("shop:/Stripe-eu", type="Charge.refunded"),
        make_event("gitlab", type=None),
    ]
    for e in events:
        await store.append(e)
    ids = [e.id for e in events]

    async def found(**fields: object) -> list[str]:
        flt = EventFilter(**fields)  # type: ignore[arg-type]
        listed = [e.id for e in await store.list(flt)]
        assert await store.count(flt, cap=100) == len(listed)  # one filter, one meaning
        return listed

    assert await found(endpoint="stripe") == []  # exact names stay exact
    assert await found(endpoint_contains="stripe") == [ids[2], ids[0]]  # any case
    assert await found(type_contains="CHARGE") == [ids[2], ids[0]]
    assert await found(endpoint_contains="git", type_contains="us") == [ids[1]]
    assert await found(since=events[1].received_at, until=events[3].received_at) == [
        ids[2],
        ids[1],
    ]
    assert await found(id_prefix=ids[1][:12].upper()) == [ids[1]]  # ids are hex, any case
    assert await found(id_prefix="evt_1A") == [ids[0]]  # a delivery id's start, exactly
    assert await found(id_prefix="EVT_1A") == []
    assert await found(id_prefix="%") == []  # no wildcards
    # Totals are bounded: the count stops at its cap.
    assert await store.count(EventFilter(), cap=3) == 3
    assert await store.count(EventFilter(), cap=100) == 4
    # Keyset pages through a substring filter.
    page = await store.list(EventFilter(endpoint_contains="s", limit=1))
    rest = await store.list(EventFilter(endpoint_contains="s", limit=10, before_id=page[0].id))
    assert [e.id for e in page + rest] == [ids[2], ids[0]]
    with pytest.raises(ValueError, match="prefix"):
        EventFilter(id_prefix="x" * 65)


async def test_arrivals_count_a_window_per_endpoint(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    old = make_event("github", received_at=t0 - 7200)
    hour = [make_event("github", received_at=t0 - 1800), make_event("stripe", received_at=t0 - 900)]
    recent = [make_event("github", received_at=t0 - 10) for _ in range(2)]
    for e in [old, *hour, *recent]:
        await store.append(e)
    assert await store.arrivals(t0 - 3600, t0 - 300) == {"github": (3, 2), "stripe": (1, 0)}
    assert await store.arrivals(t0 + 1, t0 + 1) == {}


async def test_delete_leaves_events_a_worker_holds(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    ids = [(await store.append(make_event())).id for _ in range(3)]
    (held,) = await store.lease(LeaseRequest("w", 1, 60, t0))
    assert held.id == ids[0]
    await store.finish(Finish.done(held.id, "w", []))
    (busy,) = await store.lease(LeaseRequest("w", 1, 60, t0))
    assert await store.delete([ids[2], busy.id, "f" * 32, ids[0]]) == [ids[2], ids[0]]
    assert await store.get(ids[0]) is None and await store.get(ids[2]) is None
    assert [e.id for e in await store.list(EventFilter())] == [busy.id]


async def test_ids_with_status_oldest_first(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    ids = [(await store.append(make_event())).id for _ in range(4)]
    for _ in range(3):
        (event,) = await store.lease(LeaseRequest("w", 1, 60, t0))
        await store.finish(Finish.dead(event.id, "w", [], "x"))
    assert await store.ids_with_status(EventStatus.DEAD) == ids[:3]
    assert await store.ids_with_status(EventStatus.DEAD, limit=2) == ids[:2]
    assert await store.ids_with_status(EventStatus.QUEUED) == ids[3:]


async def test_counts_every_status(store: Store, make_event: EventFactory, t0: float) -> None:
    assert await store.counts() == dict.fromkeys(EventStatus, 0)
    for _ in range(4):
        await store.append(make_event())
    await store.append(make_event(kind="route", status=EventStatus.DONE))
    (a,) = await store.lease(LeaseRequest("w", 1, 60, t0))
    await store.finish(Finish.dead(a.id, "w", [], "x"))
    (b,) = await store.lease(LeaseRequest("w", 1, 60, t0))
    await store.finish(Finish.retry(b.id, "w", [], t0 + 60, "x"))
    (c,) = await store.lease(LeaseRequest("w", 1, 60, t0))
    await store.finish(Finish.unhandled(c.id, "w"))
    await store.lease(LeaseRequest("w", 1, 60, t0))
    assert await store.counts() == {
        EventStatus.UNHANDLED: 1,
        EventStatus.QUEUED: 0,
        EventStatus.PROCESSING: 1,
        EventStatus.DONE: 1,
        EventStatus.RETRYING: 1,
        EventStatus.DEAD: 1,
    }


async def test_next_due(store: Store, make_event: EventFactory, t0: float) -> None:
    assert await store.next_due(t0) is None
    await store.append(make_event(kind="route", status=EventStatus.DONE))
    assert await store.next_due(t0) is None
    eid = (await store.append(make_event())).id
    assert await store.next_due(t0) == t0
    await store.lease(LeaseRequest("w", 1, 30, t0))
    assert await store.next_due(t0) == t0 + 30  # the lease expiry
    await store.finish(Finish.retry(eid, "w", [], t0 + 20, "x"))
    assert await store.next_due(t0) == t0 + 20
    assert await store.next_due(t0 + 25) == t0 + 25  # overdue: due now


async def test_prune_deletes_only_old_done_events(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    old = t0 - 100_000
    done_old = [make_event(received_at=old + i) for i in range(3)]
    for e in done_old:
        await store.append(e)
        (leased,) = await store.lease(LeaseRequest("w", 1, 60, t0))
        ok = HandlerOutcome("h", ok=True, started_at=t0, finished_at=t0)
        await store.finish(Finish.done(leased.id, "w", [ok]))
    route_old = make_event(kind="route", status=EventStatus.DONE, received_at=old + 10)
    dead_old = make_event(received_at=old + 11)
    queued_old = make_event(received_at=old + 12)
    done_new = make_event(kind="route", status=EventStatus.DONE, received_at=t0)
    for e in (route_old, dead_old, queued_old, done_new):
        await store.append(e)
    (d,) = await store.lease(LeaseRequest("w", 1, 60, t0))
    await store.finish(Finish.dead(d.id, "w", [], "x"))
    assert await store.prune(t0 - 1000, limit=2) == 2
    assert await store.prune(t0 - 1000, limit=100) == 2
    assert await store.prune(t0 - 1000, limit=100) == 0
    remaining = {e.id for e in await store.list(EventFilter())}
    assert remaining == {dead_old.id, queued_old.id, done_new.id}
    assert await store.get(done_old[0].id) is None


async def test_prune_removes_attempts_too(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    e = make_event(received_at=t0 - 100_000)
    await store.append(e)
    await store.lease(LeaseRequest("w", 1, 60, t0))
    await store.finish(Finish.done(e.id, "w", [HandlerOutcome("h", True, t0, t0)]))
    assert await store.prune(t0, 10) == 1
    # A new event with the same id would show stale attempts if they had survived.
    await store.append(make_event(id=e.id))
    again = await store.get(e.id)
    assert again is not None
    assert again.attempts == ()


async def test_ping(store: Store) -> None:
    await store.ping()
