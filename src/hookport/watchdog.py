"""The handler watchdog: tells, while it happens, that a handler runs long or is stuck.

Timeouts end a handler's attempt; before that, an operator wants to know. Every few seconds the
watchdog looks at what the worker's slots are running and warns once for each handler running
past half its timeout (or past ``SLOW_WITHOUT_TIMEOUT`` when it has none), naming the event,
the endpoint and the handler (the line carries the event's delivery id and attempt as fields).
:attr:`HandlerWatchdog.slow` is what the metrics show.
"""

from __future__ import annotations

import asyncio
import logging
import time

from hookport.dispatch import Dispatcher, RunningHandler
from hookport.tasks import cancel_all

log = logging.getLogger("hookport.worker")

SLOW_FRACTION = 0.5
"""A handler is slow past this fraction of its timeout."""
SLOW_WITHOUT_TIMEOUT = 60.0
"""Seconds after which a handler with no timeout is slow."""


def slow_after(timeout: float | None) -> float:
    """Seconds of running after which a handler with ``timeout`` is reported as slow."""
    return SLOW_WITHOUT_TIMEOUT if timeout is None else timeout * SLOW_FRACTION


class HandlerWatchdog:
    """Warns about slow handlers of ``dispatcher``, looking every ``interval`` seconds."""

    def __init__(self, dispatcher: Dispatcher, interval: float = 1.0) -> None:
        self._dispatcher = dispatcher
        self._interval = interval
        self._warned: set[tuple[str, str, float]] = set()
        self._task: asyncio.Task[None] | None = None
        self.slow = 0
        """Handlers running past their slow threshold at the last look."""

    def start(self) -> None:
        """Start watching in the background (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="hookport-handler-watchdog")

    async def stop(self) -> None:
        """Stop watching."""
        if self._task is not None:
            await cancel_all([self._task])
            self._task = None

    def check(self, now: float | None = None) -> list[RunningHandler]:
        """Look once: warn about newly slow handlers; return every slow one."""
        now = time.monotonic() if now is None else now
        running = self._dispatcher.running()
        slow = [r for r in running if r.seconds(now) >= slow_after(r.timeout)]
        keys = {(r.event_id, r.handler, r.since) for r in running}
        self._warned &= keys  # forget handlers that ended
        for run in slow:
            key = (run.event_id, run.handler, run.since)
            if key in self._warned:
                continue
            self._warned.add(key)
            limit = f"its timeout is {run.timeout:g}s" if run.timeout else "it has no timeout"
            log.warning(
                "handler %s has been running %.0fs on event %s (endpoint %s); %s",
                run.handler,
                run.seconds(now),
                run.event_id,
                run.endpoint,
                limit,
                extra=run.log_fields(),
            )
        self.slow = len(slow)
        return slow

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.check()
