"""What this process knows of paused endpoints: the store's pause table, cached for a second.

Workers need no cache: every lease reads the pause table in its own transaction, so a pause
holds from its commit on, in every process. Routes (a paused route answers 503), the metrics
gauge and the listings ask :class:`PauseBook`, which reads the table at most once per ``ttl``
seconds (one small query, shared by every request in that second). So a pause made by another
process or machine (``hookport pause``, the admin API, chat) reaches this process's routes
within ``ttl``, without a restart; one made through this process's own operations, at once.
A short poll rather than LISTEN/NOTIFY: it works the same on SQLite and PostgreSQL, and a
missed notification cannot leave a route paused for good.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from hookport.errors import StoreError
from hookport.store.base import Pause, Store

log = logging.getLogger("hookport.pauses")

PAUSE_TTL = 1.0
"""Seconds a read of the pause table is reused by routes and metrics."""


class PauseBook:
    """The pauses in force, read from ``store`` at most once per ``ttl`` seconds."""

    def __init__(
        self,
        store: Store,
        *,
        ttl: float = PAUSE_TTL,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._monotonic = monotonic
        self._known: dict[str, Pause] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> Mapping[str, Pause]:
        """The pauses in force now, by endpoint (re-read when older than ``ttl``).

        If the store cannot be read, the last pauses known stay in force (logged): a store
        outage neither pauses nor resumes anything.
        """
        if self._stale():
            async with self._lock:
                if self._stale():
                    await self._refresh()
        return self.known()

    def known(self) -> Mapping[str, Pause]:
        """The pauses last read that are still in force now (no I/O)."""
        now = self._clock()
        return {name: p for name, p in self._known.items() if p.active(now)}

    def invalidate(self) -> None:
        """Forget the last read: the next :meth:`current` reads the table (after a change)."""
        self._read_at = None

    def _stale(self) -> bool:
        return self._read_at is None or self._monotonic() - self._read_at >= self._ttl

    async def _refresh(self) -> None:
        try:
            pauses = await self._store.pauses(self._clock())
        except StoreError as exc:
            log.warning("could not read paused endpoints (%s); keeping the last known", exc)
            self._read_at = self._monotonic()  # try again after ttl, not on every request
            return
        self._known = {p.endpoint: p for p in pauses}
        self._read_at = self._monotonic()
