"""The group-commit queue: batches bounded by count and, with sizes, by bytes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from hookport.store._batch import Batcher

pytestmark = pytest.mark.anyio


async def _batches(sizes: list[int], *, batch_max: int, bytes_max: int) -> list[list[int]]:
    seen: list[list[int]] = []

    async def commit(items: Sequence[int]) -> list[int]:
        seen.append(list(items))
        return list(items)

    batcher: Batcher[int, int] = Batcher(
        commit, batch_max=batch_max, name="t", size=lambda n: n, bytes_max=bytes_max
    )
    batcher.start()
    # The submits run in one turn of the loop, before the committing task wakes up: all queued.
    calls = [asyncio.ensure_future(batcher.submit(n)) for n in sizes]
    assert await asyncio.gather(*calls) == sizes
    await batcher.close()
    return seen


async def test_a_batch_stops_before_its_bytes_pass_the_budget() -> None:
    seen = await _batches([40, 40, 30, 50, 10, 11], batch_max=100, bytes_max=100)
    assert seen == [[40, 40], [30, 50, 10], [11]]


async def test_an_item_larger_than_the_budget_goes_alone() -> None:
    seen = await _batches([5, 500, 5, 5], batch_max=100, bytes_max=100)
    assert seen == [[5], [500], [5, 5]]


async def test_the_count_limit_still_applies() -> None:
    seen = await _batches([1] * 7, batch_max=3, bytes_max=100)
    assert seen == [[1, 1, 1], [1, 1, 1], [1]]
