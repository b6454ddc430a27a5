"""Store contract: recording outcomes, ownership, release and replay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from hookport.events import EventStatus, HandlerOutcome, NewEvent
from hookport.store.base import EventFilter, Finish, LeaseRequest, Store

pytestmark = pytest.mark.anyio

EventFactory = Callable[..., NewEvent]


def outcome(handler: str, at: float, error: str | None = None) -> HandlerOutcome:
    return HandlerOutcome(
        handler,
        ok=error is None,
        started_at=at,
        finished_at=at + 0.5,
        error=error,
        traceback=None if error is None else f"Traceback: {error}",
    )


async def leased(store: Store, make_event: EventFactory, now: float, owner: str = "w") -> str:
    eid = (await store.append(make_event())).id
    (event,) = await store.lease(LeaseRequest(owner, 1, 60, now))
    assert event.id == eid
    return eid


async def test_complete_records_attempts_and_done_handlers(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    assert await store.finish(Finish.done(eid, "w", [outcome("a", t0), outcome("b", t0)]))
    event = await store.get(eid)
    assert event is not None
    assert event.status == EventStatus.DONE
    assert event.done_handlers == {"a", "b"}
    assert [(a.attempt, a.handler, a.ok) for a in event.attempts] == [
        (1, "a", True),
        (1, "b", True),
    ]
    assert event.attempts[0].started_at == t0
    assert event.attempts[0].finished_at == t0 + 0.5
    assert await store.lease(LeaseRequest("w", 10, 60, t0 + 1000)) == []


async def test_retry_keeps_successful_handlers_and_the_error(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    outcomes = [outcome("a", t0), outcome("b", t0, error="ValueError: nope")]
    assert await store.finish(Finish.retry(eid, "w", outcomes, t0 + 5, "b: ValueError: nope"))
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.next_attempt_at, event.last_error) == (
        EventStatus.RETRYING,
        t0 + 5,
        "b: ValueError: nope",
    )
    assert event.done_handlers == {"a"}
    (again,) = await store.lease(LeaseRequest("w", 1, 60, t0 + 5))
    assert again.attempt == 2
    assert again.done_handlers == {"a"}
    assert await store.finish(Finish.done(eid, "w", [outcome("b", t0 + 6)]))
    final = await store.get(eid)
    assert final is not None
    assert [(a.attempt, a.handler, a.ok, a.error) for a in final.attempts] == [
        (1, "a", True, None),
        (1, "b", False, "ValueError: nope"),
        (2, "b", True, None),
    ]
    assert final.attempts[1].traceback == "Traceback: ValueError: nope"
    assert final.done_handlers == {"a", "b"}


async def test_kill_makes_the_event_dead(store: Store, make_event: EventFactory, t0: float) -> None:
    eid = await leased(store, make_event, t0)
    assert await store.finish(Finish.dead(eid, "w", [outcome("a", t0, error="boom")], "a: boom"))
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.last_error) == (EventStatus.DEAD, "a: boom")
    assert await store.lease(LeaseRequest("w", 10, 60, t0 + 10_000)) == []


async def test_outcomes_need_the_lease(store: Store, make_event: EventFactory, t0: float) -> None:
    eid = await leased(store, make_event, t0)
    assert not await store.finish(Finish.done(eid, "intruder", [outcome("a", t0)]))
    assert not await store.finish(Finish.retry(eid, "intruder", [outcome("a", t0)], t0, "x"))
    assert not await store.finish(Finish.dead(eid, "intruder", [outcome("a", t0)], "x"))
    assert not await store.finish(Finish.done("f" * 32, "w", []))
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.attempts) == (EventStatus.PROCESSING, ())
    assert await store.finish(Finish.done(eid, "w", []))
    assert not await store.finish(Finish.done(eid, "w", [outcome("a", t0)]))  # already done
    final = await store.get(eid)
    assert final is not None
    assert final.attempts == ()


async def test_release_does_not_count_the_attempt(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    await store.release([eid], "intruder")
    assert await store.lease(LeaseRequest("w2", 1, 60, t0)) == []
    await store.release([eid], "w")
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.attempt) == (EventStatus.QUEUED, 0)
    assert not await store.finish(Finish.done(eid, "w", []))
    (again,) = await store.lease(LeaseRequest("w2", 1, 60, t0))
    assert again.attempt == 1


async def test_release_of_a_retry_keeps_it_due(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    await store.finish(Finish.retry(eid, "w", [outcome("a", t0, error="x")], t0 + 10, "x"))
    await store.lease(LeaseRequest("w", 1, 60, t0 + 10))
    await store.release([eid], "w")
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.attempt) == (EventStatus.RETRYING, 1)
    (again,) = await store.lease(LeaseRequest("w", 1, 60, t0 + 10))
    assert again.attempt == 2


async def test_requeue_starts_a_fresh_round(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    await store.finish(Finish.dead(eid, "w", [outcome("a", t0), outcome("b", t0, error="x")], "x"))
    route = await store.append(make_event(kind="route", status=EventStatus.DONE))
    requeued = await store.requeue([eid, "f" * 32, route.id, eid], t0 + 50)
    assert requeued == [eid]
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.attempt, event.done_handlers) == (
        EventStatus.QUEUED,
        0,
        frozenset(),
    )
    assert len(event.attempts) == 2  # history is kept
    (again,) = await store.lease(LeaseRequest("w", 5, 60, t0 + 50))
    assert (again.id, again.attempt) == (eid, 1)
    assert await store.finish(Finish.done(eid, "w", [outcome("a", t0 + 51), outcome("b", t0 + 51)]))
    final = await store.get(eid)
    assert final is not None
    # Attempt numbers start again in the new round; each attempt names its round (replay), so
    # the history reads "original: attempt 1 (a, b); replay 1: attempt 1 (a, b)".
    assert [(a.replay, a.attempt, a.handler) for a in final.attempts] == [
        (0, 1, "a"),
        (0, 1, "b"),
        (1, 1, "a"),
        (1, 1, "b"),
    ]
    assert final.replays == 1
    assert [e.replays for e in await store.list(EventFilter()) if e.id == eid] == [1]
    await store.requeue([eid], t0 + 60)
    event = await store.get(eid)
    assert event is not None and event.replays == 2


async def test_requeue_wakes_a_waiting_worker(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    await store.finish(Finish.dead(eid, "w", [], "x"))
    await store.wait_for_work(0)  # consume the wake-up of the append
    waiter = asyncio.ensure_future(store.wait_for_work(timeout=60))
    await asyncio.sleep(0)
    await store.requeue([eid], t0)
    await asyncio.wait_for(waiter, timeout=10)


async def test_concurrent_outcome_writes_each_get_their_own_answer(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    ids = [(await store.append(make_event())).id for _ in range(40)]
    leased_now = await store.lease(LeaseRequest("w", 40, 60, t0))
    assert sorted(e.id for e in leased_now) == sorted(ids)
    # One event's lease is taken over by another worker after expiry.
    stolen = ids[7]
    await store.release([stolen], "w")
    assert [e.id for e in await store.lease(LeaseRequest("other", 1, 60, t0 + 1))] == [stolen]
    writes = []
    for n, eid in enumerate(ids):
        if n % 3 == 0:
            finish = Finish.retry(eid, "w", [outcome("h", t0, "E: x")], t0 + 9, "h: E: x")
        elif n % 3 == 1:
            finish = Finish.dead(eid, "w", [outcome("h", t0, "E: y")], "h: E: y")
        else:
            finish = Finish.done(eid, "w", [outcome("h", t0)])
        writes.append(store.finish(finish))
    answers = await asyncio.gather(*writes)
    assert answers == [eid != stolen for eid in ids]
    expected = {0: EventStatus.RETRYING, 1: EventStatus.DEAD, 2: EventStatus.DONE}
    for n, eid in enumerate(ids):
        event = await store.get(eid)
        assert event is not None
        if eid == stolen:
            assert (event.status, list(event.attempts)) == (EventStatus.PROCESSING, [])
        else:
            assert event.status == expected[n % 3]
            assert [(a.attempt, a.handler) for a in event.attempts] == [(1, "h")]


async def test_outcome_writes_for_one_event_apply_in_order(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    answers = await asyncio.gather(
        store.finish(Finish.done(eid, "intruder", [outcome("x", t0)])),
        store.finish(
            Finish.retry(eid, "w", [outcome("a", t0), outcome("b", t0, "E: b")], t0 + 5, "b")
        ),
        store.finish(Finish.done(eid, "w", [outcome("b", t0 + 1)])),
    )
    assert answers == [False, True, False]
    event = await store.get(eid)
    assert event is not None
    assert (event.status, event.next_attempt_at, event.last_error) == (
        EventStatus.RETRYING,
        t0 + 5,
        "b",
    )
    assert event.done_handlers == {"a"}
    assert [(a.attempt, a.handler, a.ok) for a in event.attempts] == [
        (1, "a", True),
        (1, "b", False),
    ]


async def test_concurrent_outcome_writes_keep_each_events_attempts_in_order(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    first = await leased(store, make_event, t0)
    outcomes = [outcome("a", t0), outcome("b", t0, "E")]
    await store.finish(Finish.retry(first, "w", outcomes, t0 + 1, "b: E"))
    (again,) = await store.lease(LeaseRequest("w", 1, 60, t0 + 1))
    assert again.id == first
    second = await leased(store, make_event, t0 + 1)
    handlers = ["c", "b", "a"]
    answers = await asyncio.gather(
        store.finish(Finish.done(first, "w", [outcome("b", t0 + 2)])),
        store.finish(
            Finish.dead(second, "w", [outcome(h, t0 + 2, f"E{h}") for h in handlers], "dead")
        ),
    )
    assert answers == [True, True]
    done = await store.get(first)
    dead = await store.get(second)
    assert done is not None and dead is not None
    assert (done.status, done.done_handlers) == (EventStatus.DONE, {"a", "b"})
    assert [(a.attempt, a.handler, a.ok) for a in done.attempts] == [
        (1, "a", True),
        (1, "b", False),
        (2, "b", True),
    ]
    assert (dead.status, dead.done_handlers, dead.last_error) == (
        EventStatus.DEAD,
        frozenset(),
        "dead",
    )
    assert [(a.attempt, a.handler, a.error) for a in dead.attempts] == [
        (1, "c", "Ec"),
        (1, "b", "Eb"),
        (1, "a", "Ea"),
    ]


async def test_unhandled_is_kept_counted_replayable_and_pruned_like_done(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    eid = await leased(store, make_event, t0)
    assert await store.finish(Finish.unhandled(eid, "w"))
    event = await store.get(eid)
    assert event is not None
    assert (event.status, list(event.attempts), event.last_error) == (
        EventStatus.UNHANDLED,
        [],
        None,
    )
    assert (await store.counts()).get(EventStatus.UNHANDLED) == 1
    assert await store.lease(LeaseRequest("w", 10, 60, t0 + 1000)) == []  # not work
    assert await store.requeue([eid], t0 + 1) == [eid]  # a handler exists now: replay
    (again,) = await store.lease(LeaseRequest("w", 1, 60, t0 + 1))
    assert await store.finish(Finish.unhandled(again.id, "w"))
    # Retention prunes unhandled events with the done ones (received at t0, before t0 + 1).
    assert await store.prune(t0 + 1, 100) == 1
    assert await store.get(eid) is None
