"""What a platform adapter is, and what every adapter shares.

An adapter (Slack, Telegram, Discord, IRC) turns a platform's messages into
:class:`~hookport.chatops.answer.Invocation`\\ s, runs them through a :class:`Runner`, and
delivers the rendered :class:`~hookport.chatops.answer.Answer`. Adapters that receive webhooks
declare routes on the chat plugin (:meth:`ChatAdapter.declare`), so they are endpoints like any
other (``hookport routes`` lists them); an adapter with a connection of its own (IRC) starts it
in :meth:`ChatAdapter.start`. Work that outlives a request (an answer posted later) runs in a
bounded :class:`Background`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

import httpx

from hookport.chatops.answer import Answer, Invocation, failed
from hookport.chatops.commands import Commands
from hookport.plugin import Plugin

__all__ = ["Background", "ChatAdapter", "Runner", "api_client", "chat_path"]

log = logging.getLogger("hookport.chatops")

CHAT_PREFIX = "/_hookport/chat/"
"""Where chat endpoints live by default: ``/_hookport/chat/<platform>``."""

MAX_BACKGROUND = 64
"""Answers being worked on at once, per adapter, after their request was answered."""


def chat_path(platform: str, configured: str | None) -> str:
    """The path of ``platform``'s endpoint: ``[chatops.<platform>] path`` or the default."""
    return configured or CHAT_PREFIX + platform


class Runner:
    """The command set, bound late: chat routes are declared before the app (and its
    :class:`~hookport.operations.Operations`) exists, and bound once it does."""

    def __init__(self) -> None:
        self.commands: Commands | None = None

    def bind(self, commands: Commands) -> None:
        """Run commands with ``commands`` from now on."""
        self.commands = commands

    async def run(self, invocation: Invocation) -> Answer:
        """Answer ``invocation`` (never raises)."""
        if self.commands is None:
            return failed("hookport is still starting; try again in a moment")
        return await self.commands.run(invocation)


class Background:
    """At most :data:`MAX_BACKGROUND` tasks at once, cancelled by :meth:`close`."""

    def __init__(self, limit: int = MAX_BACKGROUND) -> None:
        self.limit = limit
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def full(self) -> bool:
        """Whether a new task would go over the limit."""
        return len(self._tasks) >= self.limit

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> bool:
        """Start ``work``; False (and ``work`` closed, not run) when full."""
        if self.full:
            work.close()
            log.warning("chat: too many answers in progress; dropped one (%s)", name)
            return False
        task = asyncio.create_task(self._guard(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _guard(self, work: Coroutine[Any, Any, None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a background answer must never take the app down
            log.exception("chat: %s failed", name)

    async def idle(self) -> None:
        """Wait until every task has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel what still runs."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def api_client() -> httpx.AsyncClient:
    """The HTTP client an adapter answers through: bounded connections and timeouts, no
    redirects followed (a redirect could carry a token elsewhere)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
        follow_redirects=False,
    )


class ChatAdapter(Protocol):
    """One platform over the command set."""

    platform: str

    def declare(self, plugin: Plugin) -> None:
        """Declare this platform's endpoints (if it receives webhooks) on the chat plugin."""
        ...

    def secrets(self) -> list[str]:
        """The secrets this adapter holds (bot tokens), so logs mask them."""
        ...

    async def start(self) -> None:
        """Open what the adapter needs (HTTP client, a persistent connection)."""
        ...

    async def stop(self) -> None:
        """Finish or cancel answers in progress; close connections."""
        ...
