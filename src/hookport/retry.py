"""Retry policy: a value object that turns "attempt N failed" into a decision.

Pure: no clock, no randomness of its own, no I/O. The worker passes ``now`` and a
``random.Random``, so a seeded generator makes every decision reproducible in tests.

Backoff is exponential with *equal jitter*: for attempt ``n`` the cap is
``min(max, initial * 2**(n-1))`` and the delay is drawn uniformly from ``[cap/2, cap]``.
We chose equal jitter over full jitter (``[0, cap]``) because full jitter sometimes retries
almost at once, which hammers a receiving service that has just failed and makes the
configured ``initial`` a suggestion rather than a floor; half the cap still spreads retries of
many events that failed together.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryAt:
    """Run the event again at ``run_at`` (Unix seconds), ``delay`` seconds after ``now``."""

    run_at: float
    delay: float


@dataclass(frozen=True, slots=True)
class Dead:
    """Give up: the event has used all its attempts and stays for inspection and replay."""

    attempts: int

    @property
    def reason(self) -> str:
        """A short explanation for logs and ``last_error``."""
        return f"gave up after {self.attempts} attempt(s)"


RetryDecision = RetryAt | Dead
"""What :meth:`RetryPolicy.decide` returns."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times an event runs, and how long to wait between runs.

    ``max_attempts`` counts every run, the first included (1 = never retry). ``initial`` is the
    backoff cap of the first retry and ``max`` the largest cap, in seconds. ``jitter=False``
    gives the exact exponential delays (useful to reason about, not to deploy with many
    workers). Invalid values raise ``ValueError`` at construction.
    """

    max_attempts: int
    initial: float
    max: float
    jitter: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ValueError("max_attempts must be an integer")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if not _positive_finite(self.initial):
            raise ValueError(f"backoff initial must be a positive number, not {self.initial!r}")
        if not _positive_finite(self.max) or self.max < self.initial:
            raise ValueError(
                f"backoff max ({self.max!r}) must be a number at least as large as "
                f"initial ({self.initial!r})"
            )

    def cap(self, attempt: int) -> float:
        """The largest delay after failed attempt ``attempt`` (1-based)."""
        doublings = attempt - 1
        # Compare exponents rather than computing 2**n: large attempt numbers would overflow.
        if doublings >= math.log2(self.max / self.initial):
            return self.max
        return self.initial * 2.0**doublings

    def decide(self, attempt: int, now: float, rng: random.Random) -> RetryDecision:
        """Decide what follows failed attempt ``attempt`` (1 on the first run).

        ``Dead`` once ``attempt >= max_attempts``; otherwise ``RetryAt(now + delay)``.
        """
        if attempt < 1:
            raise ValueError(f"attempt numbers start at 1, not {attempt}")
        if attempt >= self.max_attempts:
            return Dead(attempt)
        cap = self.cap(attempt)
        delay = rng.uniform(cap / 2, cap) if self.jitter else cap
        return RetryAt(run_at=now + delay, delay=delay)


def _positive_finite(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
