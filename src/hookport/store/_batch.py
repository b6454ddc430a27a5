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
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from hookport.errors import StoreError, StoreUnavailable
from hookport.events import AppendResult, NewEvent
from hookport.observability import LogLimiter
from hookport.store._rows import dedupe_key

log = logging.getLogger("hookport.store")

CommitFn = Callable[[Sequence[NewEvent]], Awaitable[Sequence[AppendResult]]]
"""Commit distinct events in one transaction; one result per event, in order."""

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """Concurrent calls share one transaction: items queued while a batch commits form the next.

    ``commit(items)`` returns one result per item, in order; an exception in place of a result
    is raised to that item's caller alone. If it raises, every caller in the batch gets the
    error (``StoreUnavailable`` unless it already is a store error); a batch is one
    transaction, so nothing in a failed batch took effect. ``max_inflight`` batches may
    commit at once; ``queue_max`` bounds the waiting items (past it: ``StoreUnavailable`` at once).
    With ``size``, a batch also stops before its items' sizes pass ``bytes_max`` (one item
    always goes), so large payloads make smaller transactions instead of one huge one.
    ``observe(size, seconds)`` is told of each batch that committed (for metrics).
    """

    def __init__(
        self,
        commit: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
        *,
        batch_max: int,
        name: str,
        queue_max: int | None = None,
        timeout: float | None = None,
        max_inflight: int = 1,
        size: Callable[[T], int] | None = None,
        bytes_max: int = 0,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        self._commit = commit
        self._observe = observe
        self._batch_max = batch_max
        self._size = size
        self._bytes_max = bytes_max
        self._name = name
        self._queue_max = queue_max
        self._timeout = timeout  # last-resort bound; backends bound their own waits first
        self._max_inflight = max_inflight
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
        if self._queue_max is not None and len(self._queue) >= self._queue_max:
            raise StoreUnavailable("write queue is full", retry_after=1)
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
            batch = self._take()
            task = asyncio.get_running_loop().create_task(self._commit_batch(batch))
            inflight.add(task)
            task.add_done_callback(finished)
        if inflight:
            await asyncio.gather(*inflight)

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        """The next batch: up to ``batch_max`` items, and ``bytes_max`` if sizes are known."""
        count = min(len(self._queue), self._batch_max)
        if self._size is None:
            return [self._queue.popleft() for _ in range(count)]
        batch = [self._queue.popleft()]
        total = self._size(batch[0][0])
        while len(batch) < count:
            total += self._size(self._queue[0][0])
            if total > self._bytes_max:
                break
            batch.append(self._queue.popleft())
        return batch

    async def _commit_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        started = time.perf_counter()
        try:
            results = await asyncio.wait_for(self._commit([i for i, _ in batch]), self._timeout)
        except Exception as exc:  # every caller of the batch learns it failed
            if not isinstance(exc, StoreError):
                log.error("%s batch of %d failed: %r", self._name, len(batch), exc)
            for _, future in batch:
                if not future.done():
                    future.set_exception(_fresh(exc))  # one instance per waiting caller
            return
        if self._observe is not None:
            self._observe(len(batch), time.perf_counter() - started)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the request may have given up; the work is done anyway
                continue
            if isinstance(result, Exception):  # this item alone failed
                future.set_exception(result)
            else:
                future.set_result(result)


FAILURE_WINDOW = 10.0
"""Seconds after a failed append commit during which the store does not look ready."""

BATCH_BYTES_MAX = 32_000_000
"""Payload bytes per append batch: bounds a transaction's size (and PostgreSQL's 1 GB limit on
one parameter) when bodies are large; a batch of small deliveries never gets near it."""


def _payload_size(event: NewEvent) -> int:
    return len(event.body) + (len(event.response.body) if event.response else 0)


def _fresh(exc: Exception) -> Exception:
    if isinstance(exc, StoreUnavailable):
        return StoreUnavailable(exc.message, retry_after=exc.retry_after)
    if isinstance(exc, StoreError):
        return StoreError(str(exc))
    return StoreUnavailable("store cannot commit, retry later")


class GroupCommit:
    """Appends through a :class:`Batcher`: one transaction per batch, duplicates folded."""

    def __init__(
        self,
        commit: CommitFn,
        *,
        batch_max: int,
        queue_max: int,
        timeout: float = 30.0,
        on_commit: Callable[[Sequence[NewEvent]], None] | None = None,
        max_inflight: int = 1,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        # max_inflight: SQLite has one writer; PostgreSQL overlaps one batch's commit with the
        # next one's insert (duplicates across concurrent batches: the unique index).
        self._commit = commit
        self._on_commit = on_commit
        self._failed: tuple[float, str] | None = None  # (monotonic time, reason) of the last
        self._failures = LogLimiter(log)  # a full disk fails every batch: a line per 5 s
        self._batcher: Batcher[NewEvent, AppendResult] = Batcher(
            self._commit_folded,
            batch_max=batch_max,
            name="hookport-commit",
            queue_max=queue_max,
            timeout=timeout,
            max_inflight=max_inflight,
            size=_payload_size,
            bytes_max=BATCH_BYTES_MAX,
            observe=observe,
        )

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._batcher.start()

    async def append(self, event: NewEvent) -> AppendResult:
        """Queue ``event`` and return once its batch has committed."""
        return await self._batcher.submit(event)

    async def close(self) -> None:
        """Stop accepting appends, commit everything already queued, stop the writer."""
        await self._batcher.close()

    def check_recent(self, window: float = FAILURE_WINDOW) -> None:
        """``StoreUnavailable`` if the last append commit failed less than ``window`` s ago.

        Readiness uses it: a store that answers reads but cannot commit (a full disk) must not
        look ready, or a load balancer keeps sending deliveries that all get 503s. After the
        window the server looks ready again and the next commit decides.
        """
        if self._failed is not None and time.monotonic() - self._failed[0] < window:
            raise StoreUnavailable(f"the last commit failed: {self._failed[1]}")

    async def _commit_folded(self, batch: Sequence[NewEvent]) -> list[AppendResult | Exception]:
        leaders: dict[tuple[str, str], int] = {}
        distinct: list[NewEvent] = []
        slots: list[tuple[int, bool]] = []  # (index into distinct, folded duplicate?)
        for event in batch:
            key = dedupe_key(event)
            if key is not None and key in leaders:
                slots.append((leaders[key], True))
                continue
            if key is not None:
                leaders[key] = len(distinct)
            slots.append((len(distinct), False))
            distinct.append(event)
        try:
            results: Sequence[AppendResult | Exception] = await self._commit(distinct)
        except StoreUnavailable as exc:
            self._failed = (time.monotonic(), exc.message)
            raise
        except Exception as exc:  # an append that cannot commit is a 503, whatever the cause
            self._failures.log(logging.ERROR, "batch", "append batch failed", {"error": repr(exc)})
            if len(distinct) == 1:
                self._failed = (time.monotonic(), "store cannot commit")
                raise StoreUnavailable("store cannot commit, retry later") from exc
            # The server is up but refused the batch: one event may be at fault. Commit them
            # one at a time, so that it alone fails and its neighbours are acknowledged.
            results = await self._commit_each(distinct)
        self._failed = None
        if self._on_commit is not None:
            try:
                self._on_commit(distinct)
            except Exception:  # a wake-up failing must not stop the writer
                log.exception("post-commit hook failed")
        return [_folded(results[i]) if folded else results[i] for i, folded in slots]

    async def _commit_each(self, events: Sequence[NewEvent]) -> list[AppendResult | Exception]:
        results: list[AppendResult | Exception] = []
        for event in events:
            try:
                results.append((await self._commit([event]))[0])
            except StoreUnavailable:
                raise  # the server went away: the whole batch is a 503
            except Exception as exc:
                log.error("append of event %s failed: %r", event.id, exc)
                results.append(StoreUnavailable("store cannot commit, retry later"))
        return results


def _folded(result: AppendResult | Exception) -> AppendResult | Exception:
    """The result of a duplicate folded onto ``result``'s event."""
    if isinstance(result, Exception):
        return _fresh(result)
    return AppendResult(result.id, duplicate=True)


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
