"""Group commit: many concurrent appends, one transaction per batch.

``append`` puts the event on a bounded queue and awaits a future. One writer task takes up to
``batch_max`` queued events, hands them to the backend's ``commit`` function (one transaction),
then resolves every future. A batch either commits as a whole or every request in it gets
``StoreUnavailable``: nothing is acknowledged that is not durable, and the writer carries on
with the next batch. Duplicates inside one batch are folded here, so backends only see distinct
``(endpoint, delivery_id)`` pairs and only have to check the ones already stored.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from hookport.errors import StoreError, StoreUnavailable
from hookport.events import AppendResult, EventStatus, HandlerOutcome, NewEvent
from hookport.store._rows import dedupe_key

log = logging.getLogger("hookport.store")

CommitFn = Callable[[Sequence[NewEvent]], Awaitable[Sequence[AppendResult]]]
"""Commit distinct events in one transaction; one result per event, in order."""

_Item = tuple[NewEvent, "asyncio.Future[AppendResult]"]


class GroupCommit:
    """A bounded append queue drained by one writer task, one transaction per batch."""

    def __init__(
        self,
        commit: CommitFn,
        *,
        batch_max: int,
        queue_max: int,
        timeout: float = 30.0,
        on_commit: Callable[[Sequence[NewEvent]], None] | None = None,
        max_inflight: int = 1,
    ) -> None:
        self._commit = commit
        # Batches committing at once. SQLite has one writer; PostgreSQL overlaps one batch's
        # commit with the next one's insert (duplicates across batches: the unique index).
        self._max_inflight = max_inflight
        self._batch_max = batch_max
        self._queue_max = queue_max
        self._timeout = timeout  # last-resort bound; backends bound their own waits first
        self._on_commit = on_commit
        self._queue: collections.deque[_Item] = collections.deque()
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="hookport-commit")

    async def append(self, event: NewEvent) -> AppendResult:
        """Queue ``event`` and return once its batch has committed."""
        if self._closing or self._task is None:
            raise StoreUnavailable("store is closed")
        if len(self._queue) >= self._queue_max:
            raise StoreUnavailable("append queue is full", retry_after=1)
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._queue.append((event, future))
        self._ready.set()
        return await future

    async def close(self) -> None:
        """Stop accepting appends, commit everything already queued, stop the writer."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        slots = asyncio.Semaphore(self._max_inflight)
        inflight: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            inflight.discard(task)
            slots.release()

        while True:
            if not self._queue:
                if self._closing:
                    break
                self._ready.clear()
                await self._ready.wait()
                continue
            await slots.acquire()
            count = min(len(self._queue), self._batch_max)
            batch = [self._queue.popleft() for _ in range(count)]
            task = asyncio.get_running_loop().create_task(self._commit_batch(batch))
            inflight.add(task)
            task.add_done_callback(finished)
        if inflight:
            await asyncio.gather(*inflight)

    async def _commit_batch(self, batch: list[_Item]) -> None:
        leaders: dict[tuple[str, str], int] = {}
        distinct: list[NewEvent] = []
        slots: list[tuple[int, bool]] = []  # (index into distinct, folded duplicate?)
        for event, _ in batch:
            key = dedupe_key(event)
            if key is not None and key in leaders:
                slots.append((leaders[key], True))
                continue
            if key is not None:
                leaders[key] = len(distinct)
            slots.append((len(distinct), False))
            distinct.append(event)
        try:
            results = await asyncio.wait_for(self._commit(distinct), self._timeout)
        except Exception as exc:
            self._fail(batch, exc)
            return
        for (_, future), (index, folded) in zip(batch, slots, strict=True):
            result = results[index]
            if folded:
                result = AppendResult(result.id, duplicate=True)
            if not future.done():  # the request may have given up; the event is stored anyway
                future.set_result(result)
        if self._on_commit is not None:
            try:
                self._on_commit(distinct)
            except Exception:  # a wake-up failing must not stop the writer
                log.exception("post-commit hook failed")

    @staticmethod
    def _fail(batch: list[_Item], exc: Exception) -> None:
        if isinstance(exc, StoreUnavailable):
            error = exc
        else:
            log.error("append batch of %d failed: %r", len(batch), exc)
            error = StoreUnavailable("store cannot commit, retry later")
        for _, future in batch:
            if not future.done():
                future.set_exception(StoreUnavailable(error.message, retry_after=error.retry_after))


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Finish:
    """One outcome write (``complete``/``retry``/``kill``) waiting for its batch."""

    event_id: str
    owner: str
    outcomes: Sequence[HandlerOutcome]
    status: EventStatus
    next_attempt_at: float | None
    error: str | None


class Batcher(Generic[T, R]):
    """Concurrent calls share one transaction: items queued while a batch commits form the next.

    ``commit(items)`` returns one result per item, in order. If it raises, every caller in the
    batch gets that error (as ``StoreUnavailable`` unless it already is a store error); nothing
    in a failed batch took effect, since a batch is one transaction.
    """

    def __init__(
        self, commit: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, batch_max: int, name: str
    ) -> None:
        self._commit = commit
        self._batch_max = batch_max
        self._name = name
        self._queue: collections.deque[tuple[T, asyncio.Future[R]]] = collections.deque()
        self._ready = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the committing task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def submit(self, item: T) -> R:
        """Queue ``item`` and return its result once its batch has committed."""
        if self._closing or self._task is None:
            raise StoreUnavailable("store is closed")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._ready.set()
        return await future

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        self._closing = True
        self._ready.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._ready.clear()
                await self._ready.wait()
                continue
            count = min(len(self._queue), self._batch_max)
            batch = [self._queue.popleft() for _ in range(count)]
            try:
                results = await self._commit([item for item, _ in batch])
            except Exception as exc:  # every caller of the batch learns it failed
                error = exc if isinstance(exc, StoreUnavailable | StoreError) else None
                if error is None:
                    log.error("%s batch of %d failed: %r", self._name, len(batch), exc)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error or StoreUnavailable("store cannot commit"))
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


class Wakeup:
    """Wakes workers waiting for new work in this process.

    A notification with nobody waiting is remembered, so work appended between a worker's
    empty lease and its wait is not slept through.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake every current waiter (or the next one)."""
        self._event.set()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - timeout is the poll interval
        """Return on a notification or after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._event.wait(), max(timeout, 0.0))
        except TimeoutError:
            pass
        finally:
            self._event.clear()
