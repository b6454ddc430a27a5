"""Receivers whose log lines tests/e2e/test_logs.py checks field by field.

- ``/flaky`` fails its first attempt and succeeds on the second, logging through ``ctx.log``
  on each;
- ``/stuck`` (sync, 3 s timeout) blocks until the file ``$TRACED_RELEASE`` exists: the
  watchdog warns about it, its thread outlives the timeout (stuck), then returns;
- ``/hold`` (async, no timeout) waits for the same file, so a test can kill the server while
  it holds an event's lease.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from hookport import Event, Plugin
from hookport.context import Context

plugin = Plugin("traced")
flaky = plugin.receiver("/flaky", max_attempts=3)
stuck = plugin.receiver("/stuck", max_attempts=2, timeout=3.0)
hold = plugin.receiver("/hold", timeout=None)
WAIT_LIMIT = 60.0


def _released() -> bool:
    return Path(os.environ["TRACED_RELEASE"]).exists()


@flaky.on()
def on_flaky(event: Event, ctx: Context) -> None:
    ctx.log.info("flaky handler on attempt %d", ctx.attempt)
    if ctx.attempt == 1:
        raise RuntimeError("the first attempt fails")


@stuck.on()
def on_stuck(event: Event, ctx: Context) -> None:
    ctx.log.info("stuck handler started")
    deadline = time.monotonic() + WAIT_LIMIT
    while not _released() and time.monotonic() < deadline:
        time.sleep(0.05)  # a sync handler blocking its thread, as a hung call would


@hold.on()
async def on_hold(event: Event, ctx: Context) -> None:
    ctx.log.info("holding the event")
    deadline = time.monotonic() + WAIT_LIMIT
    while not _released() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
