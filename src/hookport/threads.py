"""Threads for sync handlers: bounded lanes whose timeouts measure the handler's own run.

asyncio's default executor is shared by everything in the process, its threads are joined at
exit (a hung handler then blocks SIGTERM forever), and ``wait_for`` around ``run_in_executor``
counts the time a call spends queued for a thread as its run time. A :class:`ThreadLane` fixes
all three:

- each lane has its own threads (workers' sync handlers and sync routes never share one), at
  most ``size`` calls at once; further calls wait in order for a free thread;
- a call's timeout starts when its thread starts running it, never while it waits;
- a call that outlives its timeout cannot be killed (Python threads cannot be), so it is
  reported, counted as *stuck*, and its thread is not handed out again until it returns;
- threads are daemons, so a process that is told to stop can exit with a handler still hung.

Idle threads are kept for reuse and exit after ``idle_seconds`` without work.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hookport.errors import HandlerTimeout

log = logging.getLogger("hookport.threads")


@dataclass(eq=False, slots=True)
class _Call:
    func: Callable[..., Any]
    kwargs: Mapping[str, Any]
    label: str
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Any]
    release: Callable[[], object]
    started_at: float = 0.0  # set by the thread as it starts the call (0.0: not yet)
    result: Any = None
    error: BaseException | None = None
    stuck: bool = field(default=False)


class ThreadLane:
    """Runs sync callables on this lane's own daemon threads, at most ``size`` at once."""

    def __init__(self, name: str, size: int, *, idle_seconds: float = 30.0) -> None:
        if size < 1:
            raise ValueError("a thread lane needs at least one thread")
        self.name = name
        self.size = size
        self._idle_seconds = idle_seconds
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0  # threads waiting for a call and not yet promised one
        self._stuck: set[_Call] = set()
        self._slots: asyncio.Semaphore | None = None
        self._numbers = itertools.count(1)

    @property
    def stuck(self) -> int:
        """Calls that outlived their timeout and still hold a thread."""
        return len(self._stuck)

    @property
    def threads(self) -> int:
        """Threads alive now (busy, stuck or idle)."""
        return self._threads

    async def run(
        self,
        func: Callable[..., Any],
        kwargs: Mapping[str, Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - measured from the thread's start
        label: str = "",
    ) -> Any:
        """Call ``func(**kwargs)`` on a thread of this lane and return its result.

        Waits for a free thread first (that wait is not part of ``timeout``). Raises
        :class:`~hookport.errors.HandlerTimeout` when the call runs longer than ``timeout``
        seconds; the call then keeps its thread until it returns (see :attr:`stuck`).
        Cancelling the caller while the call runs stops the wait, not the call.
        """
        slots = self._slots
        if slots is None:
            slots = self._slots = asyncio.Semaphore(self.size)
        await slots.acquire()
        loop = asyncio.get_running_loop()
        call = _Call(
            func,
            kwargs,
            label or getattr(func, "__qualname__", repr(func)),
            loop,
            loop.create_future(),
            slots.release,
        )
        call.done.add_done_callback(_retrieve)  # a caller that stopped waiting leaves no warning
        try:
            self._submit(call)
        except BaseException:
            slots.release()
            raise
        if timeout is None:
            return await asyncio.shield(call.done)
        # One hand-off back per call (its end): the thread stamps started_at as it starts, and
        # the deadline is checked against that stamp, so time spent waiting for a thread never
        # counts. Until the call has started, the wait is re-armed for a whole timeout.
        while True:
            started = call.started_at
            remaining = (started + timeout - time.monotonic()) if started else timeout
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    return await asyncio.shield(call.done)
            except TimeoutError:
                if call.done.done():  # finished at the deadline: its own result wins
                    return call.done.result()
                started = call.started_at
                if started and time.monotonic() >= started + timeout:
                    break
        self._mark_stuck(call, timeout)
        raise HandlerTimeout(
            f"handler ran longer than {timeout:g}s; its thread is still running"
        )

    def _submit(self, call: _Call) -> None:
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                spawn = False
            else:
                self._threads += 1
                spawn = True
        self._calls.put(call)
        if spawn:
            number = next(self._numbers)
            thread = threading.Thread(
                target=self._serve, name=f"hookport-{self.name}-{number}", daemon=True
            )
            thread.start()

    def _serve(self) -> None:
        while True:
            try:
                call = self._calls.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # nobody was promised this thread: retire it
                        self._idle -= 1
                        self._threads -= 1
                        return
                continue  # a call was promised to an idle thread: it is on its way
            self._run(call)
            with self._lock:
                self._idle += 1
            # After counting this thread idle, so the next call reuses it; the result and the
            # free slot go back to the loop in one hand-off.
            _post(call.loop, _finish, call)

    def _run(self, call: _Call) -> None:
        call.started_at = time.monotonic()
        try:
            call.result = call.func(**call.kwargs)
        except BaseException as exc:  # handed to the awaiting coroutine
            call.error = exc
        finally:
            if call.stuck:
                self._stuck.discard(call)
                log.warning(
                    "stuck handler %s returned after %.1fs; its thread is free again",
                    call.label,
                    time.monotonic() - call.started_at,
                    extra={"lane": self.name},
                )

    def _mark_stuck(self, call: _Call, timeout: float | None) -> None:
        call.stuck = True
        self._stuck.add(call)
        log.error(
            "handler %s still running past its %gs timeout; its thread stays busy until it "
            "returns (%d of %d %s threads stuck)",
            call.label,
            timeout or 0,
            len(self._stuck),
            self.size,
            self.name,
            extra={"lane": self.name},
        )


def _finish(call: _Call) -> None:
    """On the loop: hand the call's outcome to its caller and free its slot."""
    future = call.done
    if not future.done():
        if call.error is not None:
            future.set_exception(call.error)
        else:
            future.set_result(call.result)
    call.result = call.error = None
    call.release()


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _post(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: Any) -> None:
    """Run ``callback`` on ``loop``; a loop already closed has nobody left waiting."""
    with contextlib.suppress(RuntimeError):  # the loop closed while a stuck handler ran
        loop.call_soon_threadsafe(callback, *args)
