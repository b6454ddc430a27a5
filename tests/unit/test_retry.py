"""RetryPolicy: validation, exponential caps, equal jitter bounds, dead after max_attempts."""

from __future__ import annotations

import math
import random

import pytest

from hookport.retry import Dead, RetryAt, RetryPolicy

NOW = 1_700_000_000.0


def policy(**overrides: object) -> RetryPolicy:
    values: dict[str, object] = {"max_attempts": 8, "initial": 1.0, "max": 3600.0}
    values.update(overrides)
    return RetryPolicy(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"max_attempts": 0}, "at least 1"),
        ({"max_attempts": -3}, "at least 1"),
        ({"max_attempts": 2.5}, "integer"),
        ({"max_attempts": True}, "integer"),
        ({"initial": 0}, "positive"),
        ({"initial": -1.0}, "positive"),
        ({"initial": math.nan}, "positive"),
        ({"initial": math.inf}, "positive"),
        ({"max": 0.5, "initial": 1.0}, "at least as large"),
        ({"max": math.inf}, "at least as large"),
    ],
)
def test_invalid_values_are_rejected_at_construction(
    overrides: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        policy(**overrides)


def test_policy_is_frozen() -> None:
    p = policy()
    with pytest.raises(AttributeError):
        p.max_attempts = 3  # type: ignore[misc]


def test_caps_double_from_initial_up_to_max() -> None:
    p = policy(initial=1.0, max=10.0)
    assert [p.cap(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_cap_of_a_huge_attempt_number_does_not_overflow() -> None:
    assert policy(max_attempts=10**6).cap(10**5) == 3600.0


def test_without_jitter_the_delay_is_the_cap() -> None:
    p = policy(jitter=False, initial=2.0, max=100.0)
    decision = p.decide(3, NOW, random.Random(0))
    assert decision == RetryAt(run_at=NOW + 8.0, delay=8.0)


@pytest.mark.parametrize("attempt", [1, 2, 5, 12, 20])
def test_jittered_delays_stay_within_half_cap_and_cap(attempt: int) -> None:
    p = policy(max_attempts=100, initial=0.5, max=60.0)
    rng = random.Random(attempt)
    cap = p.cap(attempt)
    delays = []
    for _ in range(2000):
        decision = p.decide(attempt, NOW, rng)
        assert isinstance(decision, RetryAt)
        assert decision.run_at == NOW + decision.delay
        delays.append(decision.delay)
    assert min(delays) >= cap / 2
    assert max(delays) <= cap
    # The draws really spread over the interval (equal jitter, not a constant).
    assert max(delays) - min(delays) > cap * 0.4


def test_decisions_are_reproducible_with_a_seeded_rng() -> None:
    p = policy()
    first = [p.decide(n, NOW, random.Random(42)) for n in range(1, 8)]
    again = [p.decide(n, NOW, random.Random(42)) for n in range(1, 8)]
    assert first == again


def test_dead_once_attempts_are_exhausted() -> None:
    p = policy(max_attempts=3)
    rng = random.Random(1)
    assert isinstance(p.decide(1, NOW, rng), RetryAt)
    assert isinstance(p.decide(2, NOW, rng), RetryAt)
    assert p.decide(3, NOW, rng) == Dead(3)
    assert p.decide(4, NOW, rng) == Dead(4)
    assert Dead(3).reason == "gave up after 3 attempt(s)"


def test_one_attempt_means_never_retry() -> None:
    assert policy(max_attempts=1).decide(1, NOW, random.Random(0)) == Dead(1)


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        policy().decide(0, NOW, random.Random(0))
