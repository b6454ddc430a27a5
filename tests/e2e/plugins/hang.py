"""A plugin with handlers that hang on purpose, for the abuse tests.

- POST /hang: a receiver whose sync handler blocks until the file named by HANG_RELEASE exists
  (never, unless the test creates it); each run appends a line to HANG_LOG when it starts.
- POST /healthy: a receiver whose sync no-op handler appends a line to HANG_LOG.
- GET /ping: a sync route that answers "pong".
- POST /signed: a GitHub-verified receiver (secret from HANG_SECRET).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hookport import Event, Plugin, verify

plugin = Plugin("hang")

hang = plugin.receiver("/hang", name="hang", dedupe=False)
healthy = plugin.receiver("/healthy", name="healthy", dedupe=False)
signed = plugin.receiver("/signed", name="signed", verify=verify.github(secret_env="HANG_SECRET"))


def _note(text: str) -> None:
    with open(os.environ["HANG_LOG"], "a", encoding="utf-8") as fh:
        fh.write(text + "\n")


@hang
def block(event: Event) -> None:
    _note(f"hang-start {event.id}")
    release = Path(os.environ["HANG_RELEASE"])
    while not release.exists():  # a handler stuck on something that never answers
        time.sleep(0.05)


@healthy
def fine(event: Event) -> None:
    _note(f"healthy {event.id}")


@plugin.route("/ping")
def ping() -> str:
    return "pong"


@signed
def on_signed(event: Event) -> None:
    _note(f"signed {event.id}")
