"""Receivers for the scale-out tests; every handler run leaves its interval in $SCALEOUT_LOG.

Each run appends two lines to one file shared by every process (``O_APPEND``, so lines of
different processes never overwrite each other; ``fsync``, like ``durable.py``):

    start RECEIVER EVENT_ID ATTEMPT PID T0 SECONDS
    end RECEIVER EVENT_ID ATTEMPT PID T0 T1

Times are wall-clock Unix seconds, comparable across processes on one machine. A ``start``
without its ``end`` is a run cut short: its process was killed. A handler sleeps SECONDS:
the ``"sleep"`` of its JSON body, else ``$SCALEOUT_HANDLER_SECONDS``, long enough for two
concurrent runs of one event to overlap visibly.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from hookport import Event, Plugin

plugin = Plugin("scaleout", description="evidence of every handler run, for scale-out tests")
LOG = os.environ.get("SCALEOUT_LOG", "scaleout.log")
HANDLER_SECONDS = float(os.environ.get("SCALEOUT_HANDLER_SECONDS", "0.03"))


def _note(line: str) -> None:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _seconds(event: Event) -> float:
    try:
        data = json.loads(event.body or b"{}")
    except ValueError:
        return HANDLER_SECONDS
    return float(data.get("sleep", HANDLER_SECONDS)) if isinstance(data, dict) else HANDLER_SECONDS


async def _run(event: Event) -> None:
    who = f"{event.endpoint} {event.id} {event.attempt} {os.getpid()}"
    seconds = _seconds(event)
    t0 = time.time()
    _note(f"start {who} {t0:.6f} {seconds}")
    await asyncio.sleep(seconds)
    _note(f"end {who} {t0:.6f} {time.time():.6f}")


alpha = plugin.receiver("/alpha", name="alpha", description="the load of the scale-out test")


@alpha
async def handle_alpha(event: Event) -> None:
    await _run(event)


beta = plugin.receiver("/beta", name="beta", description="a second receiver, for --receiver")


@beta
async def handle_beta(event: Event) -> None:
    await _run(event)
