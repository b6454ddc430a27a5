"""Lease renewal: keep the leases of events a worker still holds from expiring.

A lease that expires makes its event due again for any worker, which is how a dead worker's
events are recovered. A live worker therefore renews the leases it holds every third of the
lease: two renewals can fail (a store hiccup) before another worker may take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from hookport.store.base import Store
from hookport.tasks import cancel_all

log = logging.getLogger("hookport.worker")


class LeaseRenewer:
    """Renews, for ``owner``, the leases on the event ids ``held()`` returns."""

    def __init__(
        self,
        store: Store,
        owner: str,
        lease: float,
        held: Callable[[], list[str]],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._owner = owner
        self._lease = lease
        self._held = held
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> bool:
        """Start renewing in the background; False if already running."""
        if self._task is not None and not self._task.done():
            return False
        self._task = asyncio.create_task(self._loop(), name="hookport-lease-renewer")
        return True

    async def stop(self) -> None:
        """Stop renewing (leases then expire on their own unless finished or released)."""
        if self._task is not None:
            await cancel_all([self._task])
            self._task = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Renew while the block runs (unless renewal was already running)."""
        started = self.start()
        try:
            yield
        finally:
            if started:
                await self.stop()

    async def _loop(self) -> None:
        interval = self._lease / 3
        while True:
            await asyncio.sleep(interval)
            ids = self._held()
            if not ids:
                continue
            try:
                await self._store.renew(self._owner, ids, self._clock() + self._lease)
            except Exception as exc:
                count = len(ids)
                log.warning("could not renew %d lease(s): %s: %s", count, type(exc).__name__, exc)
