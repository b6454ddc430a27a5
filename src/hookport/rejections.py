"""Rejected deliveries: "why didn't my webhook fire?" answered from a bounded record.

Every 4xx answer of an endpoint or of a path no endpoint serves, and every hook whose trigger
rules did not match, becomes a :class:`~hookport.store.base.Rejection`: metadata only (time,
method, path, endpoint, status, reason, source address, header *names*, declared body size),
never a body or a header's value.

Recording never slows or blocks the answer: :meth:`RejectionLog.add` puts the record on a
bounded in-memory queue, and one task writes the queue in batches (one transaction each) and
prunes the table to ``keep`` rows and ``max_age``. A flood fills the queue; what does not fit
is dropped and counted (``hookport_rejections_dropped_total``), so memory, disk and store load
stay bounded whatever a sender does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from hookport.errors import StoreError
from hookport.metrics import Metrics
from hookport.observability import LogLimiter
from hookport.store.base import Rejection, Store

log = logging.getLogger("hookport.rejections")

MAX_PATH = 512
"""Characters of a rejected request's path that are kept."""
MAX_REASON = 200
"""Characters of a rejection's reason that are kept."""
MAX_HEADER_NAMES = 64
"""Header names kept per rejection (each at most :data:`MAX_HEADER_NAME` characters)."""
MAX_HEADER_NAME = 64


def rejection(
    *,
    method: str,
    path: str,
    endpoint: str | None,
    status: int,
    reason: str,
    source_ip: str | None,
    header_names: Iterable[str],
    body_size: int,
    at: float | None = None,
) -> Rejection:
    """A :class:`Rejection` with every request-controlled field cut to its bound."""
    names: list[str] = []
    for name in header_names:
        if len(names) == MAX_HEADER_NAMES:
            break
        names.append(name.lower()[:MAX_HEADER_NAME])
    return Rejection(
        at=time.time() if at is None else at,
        method=method[:16],
        path=path[:MAX_PATH],
        endpoint=endpoint,
        status=status,
        reason=reason[:MAX_REASON],
        source_ip=source_ip,
        header_names=tuple(names),
        body_size=max(body_size, 0),
    )


class RejectionLog:
    """Queues rejections and writes them to the store in batches (see the module docstring).

    ``keep``: rows the table keeps (the newest); ``max_age``: seconds a row is kept;
    ``capacity``: records waiting to be written at most; ``batch``: records per transaction;
    ``interval``: seconds between writes while records wait.
    """

    def __init__(
        self,
        store: Store,
        *,
        keep: int,
        max_age: float,
        metrics: Metrics | None = None,
        capacity: int = 10_000,
        batch: int = 500,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._keep = keep
        self._max_age = max_age
        self._metrics = metrics
        self._capacity = capacity
        self._batch = batch
        self._interval = interval
        self._clock = clock
        self._queue: collections.deque[Rejection] = collections.deque()
        self._waiting = asyncio.Event()
        self._failures = LogLimiter(log, every=30.0)
        self.dropped = 0

    def add(self, item: Rejection) -> None:
        """Queue ``item`` for the next write; drop (and count) it when the queue is full."""
        if len(self._queue) >= self._capacity:
            self.dropped += 1
            if self._metrics is not None:
                self._metrics.rejection_dropped()
            return
        self._queue.append(item)
        self._waiting.set()

    @property
    def pending(self) -> int:
        """Records queued and not yet written."""
        return len(self._queue)

    async def run(self) -> None:
        """Write queued records until cancelled (then write what is left, best effort)."""
        try:
            while True:
                await self._waiting.wait()
                await self.flush()
                await asyncio.sleep(self._interval)  # batches: at most one write per interval
        finally:
            if self._queue:  # stopping: what is queued is written once more, within 5 s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.flush(), timeout=5.0)

    async def flush(self) -> None:
        """Write everything queued now, ``batch`` records per transaction."""
        while self._queue:
            items = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
            try:
                await self._store.record_rejections(
                    items, keep=self._keep, before=self._clock() - self._max_age
                )
            except StoreError as exc:  # the record is diagnostics: never worth failing for
                self.dropped += len(items)
                if self._metrics is not None:
                    for _ in items:
                        self._metrics.rejection_dropped()
                fields = {"dropped": len(items), "error": type(exc).__name__}
                self._failures.log(
                    logging.WARNING, "store", "rejected deliveries not recorded", fields
                )
        self._waiting.clear()
