"""The bench plugin: one GitHub receiver at ``/github`` with a no-op handler for every event.

The secret comes from ``BENCH_SECRET``; ``bench/run.py`` sets it and signs the payload with it.
"""

from __future__ import annotations

from hookport import Plugin, verify

plugin = Plugin("bench", description="Load benchmark receiver (no-op handler)")

github = plugin.receiver("/github", verify=verify.github(secret_env="BENCH_SECRET"))


@github.on("*")
def noop(event: object, ctx: object) -> None:
    """Do nothing: the benchmark measures hookport, not the handler."""
