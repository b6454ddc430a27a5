"""The worker against the real SQLite store: retries, dead events, replay, ordering, leases,
graceful stop, notifications.

Tests that need time to pass use a :class:`FakeClock` and ``drain()``; tests of the
background loop wait on conditions (``asyncio.Event``), never on fixed sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from worker_support import FakeClock, GatedStore, append, make_worker, status_of

from hookport.config import StoreSettings
from hookport.context import Context
from hookport.events import Event, EventStatus
from hookport.notify import RecordingNotifier
from hookport.plugin import Plugin
from hookport.store import open_store
from hookport.store.base import LeaseRequest, Store
from hookport.worker import Worker

FAST_BACKOFF = {"initial": 0.01, "max": 0.01}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """The real SQLite store, built the way the app builds it (``open_store``)."""
    opened = open_store(StoreSettings(url=f"sqlite:///{tmp_path / 'hookport.db'}"))
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def drain_until_settled(clock: FakeClock, worker: Worker, rounds: int = 20) -> None:
    """Run due work, let retry delays pass, repeat until a round finds nothing to do."""
    await worker.drain(timeout=10)
    for _ in range(rounds):
        clock.advance(60)
        if await worker.drain(timeout=10) == 0:
            return
    raise AssertionError(f"still busy after {rounds} rounds")


# -- retries, dead events, replay ---------------------------------------------------------------


@pytest.mark.anyio
async def test_a_failing_handler_is_retried_until_it_succeeds(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    calls: list[int] = []

    @hook
    def flaky(event: Event) -> None:
        calls.append(event.attempt)
        if len(calls) < 3:
            raise RuntimeError(f"failure {len(calls)}")

    event_id = await append(store, hook, at=clock())
    worker = make_worker(store, plugin, clock=clock, max_attempts=5, backoff=FAST_BACKOFF)

    assert await worker.drain(timeout=10) == 1
    event = await store.get(event_id)
    assert event is not None
    assert event.status is EventStatus.RETRYING
    assert event.last_error is not None
    assert "RuntimeError: failure 1" in event.last_error
    assert event.next_attempt_at is not None
    assert clock() + 0.005 <= event.next_attempt_at <= clock() + 0.01  # equal jitter

    await drain_until_settled(clock, worker)

    event = await store.get(event_id)
    assert event is not None
    assert event.status is EventStatus.DONE
    assert calls == [1, 2, 3]
    assert event.attempt == 3
    assert [(a.attempt, a.ok) for a in event.attempts] == [(1, False), (2, False), (3, True)]
    assert event.attempts[0].error == "RuntimeError: failure 1"


@pytest.mark.anyio
async def test_the_background_loop_retries_with_a_tiny_backoff(store: Store) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    succeeded = asyncio.Event()
    calls: list[int] = []

    @hook
    async def flaky(event: Event) -> None:
        calls.append(event.attempt)
        if len(calls) < 3:
            raise RuntimeError("not yet")
        succeeded.set()

    worker = make_worker(store, plugin, max_attempts=5, backoff=FAST_BACKOFF, poll_interval=5)
    await worker.start()
    try:
        event_id = await append(store, hook, at=1.0)  # the append wakes the loop
        await asyncio.wait_for(succeeded.wait(), 10)
    finally:
        await worker.stop(timeout=10)

    assert calls == [1, 2, 3]
    assert await status_of(store, event_id) is EventStatus.DONE


@pytest.mark.anyio
async def test_an_event_is_dead_after_max_attempts_with_error_and_traceback_kept(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook", max_attempts=3)
    calls: list[int] = []

    @hook
    def always_fails(event: Event) -> None:
        calls.append(event.attempt)
        raise ValueError(f"bad payload on attempt {event.attempt}")

    event_id = await append(store, hook, at=clock())
    worker = make_worker(store, plugin, clock=clock, max_attempts=8, backoff=FAST_BACKOFF)

    await drain_until_settled(clock, worker)

    event = await store.get(event_id)
    assert event is not None
    assert event.status is EventStatus.DEAD
    assert calls == [1, 2, 3]  # the receiver's max_attempts wins over [worker]
    assert event.last_error is not None
    assert "ValueError: bad payload on attempt 3" in event.last_error
    last = event.attempts[-1]
    assert last.traceback is not None
    assert "always_fails" in last.traceback
    assert "ValueError: bad payload on attempt 3" in last.traceback


@pytest.mark.anyio
async def test_a_replayed_dead_event_runs_again(store: Store, clock: FakeClock) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook", max_attempts=1)
    broken = True
    calls: list[int] = []

    @hook
    def handler(event: Event) -> None:
        calls.append(event.attempt)
        if broken:
            raise RuntimeError("downstream is down")

    event_id = await append(store, hook, at=clock())
    worker = make_worker(store, plugin, clock=clock)
    await worker.drain(timeout=10)
    assert await status_of(store, event_id) is EventStatus.DEAD

    broken = False
    assert await store.requeue([event_id], clock()) == [event_id]
    assert await worker.drain(timeout=10) == 1

    assert await status_of(store, event_id) is EventStatus.DONE
    assert calls == [1, 1]  # a replay is a fresh round


@pytest.mark.anyio
async def test_a_retry_reruns_only_the_handlers_that_failed(store: Store, clock: FakeClock) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    ran: list[str] = []

    @hook.on("push")
    def notify_chat(event: Event) -> None:
        ran.append("chat")

    @hook.on("push")
    def update_tracker(event: Event) -> None:
        ran.append("tracker")
        if ran.count("tracker") == 1:
            raise ConnectionError("tracker unreachable")

    event_id = await append(store, hook, at=clock())
    worker = make_worker(store, plugin, clock=clock, backoff=FAST_BACKOFF)
    await drain_until_settled(clock, worker)

    event = await store.get(event_id)
    assert event is not None
    assert event.status is EventStatus.DONE
    assert ran == ["chat", "tracker", "tracker"]
    assert [(a.attempt, a.handler.rsplit(".", 1)[-1], a.ok) for a in event.attempts] == [
        (1, "notify_chat", True),
        (1, "update_tracker", False),
        (2, "update_tracker", True),
    ]


@pytest.mark.anyio
async def test_an_event_with_no_matching_handler_is_unhandled(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    hook.on("push")(lambda event: None)

    event_id = await append(store, hook, at=clock(), type="ping")
    await make_worker(store, plugin, clock=clock).drain(timeout=10)

    assert await status_of(store, event_id) is EventStatus.UNHANDLED


# -- ordering and concurrency ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_concurrency_1_receiver_runs_one_event_at_a_time_in_arrival_order(
    store: Store,
) -> None:
    plugin = Plugin("p")
    ordered = plugin.receiver("/ordered", concurrency=1)
    seen: list[str] = []
    running = 0
    most_at_once = 0
    all_done = asyncio.Event()

    @ordered
    async def handle(event: Event) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        for _ in range(5):  # yield so that overlapping events would show
            await asyncio.sleep(0)
        seen.append(event.id)
        running -= 1
        if len(seen) == 5:
            all_done.set()

    ids = [await append(store, ordered, at=float(n)) for n in range(5)]
    worker = make_worker(store, plugin, concurrency=8, poll_interval=0.05)
    await worker.start()
    try:
        await asyncio.wait_for(all_done.wait(), 10)
    finally:
        await worker.stop(timeout=10)

    assert seen == ids
    assert most_at_once == 1


@pytest.mark.anyio
async def test_an_ordered_receiver_holds_later_events_while_an_earlier_one_retries(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p")
    ordered = plugin.receiver("/ordered", concurrency=1)
    seen: list[tuple[str, bool]] = []

    @ordered
    def handle(event: Event) -> None:
        first_try = not any(eid == event.id for eid, _ in seen)
        seen.append((event.id, first_try))
        if event.id == first and first_try:
            raise RuntimeError("try again")

    first = await append(store, ordered, at=clock())
    second = await append(store, ordered, at=clock() + 1)
    worker = make_worker(store, plugin, clock=clock, backoff=FAST_BACKOFF)

    assert await worker.drain(timeout=10) == 1
    assert await status_of(store, first) is EventStatus.RETRYING
    assert await status_of(store, second) is EventStatus.QUEUED

    await drain_until_settled(clock, worker)
    assert seen == [(first, True), (first, False), (second, True)]


@pytest.mark.anyio
async def test_unbounded_receivers_run_concurrently_up_to_worker_concurrency(
    store: Store,
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    started: list[str] = []
    both_started = asyncio.Event()
    release = asyncio.Event()

    @hook
    async def handle(event: Event) -> None:
        started.append(event.id)
        if len(started) == 2:
            both_started.set()
        await release.wait()

    for n in range(3):
        await append(store, hook, at=float(n))
    worker = make_worker(store, plugin, concurrency=2)

    batch = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(both_started.wait(), 10)  # two at once: they overlap
    assert worker.in_flight == 2
    release.set()
    assert await batch == 2
    assert await worker.drain(timeout=10) == 1


@pytest.mark.anyio
async def test_events_of_receivers_not_loaded_here_are_left_alone(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    hook(lambda event: None)
    removed = Plugin("removed").receiver("/old")

    orphan = await append(store, removed, at=clock())
    worker = make_worker(store, plugin, clock=clock)

    assert await worker.drain(timeout=10) == 0
    assert await status_of(store, orphan) is EventStatus.QUEUED


# -- leases ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_expired_lease_of_a_dead_worker_is_picked_up_by_another(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    calls: list[int] = []
    hook(lambda event: calls.append(event.attempt))

    event_id = await append(store, hook, at=clock())
    # A worker that leases and then "dies": it never completes nor releases.
    request = LeaseRequest(owner="crashed-worker", limit=10, lease_seconds=5, now=clock())
    [held] = await store.lease(request)
    assert held.id == event_id

    worker = make_worker(store, plugin, clock=clock, owner="survivor")
    assert await worker.drain(timeout=10) == 0  # still leased
    clock.advance(6)
    assert await worker.drain(timeout=10) == 1

    assert calls == [2]  # the crashed run counted as attempt 1
    assert await status_of(store, event_id) is EventStatus.DONE


@pytest.mark.anyio
async def test_leases_are_renewed_while_handlers_run(store: Store) -> None:
    gated = GatedStore(store)
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")

    @hook
    async def slow(event: Event) -> None:
        await gated.renewed.wait()  # outlive a renewal (every lease/3 = 0.1 s)

    event_id = await append(store, hook, at=1.0)
    worker = make_worker(gated, plugin, lease=0.3)

    assert await worker.drain(timeout=10) == 1
    assert await status_of(store, event_id) is EventStatus.DONE


# -- graceful stop and cancellation --------------------------------------------------------------


@pytest.mark.anyio
async def test_stop_lets_in_flight_handlers_finish(store: Store) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    entered = asyncio.Event()
    release = asyncio.Event()

    @hook
    async def handle(event: Event) -> None:
        entered.set()
        await release.wait()

    event_id = await append(store, hook, at=1.0)
    worker = make_worker(store, plugin)
    await worker.start()
    await asyncio.wait_for(entered.wait(), 10)

    stopping = asyncio.create_task(worker.stop(timeout=10))
    release.set()
    await stopping

    assert not worker.running
    assert await status_of(store, event_id) is EventStatus.DONE


@pytest.mark.anyio
async def test_stop_records_events_still_running_after_the_timeout_as_interrupted(
    store: Store,
) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    @hook
    async def stuck(event: Event) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    event_id = await append(store, hook, at=1.0)
    worker = make_worker(store, plugin)
    await worker.start()
    await asyncio.wait_for(entered.wait(), 10)
    await worker.stop(timeout=0.05)

    assert cancelled.is_set()
    event = await store.get(event_id)
    assert event is not None
    # The handler ran: its attempt counts, says what happened, and the event is due again now.
    assert event.status is EventStatus.RETRYING
    assert event.attempt == 1
    assert event.next_attempt_at is not None and event.next_attempt_at <= time.time()
    [attempt] = event.attempts
    assert (attempt.handler.rsplit(".", 1)[-1], attempt.ok) == ("stuck", False)
    assert attempt.error == "WorkerStopped: the worker stopped while the handler was running"


@pytest.mark.anyio
async def test_stop_releases_leased_events_that_have_not_started(store: Store) -> None:
    gated = GatedStore(store, lease_gate=asyncio.Event())
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    ran: list[str] = []
    hook(lambda event: ran.append(event.id))

    ids = [await append(store, hook, at=float(n)) for n in range(3)]
    worker = make_worker(gated, plugin)
    await worker.start()
    await asyncio.wait_for(gated.leased.wait(), 10)  # the lease is taken, not yet returned

    stopping = asyncio.create_task(worker.stop(timeout=10))
    await asyncio.sleep(0)  # let stop() begin: it marks the worker as stopping first
    assert gated.lease_gate is not None
    gated.lease_gate.set()
    await stopping

    assert ran == []
    for event_id in ids:
        assert await status_of(store, event_id) is EventStatus.QUEUED
    # Nothing was lost: a new worker runs them all.
    assert await make_worker(store, plugin).drain(timeout=10) == 3
    assert sorted(ran) == sorted(ids)


@pytest.mark.anyio
async def test_the_outcome_is_written_even_if_the_batch_is_cancelled(store: Store) -> None:
    gated = GatedStore(store, finish_gate=asyncio.Event())
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    hook(lambda event: None)

    event_id = await append(store, hook, at=1.0)
    worker = make_worker(gated, plugin)
    batch = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(gated.finishing.wait(), 10)

    batch.cancel()
    await asyncio.sleep(0)  # deliver the cancellation while the write waits at its gate
    assert gated.finish_gate is not None
    gated.finish_gate.set()
    with pytest.raises(asyncio.CancelledError):
        await batch

    assert gated.finished.is_set()
    assert await status_of(store, event_id) is EventStatus.DONE


@pytest.mark.anyio
async def test_drain_timeout_records_the_running_batch_as_interrupted(store: Store) -> None:
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")

    @hook
    async def stuck(event: Event) -> None:
        await asyncio.Event().wait()

    event_id = await append(store, hook, at=1.0)
    worker = make_worker(store, plugin)

    with pytest.raises(TimeoutError):
        await worker.drain(timeout=0.05)
    event = await store.get(event_id)
    assert event is not None
    assert (event.status, event.attempt) == (EventStatus.RETRYING, 1)  # it ran; due again now
    assert event.last_error is not None and "WorkerStopped" in event.last_error


@pytest.mark.anyio
async def test_run_once_refuses_a_started_or_stopped_worker(store: Store) -> None:
    worker = make_worker(store, Plugin("p"))
    await worker.start()
    try:
        with pytest.raises(RuntimeError, match="not started or stopped"):
            await worker.run_once()
        with pytest.raises(RuntimeError, match="already started"):
            await worker.start()
    finally:
        await worker.stop(timeout=1)
    assert not worker.running
    with pytest.raises(RuntimeError, match="not started or stopped"):
        await worker.drain(timeout=1)


# -- store outages ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_loop_survives_store_errors_and_backs_off(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hookport.worker")
    gated = GatedStore(store, lease_failures=2)
    plugin = Plugin("p")
    hook = plugin.receiver("/hook")
    done = asyncio.Event()

    @hook
    async def handle(event: Event) -> None:
        done.set()

    await append(store, hook, at=1.0)
    worker = make_worker(gated, plugin)
    await worker.start()
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        await worker.stop(timeout=10)

    outages = [r for r in caplog.records if "store error" in r.getMessage()]
    assert len(outages) == 2
    assert "retrying in 0.1s" in outages[0].getMessage()
    assert "retrying in 0.2s" in outages[1].getMessage()


# -- notifications ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_ctx_send_reaches_the_notifier(store: Store, clock: FakeClock) -> None:
    plugin = Plugin("github-notify", channels=["dev"])
    hook = plugin.receiver("/github/{org}")
    notifier = RecordingNotifier(["dev"])

    @hook.on("push")
    async def on_push(event: Event, ctx: Context, org: str) -> None:
        await ctx.send("dev", f"push in {org}", title="push")

    event_id = await append(store, hook, at=clock(), org="octo-org")
    await make_worker(store, plugin, clock=clock, notifier=notifier).drain(timeout=10)

    assert notifier.messages("dev") == ["push in octo-org"]
    assert notifier.sent[0].title == "push"
    assert await status_of(store, event_id) is EventStatus.DONE


@pytest.mark.anyio
async def test_a_failed_ctx_send_fails_the_handler_so_it_is_retried(
    store: Store, clock: FakeClock
) -> None:
    plugin = Plugin("p", channels=["ops"])
    hook = plugin.receiver("/hook")
    notifier = RecordingNotifier(["ops"], failing=["ops"])

    @hook
    async def alert(ctx: Context) -> None:
        await ctx.send("ops", "disk full")

    event_id = await append(store, hook, at=clock())
    worker = make_worker(store, plugin, clock=clock, notifier=notifier, backoff=FAST_BACKOFF)
    await worker.drain(timeout=10)

    event = await store.get(event_id)
    assert event is not None
    assert event.status is EventStatus.RETRYING
    assert event.last_error is not None
    assert "NotifyError: notification through channel 'ops' failed" in event.last_error

    notifier.failing.clear()  # the channel recovers
    await drain_until_settled(clock, worker)
    assert await status_of(store, event_id) is EventStatus.DONE
    assert notifier.messages("ops") == ["disk full"]
