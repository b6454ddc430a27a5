"""Endpoints for the chat-ops end-to-end tests: a receiver whose handler fails on demand (dead
events to replay) and one whose handler takes a second (a command slower than Slack waits)."""

import asyncio

from hookport import Event, Plugin

plugin = Plugin("chatty")
inbox = plugin.receiver("/inbox", name="inbox")
slow = plugin.receiver("/slow", name="slow")


@inbox
async def note(event: Event) -> None:
    if event.json.get("fail"):
        raise RuntimeError("asked to fail")


@slow
async def crawl(event: Event) -> None:
    await asyncio.sleep(1.0)  # the workload: longer than [chatops] slow_after
