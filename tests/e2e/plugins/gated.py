"""A plugin for the chat-ops end-to-end tests: a receiver and a route that is slow on demand.

- POST /in: receiver ``inbox`` (its handler does nothing).
- GET|POST /slow: route ``slow``; it answers "slow done" once the file named by
  $CHAT_RELEASE exists (waiting at most 30 s), so a test decides when a command that runs it
  finishes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hookport import Event, Plugin

plugin = Plugin("gated")
inbox = plugin.receiver("/in", name="inbox")


@inbox
def handle(event: Event) -> None:
    pass


@plugin.route("/slow", name="slow", methods=["GET", "POST"])
def slow() -> str:
    release = Path(os.environ["CHAT_RELEASE"])
    deadline = time.monotonic() + 30
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # waiting for the test to release it, bounded
    return "slow done"
