"""Receivers for the durability tests; handlers leave evidence in $DURABLE_LOG."""

from __future__ import annotations

import os
import time

from hookport import Event, Plugin

plugin = Plugin("durable")
LOG = os.environ.get("DURABLE_LOG", "handled.log")


def _note(line: str) -> None:
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


inbox = plugin.receiver("/in")


@inbox
def handle(event: Event) -> None:
    _note(f"done {event.id}")


slow = plugin.receiver("/slow")


@slow
def handle_slow(event: Event) -> None:
    _note(f"start {event.id} {event.attempt}")
    if event.attempt == 1:
        time.sleep(float(os.environ.get("DURABLE_SLOW_SECONDS", "60")))
    _note(f"end {event.id} {event.attempt}")
