"""The worker: lease due events, run their handlers, record outcomes, keep leases alive.

Roles stay apart: the *store* owns status, the *dispatcher* turns an event into handler
outcomes, the *retry policy* decides what a failure means, and the worker owns the loop,
concurrency, lease renewal, wake-ups and shutdown.

Guarantees: an event is never lost. Outcome writes are shielded from cancellation; on a
graceful stop, events not finished within the timeout are released (due again at once, the
attempt not counted); if the process dies, their leases expire and another worker takes them.
Handlers therefore run at least once, and may run again after a crash.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from hookport.assembly import Assembly, ReceiverEndpoint
from hookport.config import WorkerSettings
from hookport.dispatch import Dispatcher, RunningHandler
from hookport.errors import ConfigError, StoreError
from hookport.events import Event, HandlerOutcome
from hookport.metrics import Metrics
from hookport.renewal import LeaseRenewer
from hookport.retry import RetryAt, RetryPolicy
from hookport.store.base import LEASE_EXPIRED, Finish, LeaseRequest, Store
from hookport.tasks import Backoff, cancel_all, set_within
from hookport.threads import ThreadLane
from hookport.tracing import Tracing
from hookport.watchdog import HandlerWatchdog

log = logging.getLogger("hookport.worker")

FinishedHook = Callable[[Event, str, Sequence[HandlerOutcome]], None]
"""Told of an attempt's end: the event, its status after it, the handlers' outcomes."""

LEASE_COOLDOWN = 0.005
"""Seconds a worker with fewer than half its slots free waits for more before leasing."""


class Worker:
    """Processes the events of ``assembly``'s receivers from ``store``.

    Use either :meth:`start` / :meth:`stop` (a background loop, for ``serve`` and ``worker``)
    or :meth:`run_once` / :meth:`drain` (explicit batches, for ``send --local`` and tests).

    ``settings``: ``[worker]`` (concurrency, attempts, backoff, lease, timeout, poll interval).
    ``owner`` names this worker's leases (default: host, pid and a random suffix).
    ``endpoints`` restricts the worker to some receivers (default: all of the assembly's);
    events of endpoints not loaded here are never leased. ``clock`` (Unix seconds) and ``rng``
    are injectable for tests; ``metrics`` counts handler runs, retries, dead events and lease
    expiries. ``on_finished(event, status, outcomes)`` hears of every attempt's end whose
    outcome was recorded (the alert rules); it must not block, and what it raises is logged.
    ``tracing``: a ``hookport.handler`` span per handler run, linked to its delivery's.
    """

    def __init__(
        self,
        store: Store,
        assembly: Assembly,
        settings: WorkerSettings,
        *,
        owner: str | None = None,
        endpoints: Iterable[str] | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        on_finished: FinishedHook | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.owner = owner or default_owner()
        self._metrics = metrics
        self._on_finished = on_finished
        self._store = store
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        receivers = assembly.receivers
        self._endpoints = _select_endpoints(receivers, endpoints)
        self._limits = {name: ep.concurrency for name, ep in receivers.items() if ep.concurrency}
        self._policies = {
            name: _policy(ep.max_attempts, settings) for name, ep in receivers.items()
        }
        self._default_policy = _policy(settings.max_attempts, settings)
        self._threads = ThreadLane("handler", settings.threads or settings.concurrency)
        self._dispatcher = Dispatcher(
            assembly, self._threads, clock=clock, metrics=metrics, tracing=tracing
        )
        self._watchdog = HandlerWatchdog(self._dispatcher)
        self._held: dict[str, Event] = {}  # leased; outcome not yet being written
        self._tasks: set[asyncio.Task[None]] = set()
        self._writes: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._freed = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._refill_at = max(1, settings.concurrency // 2)
        self._last_lease = -LEASE_COOLDOWN
        self._renewer = LeaseRenewer(
            store, self.owner, settings.lease, lambda: list(self._held), clock=clock
        )

    @property
    def running(self) -> bool:
        """True while the background loop started by :meth:`start` runs."""
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        """Number of events being processed now."""
        return len(self._tasks)

    def running_handlers(self) -> list[RunningHandler]:
        """The handlers running now, oldest first (what each slot is doing)."""
        return self._dispatcher.running()

    @property
    def slow_handlers(self) -> int:
        """Handlers past half their timeout at the watchdog's last look."""
        return self._watchdog.slow

    @property
    def stuck_threads(self) -> int:
        """Sync handler threads still running past their timeout."""
        return self._threads.stuck

    async def start(self) -> None:
        """Start the background loop and lease renewal; returns at once."""
        if self.running:
            raise RuntimeError("worker already started")
        self._stopping.clear()
        self._loop_task = asyncio.create_task(
            self._run_loop(), name=f"hookport-worker-{self.owner}"
        )
        self._renewer.start()
        self._watchdog.start()
        log.info(
            "worker %s started: concurrency %d, %d endpoint(s)",
            self.owner,
            self._settings.concurrency,
            len(self._endpoints),
            extra={"owner": self.owner},
        )

    async def stop(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - a grace period
        """Stop gracefully: lease nothing more, let in-flight events finish within ``timeout``.

        Events still running after ``timeout`` are cancelled: their attempt is recorded, the
        handler cut off with a ``WorkerStopped`` outcome (a sync handler's thread cannot be
        stopped and may still finish its work), and they are due again at once. Leased events
        not started yet are released, the attempt not counted. Outcome writes under way
        complete first.
        """
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                log.warning("stop: cancelling %d event(s) still running", len(pending))
            await cancel_all(pending)
        await self._settle()
        await self._renewer.stop()
        await self._watchdog.stop()
        log.info("worker %s stopped", self.owner, extra={"owner": self.owner})

    async def run_once(self) -> int:
        """Lease up to ``concurrency`` due events, process them to completion; return the count.

        Not for a started (or stopped) worker. If cancelled, running events are cancelled and
        released.
        """
        if self.running or self._stopping.is_set():
            raise RuntimeError("run_once() drives a worker that was not started or stopped")
        async with self._renewer.running():
            events = await self._lease(self._settings.concurrency - len(self._tasks))
            tasks = self._spawn(events)
            try:
                await asyncio.gather(*tasks)
                await self._written()
            except asyncio.CancelledError:
                await cancel_all(tasks)
                await asyncio.shield(self._settle())
                raise
        return len(events)

    async def drain(self, timeout: float | None = None) -> int:  # noqa: ASYNC109 - public API
        """Run batches until no event is due now; return how many events were processed.

        Events retrying later are not waited for. Raises ``TimeoutError`` if ``timeout``
        seconds pass first (the batch then running is released, not lost).
        """
        total = 0
        async with asyncio.timeout(timeout):
            while count := await self.run_once():
                total += count
        return total

    # -- the loop ------------------------------------------------------------------------

    async def _run_loop(self) -> None:
        backoff = Backoff()
        while not self._stopping.is_set():
            try:
                await self._step()
                backoff.reset()
            except Exception as exc:  # the loop must survive anything; the store may come back
                delay = backoff.next()
                _log_loop_error(exc, delay)
                await self._pause(delay)

    async def _step(self) -> None:
        """Fill free slots with due events, then wait for a reason to look again.

        Under load slots free one by one; leasing for each would cost a store round trip per
        event. A lease therefore waits until half the slots are free, or until
        ``LEASE_COOLDOWN`` has passed since the last one, whichever comes first: under load
        events are claimed in batches, and an idle worker still claims new work at once.
        """
        self._freed.clear()
        free = self._free_slots()
        if free <= 0:
            await self._wait(None)
            return
        if free < self._refill_at:
            pause = self._last_lease + LEASE_COOLDOWN - time.monotonic()
            if pause > 0:
                await set_within(self._freed, pause)  # a stop is seen on the next step
                return
        self._last_lease = time.monotonic()
        events = await self._lease(free)
        self._spawn(events)
        if len(events) < free:
            await self._wait(await self._idle_timeout())

    async def _idle_timeout(self) -> float:
        now = self._clock()
        due = await self._store.next_due(now)
        poll = self._settings.poll_interval
        if due is None or due <= now:
            # Nothing pending, or due but not claimable by us (ordering, limits, endpoints
            # of other processes): wait for a wake-up or the next poll, never spin.
            return poll
        return min(poll, due - now)

    async def _wait(self, poll: float | None) -> None:
        """Return on stop, on a freed slot, or when the store signals work (or after ``poll``)."""
        waiters: list[asyncio.Task[Any]] = [
            asyncio.create_task(self._stopping.wait()),
            asyncio.create_task(self._freed.wait()),
        ]
        if poll is not None:
            waiters.append(asyncio.create_task(self._store.wait_for_work(poll)))
        try:
            done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_all([w for w in waiters if not w.done()])
        for waiter in done:
            waiter.result()  # re-raise a store error from wait_for_work

    async def _pause(self, delay: float) -> None:
        await set_within(self._stopping, delay)

    # -- leasing and processing ----------------------------------------------------------

    async def _lease(self, limit: int) -> list[Event]:
        if limit <= 0 or not self._endpoints:
            return []
        request = LeaseRequest(
            owner=self.owner,
            limit=limit,
            lease_seconds=self._settings.lease,
            now=self._clock(),
            endpoints=self._endpoints,
            limits=self._limits or None,
        )
        events = await self._store.lease(request)
        for event in events:
            self._held[event.id] = event
            if event.last_error == LEASE_EXPIRED:
                self._lease_expired(event)
            log.debug("leased event %s", event.id, extra=event.log_fields())
        return events

    def _lease_expired(self, event: Event) -> None:
        """An event claimed again because the worker holding it let its lease expire."""
        if self._metrics is not None:
            self._metrics.lease_expired(event.endpoint)
        log.warning(
            "event %s claimed again: the lease of its last worker expired (it died or lost the "
            "store); attempt %d runs now",
            event.id,
            event.attempt,
            extra=event.log_fields(),
        )

    def _spawn(self, events: Sequence[Event]) -> list[asyncio.Task[None]]:
        tasks = []
        for event in events:
            task = asyncio.create_task(self._process(event), name=f"hookport-event-{event.id}")
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
            tasks.append(task)
        return tasks

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._freed.set()

    def _write_done(self, write: asyncio.Task[None]) -> None:
        self._writes.discard(write)
        self._freed.set()

    def _free_slots(self) -> int:
        """Slots for new events: ``concurrency`` handlers at once, and no more than
        ``concurrency`` outcomes waiting to be written on top (a slow store slows leasing)."""
        concurrency = self._settings.concurrency
        return concurrency - len(self._tasks) - max(0, len(self._writes) - concurrency)

    async def _process(self, event: Event) -> None:
        """Run one leased event's handlers and record the outcome."""
        if self._stopping.is_set():
            return  # leased but not started: stop() releases it
        outcomes: list[HandlerOutcome] = []
        try:
            await self._dispatcher.run(event, outcomes)
        except asyncio.CancelledError:
            # Stopped mid-handler: that handler ran (partly, or even to the end in its thread),
            # so the event is not released as "not run". Its attempt is recorded, with a
            # WorkerStopped outcome for the handler cut off, and it is due again at once.
            if outcomes:
                self._held.pop(event.id, None)
                self._write(event, outcomes, interrupted=True)
            raise
        except Exception:  # a dispatcher bug must not kill the worker; the lease will expire
            log.exception("dispatching event %s failed", event.id, extra=event.log_fields())
            self._held.pop(event.id, None)
            return
        self._held.pop(event.id, None)
        self._write(event, outcomes)

    def _write(
        self, event: Event, outcomes: list[HandlerOutcome], *, interrupted: bool = False
    ) -> None:
        # The outcome is written by its own task, which cancelling the event's task does not
        # stop. The slot frees now: the next events are leased and run while this outcome
        # commits (the event stays leased, so per-endpoint limits still count it until then).
        write = asyncio.create_task(self._record(event, outcomes, interrupted))
        self._writes.add(write)
        write.add_done_callback(self._write_done)

    async def _record(
        self, event: Event, outcomes: list[HandlerOutcome], interrupted: bool
    ) -> None:
        try:
            finish, outcome, kept = await self._write_outcome(event, outcomes, interrupted)
        except Exception as exc:
            log.error(  # store errors are expected: no traceback
                "could not record the outcome of event %s (%s); it runs again when its lease "
                "expires",
                event.id,
                _describe(exc),
                extra=event.log_fields(),
            )
            return
        if self._metrics is not None:
            if not kept:
                self._metrics.lease_lost(event.endpoint)
            else:
                self._metrics.event_finished(event.endpoint, str(finish.status))
        if kept and self._on_finished is not None:
            try:
                self._on_finished(event, str(finish.status), outcomes)
            except Exception:  # a listener's bug must not stop outcomes from being recorded
                log.exception("on_finished failed for event %s", event.id, extra=event.log_fields())
        if not kept:
            log.warning(
                "lease on event %s was lost before its outcome was recorded; another worker "
                "may run it again",
                event.id,
                extra=event.log_fields(),
            )
            return
        log.info(
            "event %s %s (endpoint %s, attempt %d, %d handler(s))",
            event.id,
            outcome,
            event.endpoint,
            event.attempt,
            len(outcomes),
            extra={**event.log_fields(), "outcome": outcome},
        )

    async def _write_outcome(
        self, event: Event, outcomes: list[HandlerOutcome], interrupted: bool
    ) -> tuple[Finish, str, bool]:
        finish, described = self._finish_of(event, outcomes, interrupted)
        return finish, described, await self._store.finish(finish)

    def _finish_of(
        self, event: Event, outcomes: list[HandlerOutcome], interrupted: bool
    ) -> tuple[Finish, str]:
        """The attempt's end as the store records it, and how the log line describes it."""
        failures = [o for o in outcomes if not o.ok]
        if not outcomes and not self._dispatcher.handles(event):
            return Finish.unhandled(event.id, self.owner), "unhandled (no handler takes its type)"
        if not failures:
            return Finish.done(event.id, self.owner, outcomes), "done"
        error = "; ".join(f"{o.handler}: {o.error}" for o in failures)
        if interrupted:
            again = Finish.retry(event.id, self.owner, outcomes, self._clock(), error)
            return again, "interrupted by the worker's stop, due now"
        policy = self._policies.get(event.endpoint, self._default_policy)
        decision = policy.decide(event.attempt, self._clock(), self._rng)
        if isinstance(decision, RetryAt):
            retry = Finish.retry(event.id, self.owner, outcomes, decision.run_at, error)
            return retry, f"retrying in {decision.delay:.3g}s"
        return Finish.dead(event.id, self.owner, outcomes, error), "dead"

    async def _settle(self) -> None:
        """Let outcome writes under way finish, then release every event still held."""
        await self._written()
        await self._release_held()

    async def _written(self) -> None:
        """Wait for the outcome writes under way; cancelling the wait does not cancel them."""
        if self._writes:
            await asyncio.shield(asyncio.gather(*self._writes, return_exceptions=True))

    async def _release_held(self) -> None:
        ids = list(self._held)
        if not ids:
            return
        try:
            await self._store.release(ids, self.owner)
        except Exception as exc:
            log.error(  # store errors are expected: no traceback
                "could not release %d event(s) (%s); they run again when their leases expire",
                len(ids),
                _describe(exc),
            )
        else:
            log.info("released %d event(s) not finished", len(ids))
        for event_id in ids:
            self._held.pop(event_id, None)


def default_owner() -> str:
    """A lease owner name unique to this worker: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def _select_endpoints(
    receivers: Mapping[str, ReceiverEndpoint], wanted: Iterable[str] | None
) -> list[str]:
    if wanted is None:
        return sorted(receivers)
    chosen = list(dict.fromkeys(wanted))
    unknown = [name for name in chosen if name not in receivers]
    if unknown:
        raise ConfigError(f"worker asked for endpoints that are not receivers here: {unknown}")
    return chosen


def _policy(max_attempts: int, settings: WorkerSettings) -> RetryPolicy:
    try:
        return RetryPolicy(max_attempts, settings.backoff.initial, settings.backoff.max)
    except ValueError as exc:
        raise ConfigError(f"[worker]: {exc}") from None


def _log_loop_error(exc: Exception, delay: float) -> None:
    if isinstance(exc, StoreError):
        log.warning("store error in worker loop: %s; retrying in %.1fs", _describe(exc), delay)
    else:
        log.exception("unexpected error in worker loop; retrying in %.1fs", delay)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
