"""Store contract: claiming due work, per-endpoint caps and ordering, lease expiry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence

import pytest

from hookport.events import EventStatus, HandlerOutcome, NewEvent
from hookport.store.base import LEASE_EXPIRED, Finish, LeaseRequest, Store

pytestmark = pytest.mark.anyio

StoreFactory = Callable[..., Awaitable[Store]]
EventFactory = Callable[..., NewEvent]


def lease_request(
    owner: str,
    now: float,
    *,
    limit: int = 10,
    seconds: float = 60,
    endpoints: Sequence[str] | None = None,
    limits: Mapping[str, int] | None = None,
) -> LeaseRequest:
    return LeaseRequest(owner, limit, seconds, now, endpoints=endpoints, limits=limits)


def ok(handler: str, at: float) -> HandlerOutcome:
    return HandlerOutcome(handler, ok=True, started_at=at, finished_at=at + 0.1)


async def append_all(store: Store, events: Sequence[NewEvent]) -> list[str]:
    return [(await store.append(e)).id for e in events]


async def test_lease_claims_oldest_first_and_marks_processing(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    ids = await append_all(store, [make_event() for _ in range(5)])
    leased = await store.lease(lease_request("w1", t0, limit=3, seconds=30))
    assert [e.id for e in leased] == ids[:3]
    assert all(e.status == EventStatus.PROCESSING and e.attempt == 1 for e in leased)
    rest = await store.lease(lease_request("w2", t0, limit=10))
    assert [e.id for e in rest] == ids[3:]
    assert await store.lease(lease_request("w3", t0)) == []


async def test_lease_only_the_requested_receivers(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    gh, gl, st = await append_all(
        store, [make_event("github"), make_event("gitlab"), make_event("stripe")]
    )
    leased = await store.lease(lease_request("w", t0, endpoints=["gitlab", "stripe"]))
    assert [e.id for e in leased] == [gl, st]
    assert await store.lease(lease_request("w", t0, endpoints=[])) == []
    assert [e.id for e in await store.lease(lease_request("w", t0))] == [gh]


async def test_limit_caps_live_leases_of_an_endpoint(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    ids = await append_all(store, [make_event("slow") for _ in range(5)] + [make_event("fast")])
    limits = {"slow": 2}
    first = await store.lease(lease_request("w1", t0, limits=limits))
    assert [e.id for e in first] == [ids[0], ids[1], ids[5]]
    assert await store.lease(lease_request("w2", t0, limits=limits)) == []
    assert await store.finish(Finish.done(ids[0], "w1", [ok("h", t0)]))
    again = await store.lease(lease_request("w2", t0, limits=limits))
    assert [e.id for e in again] == [ids[2]]


async def test_concurrency_one_is_ordered(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    a1, a2, b1 = await append_all(
        store, [make_event("ordered"), make_event("ordered"), make_event("other")]
    )
    limits = {"ordered": 1}
    leased = await store.lease(lease_request("w", t0, limits=limits))
    assert [e.id for e in leased] == [a1, b1]
    assert await store.finish(Finish.done(b1, "w", []))
    # While a1 waits for its retry, a2 must not overtake it, even though a2 is due.
    assert await store.finish(Finish.retry(a1, "w", [], t0 + 100, "boom"))
    assert await store.lease(lease_request("w", t0 + 1, limits=limits)) == []
    retried = await store.lease(lease_request("w", t0 + 100, limits=limits))
    assert [(e.id, e.attempt) for e in retried] == [(a1, 2)]
    assert await store.finish(Finish.dead(a1, "w", [], "gave up"))
    assert [e.id for e in await store.lease(lease_request("w", t0 + 100, limits=limits))] == [a2]


async def test_retrying_event_is_due_only_after_its_time(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    (eid,) = await append_all(store, [make_event()])
    await store.lease(lease_request("w", t0))
    assert await store.finish(Finish.retry(eid, "w", [], t0 + 30, "boom"))
    assert await store.lease(lease_request("w", t0 + 29.9)) == []
    (again,) = await store.lease(lease_request("w", t0 + 30))
    assert (again.id, again.attempt, again.last_error) == (eid, 2, "boom")


async def test_expired_lease_is_claimed_again_and_the_old_owner_loses_it(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    (eid,) = await append_all(store, [make_event()])
    await store.lease(lease_request("dead-worker", t0, seconds=10))
    assert await store.lease(lease_request("w2", t0 + 9.9)) == []
    (event,) = await store.lease(lease_request("w2", t0 + 10))
    assert (event.id, event.attempt, event.status) == (eid, 2, EventStatus.PROCESSING)
    assert not await store.finish(Finish.done(eid, "dead-worker", [ok("h", t0)]))
    assert await store.finish(Finish.done(eid, "w2", [ok("h", t0)]))


async def test_expired_leases_do_not_count_against_the_cap(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    a1, _a2 = await append_all(store, [make_event("capped"), make_event("capped")])
    limits = {"capped": 1}
    assert [e.id for e in await store.lease(lease_request("w1", t0, seconds=5, limits=limits))] == [
        a1
    ]
    (again,) = await store.lease(lease_request("w2", t0 + 5, limits=limits))
    assert (again.id, again.attempt) == (a1, 2)


async def test_renew_extends_the_lease(store: Store, make_event: EventFactory, t0: float) -> None:
    (eid,) = await append_all(store, [make_event()])
    await store.lease(lease_request("w", t0, seconds=10))
    await store.renew("other", [eid], t0 + 1000)  # not the owner: no effect
    await store.renew("w", [eid], t0 + 100)
    assert await store.lease(lease_request("w2", t0 + 50)) == []
    assert [e.id for e in await store.lease(lease_request("w2", t0 + 100))] == [eid]


async def test_concurrent_leasers_never_share_an_event(
    store_factory: StoreFactory, make_event: EventFactory, t0: float
) -> None:
    first = await store_factory()
    second = await store_factory()
    ids = await append_all(first, [make_event(f"ep{i % 3}") for i in range(60)])
    batches = await asyncio.gather(
        *(s.lease(lease_request(f"w{i}", t0, limit=15)) for i, s in enumerate([first, second] * 3))
    )
    claimed = [e.id for batch in batches for e in batch]
    assert len(claimed) == len(set(claimed))
    assert sorted(claimed) == sorted(ids[: len(claimed)]) or set(claimed) <= set(ids)
    assert len(claimed) == 60


async def test_concurrent_leasers_respect_caps(
    store_factory: StoreFactory, make_event: EventFactory, t0: float
) -> None:
    first = await store_factory()
    second = await store_factory()
    await append_all(first, [make_event("capped") for _ in range(20)])
    limits = {"capped": 3}
    batches = await asyncio.gather(
        *(
            s.lease(lease_request(f"w{i}", t0, limits=limits))
            for i, s in enumerate([first, second] * 3)
        )
    )
    assert sum(len(batch) for batch in batches) == 3


async def test_a_claim_after_an_expired_lease_says_so_in_last_error(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    first, second = await append_all(store, [make_event(), make_event()])
    [held] = await store.lease(lease_request("w1", t0, limit=1, seconds=10))
    assert held.id == first and held.last_error is None  # a fresh claim
    again = await store.lease(lease_request("w2", t0 + 11))
    by_id = {e.id: e for e in again}
    assert by_id[first].last_error == LEASE_EXPIRED  # w1's lease expired: counted as such
    assert by_id[second].last_error is None


async def test_endpoint_counts_group_by_endpoint_and_status_with_the_oldest_due(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    a1, _a2, _b1 = await append_all(
        store,
        [
            make_event("a", received_at=t0 - 50),
            make_event("a", received_at=t0 - 40),
            make_event("b", received_at=t0 - 30),
        ],
    )
    [held] = await store.lease(lease_request("w", t0, limit=1, seconds=60, endpoints=["a"]))
    assert held.id == a1
    rows = {(r.endpoint, r.status): r for r in await store.endpoint_counts(t0)}
    assert {k: r.count for k, r in rows.items()} == {
        ("a", "processing"): 1,
        ("a", "queued"): 1,
        ("b", "queued"): 1,
    }
    assert rows[("a", "processing")].due_since is None  # its lease is live: not due
    assert rows[("a", "queued")].due_since == pytest.approx(t0 - 40)
    assert rows[("b", "queued")].due_since == pytest.approx(t0 - 30)
    later = {(r.endpoint, r.status): r for r in await store.endpoint_counts(t0 + 61)}
    assert later[("a", "processing")].due_since == pytest.approx(t0 + 60)  # expired: due again


async def test_trace_context_is_stored_on_append_and_read_on_lease(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    traced, plain = make_event(trace_context=parent), make_event()
    await append_all(store, [traced, plain])
    leased = {e.id: e for e in await store.lease(lease_request("w1", t0))}
    assert leased[traced.id].trace_context == parent
    assert leased[plain.id].trace_context is None
    shown = await store.get(traced.id)
    assert shown is not None and shown.trace_context == parent
