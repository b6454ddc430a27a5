"""A receiver with concurrency=1 and a route, for the pause tests; the receiver's handler
appends each event's id to $PAUSE_LOG."""

from __future__ import annotations

import os

from hookport import Event, Plugin

plugin = Plugin("pausable")
inbox = plugin.receiver("/in", name="inbox", concurrency=1)


@inbox
def handle(event: Event) -> None:
    fd = os.open(os.environ["PAUSE_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (event.id + "\n").encode())
    finally:
        os.close(fd)


@plugin.route("/hello", name="hello")
def hello() -> str:
    return "hello"
