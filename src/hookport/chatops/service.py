"""Chat-ops assembled: the enabled platforms' adapters, their plugin, and the command set.

:func:`build_chatops` reads ``[chatops]``; ``create_app`` adds :attr:`ChatOps.plugin` to the
plugins it assembles (so chat endpoints are endpoints like any other), then
:meth:`ChatOps.attach` binds the command set to the app's
:class:`~hookport.operations.Operations` and starts the adapters with the app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from hookport.assembly import Assembly
from hookport.chatops.access import Access
from hookport.chatops.adapter import ChatAdapter, Runner
from hookport.chatops.commands import Commands
from hookport.config import ChatPlatformSettings, Settings
from hookport.errors import ConfigError
from hookport.notify import Relay
from hookport.operations import Operations
from hookport.plugin import Plugin
from hookport.trial import Trial

__all__ = ["ChatOps", "build_chatops"]

PLUGIN_NAME = "chatops"


@runtime_checkable
class Connected(Protocol):
    """An adapter that keeps a connection of its own and relays ``ctx.send`` through it."""

    def relays(self) -> dict[str, Relay]:
        """URL scheme -> the relay it names."""
        ...


AdapterFactory = Callable[[ChatPlatformSettings, Settings, Runner], ChatAdapter]


def _factories() -> Mapping[str, AdapterFactory]:
    from hookport.chatops.discord import DiscordAdapter
    from hookport.chatops.irc import IrcAdapter
    from hookport.chatops.slack import SlackAdapter
    from hookport.chatops.telegram import TelegramAdapter

    return {
        "slack": SlackAdapter,
        "telegram": TelegramAdapter,
        "discord": DiscordAdapter,
        "irc": IrcAdapter,
    }


class ChatOps:
    """The enabled chat platforms of one app."""

    def __init__(self, settings: Settings, adapters: Sequence[ChatAdapter], runner: Runner) -> None:
        self.settings = settings
        self.adapters = tuple(adapters)
        self.runner = runner
        self.plugin: Plugin[None] = Plugin(PLUGIN_NAME, description="hookport's commands from chat")
        for adapter in self.adapters:
            adapter.declare(self.plugin)

    def attach(self, ops: Operations, assembly: Assembly) -> Commands:
        """Bind the command set to ``ops`` (``test`` runs trials of ``assembly``)."""
        tables = self.settings.chatops.platforms()
        commands = Commands(
            ops,
            {name: Access.from_settings(table) for name, table in tables.items()},
            settings=self.settings.chatops,
            trial=Trial(assembly, self.settings),
            base_url=self.settings.server.base_url or "http://127.0.0.1",
        )
        self.runner.bind(commands)
        return commands

    def secrets(self) -> list[str]:
        """Every adapter's secrets (for the log filter)."""
        return [value for adapter in self.adapters for value in adapter.secrets() if value]

    def relays(self) -> dict[str, Relay]:
        """The connections ``[channels]`` URLs may name (``hookport-irc://``), by scheme."""
        found: dict[str, Relay] = {}
        for adapter in self.adapters:
            if isinstance(adapter, Connected):
                found.update(adapter.relays())
        return found

    async def start(self, *, connections: bool = False) -> None:
        """Start every adapter; those that keep a connection (IRC) only with
        ``connections`` (``hookport serve``: one connection per server, not per process)."""
        for adapter in self.adapters:
            if connections or not isinstance(adapter, Connected):
                await adapter.start()

    async def stop(self) -> None:
        """Stop every adapter."""
        for adapter in self.adapters:
            await adapter.stop()


def build_chatops(
    settings: Settings, factories: Mapping[str, AdapterFactory] | None = None
) -> ChatOps | None:
    """The chat platforms ``[chatops]`` enables (None when it enables none).

    ``factories``: platform name -> adapter class (default: every platform hookport has).
    """
    enabled = settings.chatops.platforms()
    if not enabled:
        return None
    known = _factories() if factories is None else factories
    runner = Runner()
    adapters = []
    for name, table in enabled.items():
        factory = known.get(name)
        if factory is None:
            raise ConfigError(f"[chatops.{name}]: this hookport has no {name} adapter yet")
        adapters.append(factory(table, settings, runner))
    return ChatOps(settings, adapters, runner)
