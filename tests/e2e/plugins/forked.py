"""For ``serve --processes``: a route naming the process that answered, and a receiver."""

from __future__ import annotations

import os

from hookport import Event, Plugin

plugin = Plugin("forked", description="which process answers, for serve --processes tests")
jobs = plugin.receiver("/jobs", name="jobs")


@plugin.route("/pid")
def pid() -> str:
    return str(os.getpid())


@jobs.on()
def run(event: Event) -> None:
    return None
