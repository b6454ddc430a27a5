"""IRC: ``!hookport ...`` commands over a persistent connection, and a relay for ``ctx.send``.

The connection itself (registration, nick fallback, NickServ, PING/PONG, reconnect with
backoff, flood limits) is :mod:`hookport.chatops.irc_connection`; this adapter configures it
from ``[chatops.irc]``, turns each command into an
:class:`~hookport.chatops.answer.Invocation` (user: the nick; channel: the channel, or the nick
itself for a private message), and answers in plain text. It declares no endpoint: IRC has no
webhooks. It is also the relay of ``hookport-irc://`` channels (:mod:`hookport.notify`).

The connection runs only where :meth:`IrcAdapter.start` is called: ``hookport serve``'s
lifespan. Other processes (``hookport worker``, ``send --local``) never connect, so one nick is
online however many processes there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from hookport.chatops.adapter import Runner
from hookport.chatops.answer import Invocation
from hookport.chatops.irc_connection import IrcConnection, IrcOptions
from hookport.chatops.render import fit, render_plain
from hookport.config import ChatPlatformSettings, Settings
from hookport.errors import ConfigError
from hookport.notify import Relay
from hookport.plugin import Plugin

__all__ = ["RELAY_SCHEME", "IrcAdapter", "parse_server"]

RELAY_SCHEME = "hookport-irc"
"""The ``[channels]`` URL scheme that sends through this connection."""


def parse_server(value: str | None, *, tls: bool) -> tuple[str, int]:
    """``host:port`` (``[::1]:6667`` for IPv6; the port defaults to 6697 with TLS, else 6667)."""
    if not value or not value.strip():
        raise ConfigError("[chatops.irc] server is required, e.g. server = 'irc.libera.chat:6697'")
    text = value.strip()
    default = 6697 if tls else 6667
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        raise ConfigError(f"[chatops.irc] server: {port_text!r} is not a port number") from None
    if not host or not 0 < port < 65536:
        raise ConfigError("[chatops.irc] server must be 'host' or 'host:port'")
    return host, port


class IrcAdapter:
    """The ``[chatops.irc]`` connection (see the module docstring)."""

    platform = "irc"

    def __init__(self, table: ChatPlatformSettings, settings: Settings, runner: Runner) -> None:
        self.table = table
        self.runner = runner
        host, port = parse_server(table.server, tls=table.tls)
        password = None
        if table.password_env:
            password = settings.secret_environ().get(table.password_env) or None
        self.options = IrcOptions(
            host=host,
            port=port,
            tls=table.tls,
            tls_ca_file=str(settings.config_dir / table.tls_ca) if table.tls_ca else None,
            nick=table.nick or "hookport",
            channels=tuple(table.irc_channels),
            nickserv_password=password,
        )
        self.max_rows = max(1, min(settings.chatops.max_rows, self.options.max_lines - 3))
        self.connection = IrcConnection(self.options, self._command)

    def declare(self, plugin: Plugin) -> None:
        """Nothing: IRC commands arrive over the connection, not as webhooks."""

    def secrets(self) -> list[str]:
        """The NickServ password."""
        return [self.options.nickserv_password] if self.options.nickserv_password else []

    def relays(self) -> dict[str, Relay]:
        """``hookport-irc://`` channels send through the connection."""
        return {RELAY_SCHEME: self.connection}

    async def start(self) -> None:
        """Connect in the background (reconnecting until stopped); ``ConfigError`` when
        ``password_env`` names a variable that is not set."""
        if self.table.password_env and not self.options.nickserv_password:
            raise ConfigError(
                f"[chatops.irc] password_env: environment variable {self.table.password_env} "
                "is not set"
            )
        await self.connection.start()

    async def stop(self) -> None:
        """QUIT and close."""
        await self.connection.stop()

    async def _command(self, nick: str, where: str, text: str) -> Sequence[str]:
        answer = await self.runner.run(Invocation(self.platform, nick, where, text))
        budget = self.options.max_lines * self.options.max_line_bytes
        return fit(answer, render_plain, self.max_rows, budget).splitlines()
