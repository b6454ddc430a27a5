"""Store contract: appends, group commit, dedupe, wake-ups, shutdown flush."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from hookport.errors import StoreUnavailable
from hookport.events import EventStatus, NewEvent, RecordedResponse
from hookport.store.base import EventFilter, LeaseRequest, Store

pytestmark = pytest.mark.anyio

StoreFactory = Callable[..., Awaitable[Store]]
EventFactory = Callable[..., NewEvent]


async def test_append_then_get_round_trips_every_field(
    store: Store, make_event: EventFactory
) -> None:
    new = make_event(delivery_id="d-1", body=b"\x00\xffbinary")
    result = await store.append(new)
    assert result.id == new.id
    assert not result.duplicate
    event = await store.get(new.id)
    assert event is not None
    assert (event.id, event.kind, event.plugin, event.endpoint) == (
        new.id,
        "receiver",
        "demo",
        "github",
    )
    assert (event.type, event.delivery_id, event.received_at) == ("push", "d-1", new.received_at)
    assert (event.method, event.path, event.query_string) == ("POST", "/github", "a=1&a=2")
    assert event.headers == new.headers
    assert event.body == b"\x00\xffbinary"
    assert event.params == {"org": "octo"}
    assert (event.sender, event.source_ip) == ("octocat", "192.0.2.7")
    assert event.status == EventStatus.QUEUED
    assert event.attempt == 0
    assert event.done_handlers == frozenset()
    assert event.attempts == ()
    assert event.response is None


async def test_get_unknown_id_is_none(store: Store) -> None:
    assert await store.get("0" * 32) is None


async def test_route_events_are_recorded_done_with_their_response(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    response = RecordedResponse(201, [("Content-Type", "text/plain")], b"hello")
    new = make_event(kind="route", status=EventStatus.DONE, response=response, type=None)
    await store.append(new)
    event = await store.get(new.id)
    assert event is not None
    assert event.status == EventStatus.DONE
    assert event.response == response
    assert await store.lease(_lease("w", t0)) == []


async def test_duplicate_delivery_returns_the_first_id(
    store: Store, make_event: EventFactory
) -> None:
    first = await store.append(make_event(delivery_id="abc"))
    again = await store.append(make_event(delivery_id="abc"))
    assert again.duplicate
    assert again.id == first.id
    other_endpoint = await store.append(make_event("gitlab", delivery_id="abc"))
    assert not other_endpoint.duplicate
    no_id = [await store.append(make_event(delivery_id=None)) for _ in range(2)]
    assert not any(r.duplicate for r in no_id)
    assert len(await store.list(EventFilter())) == 4


async def test_concurrent_duplicates_in_one_batch_store_one_event(
    store: Store, make_event: EventFactory
) -> None:
    results = await asyncio.gather(
        *(store.append(make_event(delivery_id="same")) for _ in range(20))
    )
    stored = await store.list(EventFilter())
    assert len(stored) == 1
    assert {r.id for r in results} == {stored[0].id}
    assert sum(not r.duplicate for r in results) == 1


async def test_concurrent_duplicates_across_batches_store_one_event(
    store_factory: StoreFactory, make_event: EventFactory
) -> None:
    # batch_max=1: every append is its own transaction, so dedupe must find the stored row.
    store = await store_factory(batch_max=1)
    other = await store_factory()
    events = [make_event(delivery_id="same") for _ in range(10)]
    results = await asyncio.gather(
        *(s.append(e) for s, e in zip([store, other] * 5, events, strict=True))
    )
    stored = await store.list(EventFilter())
    assert len(stored) == 1
    assert {r.id for r in results} == {stored[0].id}
    assert sum(not r.duplicate for r in results) == 1


async def test_batch_keeps_arrival_order(store: Store, make_event: EventFactory, t0: float) -> None:
    events = [make_event(delivery_id=f"d{i}") for i in range(50)]
    await asyncio.gather(*(store.append(e) for e in events))
    leased = await store.lease(_lease("w", t0, limit=100))
    assert [e.id for e in leased] == [e.id for e in events]


async def test_full_append_queue_is_unavailable_at_once(
    store_factory: StoreFactory, make_event: EventFactory
) -> None:
    store = await store_factory(queue_max=2)
    results = await asyncio.gather(
        *(store.append(make_event()) for _ in range(10)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, StoreUnavailable)]
    assert len(refused) == 8
    assert all(isinstance(r, StoreUnavailable) and r.retry_after > 0 for r in refused)
    assert len(await store.list(EventFilter())) == 2


async def test_close_flushes_queued_appends(
    store_factory: StoreFactory, make_event: EventFactory
) -> None:
    store = await store_factory()
    tasks = [asyncio.ensure_future(store.append(make_event())) for _ in range(30)]
    await asyncio.sleep(0)  # let the appends enqueue (no commit can have finished yet)
    await store.close()
    results = [task.result() for task in tasks]
    assert len({r.id for r in results}) == 30
    with pytest.raises(StoreUnavailable):
        await store.append(make_event())
    reopened = await store_factory()
    assert len(await reopened.list(EventFilter(limit=100))) == 30


async def test_append_wakes_a_waiting_worker(store: Store, make_event: EventFactory) -> None:
    waiter = asyncio.ensure_future(store.wait_for_work(timeout=60))
    await asyncio.sleep(0)
    await store.append(make_event())
    await asyncio.wait_for(waiter, timeout=10)


async def test_wait_for_work_returns_after_timeout(store: Store) -> None:
    await asyncio.wait_for(store.wait_for_work(timeout=0.05), timeout=10)


def _lease(owner: str, now: float, limit: int = 10) -> LeaseRequest:
    return LeaseRequest(owner=owner, limit=limit, lease_seconds=60, now=now)


async def test_one_batch_of_bodies_of_every_size_round_trips_byte_for_byte(
    store: Store, make_event: EventFactory
) -> None:
    # Appends committed together: PostgreSQL sends a batch's bodies as one value and cuts it
    # apart, so neighbours, empty bodies and every byte value must come back exact.
    bodies = [b"", b"\x00", bytes(range(256)), b"x" * 70_000, b"", b"{}", b"\xff" * 3]
    events = [make_event(body=body) for body in bodies]
    await asyncio.gather(*(store.append(e) for e in events))
    for event, body in zip(events, bodies, strict=True):
        stored = await store.get(event.id)
        assert stored is not None
        assert stored.body == body


async def test_an_event_the_store_refuses_fails_alone_not_its_batch(
    store: Store, make_event: EventFactory
) -> None:
    # kind violates the table's CHECK constraint on both backends: the batch it joined fails,
    # and the store commits the others one by one so only the bad event is refused.
    good = [make_event(delivery_id=f"g{i}") for i in range(4)]
    bad = make_event(kind="bogus")
    again = make_event(delivery_id="g0")  # folded onto good[0] in the same batch
    results = await asyncio.gather(
        *(store.append(e) for e in [good[0], good[1], bad, good[2], again, good[3]]),
        return_exceptions=True,
    )
    assert isinstance(results[2], StoreUnavailable)
    assert [r.id for r in results if not isinstance(r, BaseException)] == [
        good[0].id,
        good[1].id,
        good[2].id,
        good[0].id,
        good[3].id,
    ]
    assert not isinstance(results[4], BaseException) and results[4].duplicate
    stored = {e.id for e in await store.list(EventFilter(limit=100))}
    assert stored == {e.id for e in good}
