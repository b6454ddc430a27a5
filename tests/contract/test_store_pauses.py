"""Store contract: paused endpoints keep appending, are never leased, and resume in order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import pytest

from hookport.events import EventStatus, NewEvent
from hookport.store.base import Finish, LeaseRequest, Pause, Store

pytestmark = pytest.mark.anyio

StoreFactory = Callable[..., Awaitable[Store]]
EventFactory = Callable[..., NewEvent]


def lease(
    owner: str,
    now: float,
    *,
    endpoints: Sequence[str] | None = ("github", "gitlab"),
    limits: dict[str, int] | None = None,
    limit: int = 100,
) -> LeaseRequest:
    return LeaseRequest(owner, limit, 60, now, endpoints=endpoints, limits=limits)


async def append_all(store: Store, events: Sequence[NewEvent]) -> list[str]:
    return [(await store.append(e)).id for e in events]


@pytest.mark.parametrize("named", [True, False], ids=["endpoints-named", "all-endpoints"])
@pytest.mark.parametrize("cap", [None, 1, 3], ids=["uncapped", "ordered", "capped"])
async def test_a_paused_endpoint_stores_but_is_never_leased_until_resumed(
    store: Store, make_event: EventFactory, t0: float, named: bool, cap: int | None
) -> None:
    await store.pause(Pause("github", t0 - 10, None, "test"))
    held = await append_all(store, [make_event("github") for _ in range(5)])
    other = await append_all(store, [make_event("gitlab") for _ in range(2)])
    limits = {"github": cap} if cap else None
    endpoints = ("github", "gitlab") if named else None
    first = await store.lease(lease("w1", t0, endpoints=endpoints, limits=limits))
    assert [e.id for e in first] == other
    assert await store.lease(lease("w2", t0, endpoints=endpoints, limits=limits)) == []
    counts = await store.counts()
    assert counts[EventStatus.QUEUED] == 5

    assert await store.resume("github", t0) is True
    taken: list[str] = []
    while batch := await store.lease(lease("w3", t0, endpoints=endpoints, limits=limits)):
        for event in batch:  # finished, so that a cap lets the next ones through
            taken.append(event.id)
            assert await store.finish(Finish.done(event.id, "w3", []))
    assert taken == held  # oldest first, every one of them


async def test_pauses_list_only_those_in_force_and_expire_by_themselves(
    store: Store, make_event: EventFactory, t0: float
) -> None:
    await store.pause(Pause("github", t0 - 100, t0 + 30, "alice"))
    await store.pause(Pause("gitlab", t0 - 100, t0 - 1, "bob"))  # expired already
    assert await store.pauses(t0) == [Pause("github", t0 - 100, t0 + 30, "alice")]
    (event_id,) = await append_all(store, [make_event("github")])
    assert await store.lease(lease("w", t0)) == []
    later = await store.lease(lease("w", t0 + 31))  # the pause ran out: no resume needed
    assert [e.id for e in later] == [event_id]
    assert await store.pauses(t0 + 31) == []
    assert await store.resume("gitlab", t0) is False  # expired: it was not in force


async def test_pausing_again_replaces_the_pause(store: Store, t0: float) -> None:
    await store.pause(Pause("github", t0 - 5, t0 + 5, "alice"))
    await store.pause(Pause("github", t0, None, "bob"))
    assert await store.pauses(t0 + 10) == [Pause("github", t0, None, "bob")]
    assert await store.resume("github", t0) is True
    assert await store.resume("github", t0) is False
    assert await store.pauses(t0) == []


async def test_a_pause_holds_for_other_stores_and_after_a_restart(
    store_factory: StoreFactory, make_event: EventFactory, t0: float
) -> None:
    first = await store_factory()
    await first.pause(Pause("github", t0, None, "ops"))
    (event_id,) = await append_all(first, [make_event("github")])
    await first.close()  # the process that paused it is gone
    second = await store_factory()  # another process, or the same one restarted
    assert [p.endpoint for p in await second.pauses(t0)] == ["github"]
    assert await second.lease(lease("w", t0)) == []
    third = await store_factory()
    assert await third.resume("github", t0)
    assert [e.id for e in await second.lease(lease("w", t0))] == [event_id]
