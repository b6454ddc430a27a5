"""Thread lanes: bounded, timeouts from the thread's start, stuck threads never handed out."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from hookport.errors import HandlerTimeout
from hookport.threads import ThreadLane


@pytest.mark.anyio
async def test_a_call_runs_on_a_daemon_thread_of_its_lane_and_returns_its_result() -> None:
    lane = ThreadLane("test", 2)
    seen: list[threading.Thread] = []

    def work(x: int) -> int:
        seen.append(threading.current_thread())
        return x * 2

    assert await lane.run(work, {"x": 21}) == 42
    [thread] = seen
    assert thread.daemon  # a hung handler cannot keep the process from exiting
    assert thread.name.startswith("hookport-test-")


@pytest.mark.anyio
async def test_exceptions_reach_the_caller() -> None:
    lane = ThreadLane("test", 1)

    def fail() -> None:
        raise ValueError("nope")

    with pytest.raises(ValueError, match="nope"):
        await lane.run(fail, {})


@pytest.mark.anyio
async def test_time_spent_waiting_for_a_thread_is_not_part_of_the_timeout() -> None:
    lane = ThreadLane("test", 1)
    first_running = threading.Event()
    release_first = threading.Event()

    def first() -> str:
        first_running.set()
        release_first.wait(10)
        return "first"

    def quick() -> str:
        return "quick"

    blocker = asyncio.create_task(lane.run(first, {}))
    await asyncio.to_thread(first_running.wait, 10)
    # quick() queues behind first() for longer than its own 0.05 s timeout...
    waiting = asyncio.create_task(lane.run(quick, {}, timeout=0.05))
    done, _ = await asyncio.wait({waiting}, timeout=0.3)
    assert not done  # ...and is still waiting for the thread, not timed out
    release_first.set()
    assert await blocker == "first"
    assert await waiting == "quick"  # it then ran, well within its own time


@pytest.mark.anyio
async def test_a_call_past_its_timeout_is_stuck_and_keeps_its_thread() -> None:
    lane = ThreadLane("test", 1)
    release = threading.Event()
    started: list[float] = []

    def hang() -> None:
        release.wait(10)

    def after() -> str:
        started.append(time.monotonic())
        return "after"

    with pytest.raises(HandlerTimeout, match="longer than 0.05s; its thread is still running"):
        await lane.run(hang, {}, timeout=0.05)
    assert lane.stuck == 1

    waiting = asyncio.create_task(lane.run(after, {}))
    done, _ = await asyncio.wait({waiting}, timeout=0.3)
    assert not done and not started  # the stuck thread is not counted as free
    release.set()
    assert await waiting == "after"
    assert lane.stuck == 0


@pytest.mark.anyio
async def test_at_most_size_calls_run_at_once_and_idle_threads_are_reused() -> None:
    lane = ThreadLane("test", 3)
    lock = threading.Lock()
    running = peak = 0
    gate = threading.Barrier(3, timeout=10)

    def work() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        gate.wait()  # three at once must be possible
        with lock:
            running -= 1

    await asyncio.gather(*(lane.run(work, {}) for _ in range(9)))
    assert peak == 3
    assert lane.threads == 3


@pytest.mark.anyio
async def test_cancelling_the_caller_leaves_the_call_running_and_the_slot_taken() -> None:
    lane = ThreadLane("test", 1)
    entered = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def hang() -> None:
        entered.set()
        release.wait(10)
        finished.set()

    task = asyncio.create_task(lane.run(hang, {}))
    await asyncio.to_thread(entered.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not finished.is_set()
    release.set()
    assert await lane.run(lambda: "next", {}) == "next"
    assert finished.is_set()
