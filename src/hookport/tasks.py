"""Small asyncio helpers the background loops share: bounded backoff, waits, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Backoff:
    """Bounded exponential pause after loop errors (0.1 s, 0.2 s, ... up to 5 s)."""

    initial: float = 0.1
    max: float = 5.0
    current: float = 0.0

    def next(self) -> float:
        """The next pause, doubled each time up to ``max``."""
        self.current = min(self.max, self.current * 2 if self.current else self.initial)
        return self.current

    def reset(self) -> None:
        """Start again from ``initial`` (after a success)."""
        self.current = 0.0


async def set_within(event: asyncio.Event, seconds: float) -> None:
    """Return when ``event`` is set or after ``seconds``, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


async def cancel_all(tasks: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel ``tasks`` and wait until every one has ended."""
    pending = list(tasks)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
