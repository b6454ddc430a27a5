"""A persistent IRC connection, as helga keeps one: registers, joins, answers, reconnects.

One :class:`IrcConnection` runs as a background task of ``hookport serve`` (started and
stopped by the app's lifespan). It

- connects over asyncio streams (TLS optional), registers with ``nick`` and falls back to
  ``nick_``, ``nick__``, ``nick1``, ... while the server says the nick is in use;
- identifies to NickServ when a password is given (from the environment, never the config);
- joins its channels, answers the server's PINGs, and PINGs the server itself after a quiet
  ``ping_interval`` (no answer within another interval: the connection is dead);
- hands each PRIVMSG that is a command (``!hookport ...`` in a channel, or anything in a
  private message) to ``on_command`` and sends the lines it returns back where it came from;
  CTCP requests and NOTICEs are ignored;
- sends its output through a token bucket (``burst`` lines at once, then one per
  ``line_interval``), so a long answer never gets it kicked for flooding;
- reconnects after any failure with exponential backoff (equal jitter) up to
  ``reconnect_max``, starting again from ``reconnect_initial`` once a connection registers.

Commands run one at a time; a bounded inbox drops commands that arrive faster than they are
answered (a flood of commands must not queue without limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from hookport.chatops import irc_lines
from hookport.chatops.irc_lines import Line

log = logging.getLogger("hookport.chatops.irc")

CommandHandler = Callable[[str, str, str], Awaitable[Sequence[str]]]
"""``on_command(nick, where, text)`` -> the answer's lines; ``where`` is the channel, or the
nick itself for a private message."""

_NICK_REFUSED = {"432", "433", "436", "437"}  # erroneous, in use, collision, unavailable
_INBOX = 16
_OUTBOX = 500


class IrcError(Exception):
    """The server ended the session (ERROR) or refused it in a way we cannot fix."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IrcOptions:
    """How to connect: server, identity, channels, limits. See ``docs/chatops.md``."""

    host: str
    port: int = 6667
    tls: bool = False
    tls_verify: bool = True
    tls_ca_file: str | None = None
    """PEM certificates to trust instead of the system's (a private network's CA)."""
    nick: str = "hookport"
    realname: str = "hookport webhook receiver"
    channels: tuple[str, ...] = ()
    nickserv_password: str | None = field(default=None, repr=False)
    server_password: str | None = field(default=None, repr=False)
    prefix: str = "!hookport"
    max_lines: int = 8
    max_line_bytes: int = irc_lines.MAX_TEXT_BYTES
    burst: int = 4
    line_interval: float = 0.5
    connect_timeout: float = 15.0
    ping_interval: float = 120.0
    reconnect_initial: float = 1.0
    reconnect_max: float = 300.0
    send_wait: float = 10.0
    """How long ``send`` waits for a connection that is down before failing."""


class TokenBucket:
    """``burst`` tokens, one more every ``interval`` seconds; ``take`` waits for one."""

    def __init__(self, burst: int, interval: float, clock: Callable[[], float] = time.monotonic):
        self.burst, self.interval, self._clock = max(burst, 1), interval, clock
        self._tokens = float(self.burst)
        self._at = clock()

    def reserve(self) -> float:
        """Take the next token; returns how many seconds to wait before using it (0: now)."""
        now = self._clock()
        if self.interval > 0:
            self._tokens = min(self.burst, self._tokens + (now - self._at) / self.interval)
        else:
            self._tokens = float(self.burst)
        self._at = now
        self._tokens -= 1  # may go below zero: later callers wait for the debt to clear
        return 0.0 if self._tokens >= 0 else -self._tokens * self.interval

    async def take(self) -> None:
        """Wait until a token is free, and take it."""
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)  # pacing output is the point here, not synchronisation


class IrcConnection:
    """The persistent connection (see the module docstring). ``start``/``stop`` it once."""

    def __init__(
        self,
        options: IrcOptions,
        on_command: CommandHandler,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.options = options
        self._on_command = on_command
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(_OUTBOX)
        self._inbox: asyncio.Queue[tuple[str, str, str]] = asyncio.Queue(_INBOX)
        self._bucket = TokenBucket(options.burst, options.line_interval)
        self._registered = asyncio.Event()
        self._stopping = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.nick = options.nick
        self.joined: set[str] = set()
        self.failures = 0
        """Sessions that ended in an error so far."""
        self.last_error = ""
        """The last of those errors (type and message; never holds a password)."""
        self.connections = 0
        """Sessions that registered so far (1 after the first welcome, 2 after a reconnect)."""

    @property
    def connected(self) -> bool:
        """Whether a session is registered now."""
        return self._registered.is_set()

    @property
    def running(self) -> bool:
        """Whether the background tasks run (between :meth:`start` and :meth:`stop`)."""
        return bool(self._tasks)

    async def start(self) -> None:
        """Start connecting in the background (returns at once)."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._run(), name="hookport-irc"),
            asyncio.create_task(self._commands(), name="hookport-irc-commands"),
        ]

    async def stop(self, grace: float = 5.0) -> None:
        """Say QUIT, close the connection and end the background tasks."""
        self._stopping.set()
        writer = self._writer
        if writer is not None and self.connected:
            with contextlib.suppress(OSError, RuntimeError):
                writer.write(b"QUIT :hookport stopping\r\n")
                await asyncio.wait_for(writer.drain(), grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def send(self, target: str, message: str) -> None:
        """Queue ``message`` (several lines, each cut to fit) for ``target`` (channel or nick).

        Waits up to ``send_wait`` for a connection that is down; raises ``ConnectionError``
        if there is none by then, or if the output queue is full.
        """
        if not self._tasks:
            raise ConnectionError("the IRC connection is not running in this process")
        try:
            async with asyncio.timeout(self.options.send_wait):
                await self._registered.wait()
        except TimeoutError:
            raise ConnectionError("not connected to the IRC server") from None
        for line in irc_lines.answer_lines(
            message, max_lines=self.options.max_lines, max_bytes=self.options.max_line_bytes
        ):
            try:
                self._outbox.put_nowait((target, line))
            except asyncio.QueueFull:
                raise ConnectionError("IRC output queue is full") from None

    # -- the session loop --------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self._session()
            except (OSError, TimeoutError, ssl.SSLError, IrcError, ValueError) as exc:
                self.failures += 1
                self.last_error = _describe(exc)
                log.warning("IRC connection lost: %s", self.last_error)
            finally:
                self._registered.clear()
                self.joined.clear()
                self._close_writer()
            if self._stopping.is_set():
                return
            attempt = 0 if self._last_registered else attempt + 1
            delay = self._backoff(attempt)
            log.info("reconnecting to IRC in %.1fs", delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    def _backoff(self, attempt: int) -> float:
        opts = self.options
        cap = min(opts.reconnect_max, opts.reconnect_initial * 2.0 ** min(attempt, 30))
        return self._rng.uniform(cap / 2, cap)

    async def _session(self) -> None:
        self._last_registered = False
        opts = self.options
        context = _tls_context(opts) if opts.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                opts.host,
                opts.port,
                ssl=context,
                server_hostname=opts.host if context else None,
                limit=8192,
            ),
            opts.connect_timeout,
        )
        self._writer = writer
        sender = asyncio.create_task(self._send_loop(writer), name="hookport-irc-output")
        try:
            await self._register(writer)
            await self._read_loop(reader, writer)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    async def _register(self, writer: asyncio.StreamWriter) -> None:
        self._nick_attempt = 0
        self.nick = irc_lines.fallback_nick(self.options.nick, 0)
        if self.options.server_password:
            _write(writer, f"PASS {self.options.server_password}")
        _write(writer, f"NICK {self.nick}")
        _write(writer, f"USER {self.options.nick[:9]} 0 * :{self.options.realname}")
        await writer.drain()

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        waiting_pong = False
        while True:
            try:
                raw = await asyncio.wait_for(reader.readline(), self.options.ping_interval)
            except TimeoutError:
                if waiting_pong:
                    raise TimeoutError("the server stopped answering PINGs") from None
                waiting_pong = True
                _write(writer, "PING :hookport")
                await writer.drain()
                continue
            if not raw:
                raise ConnectionError("the server closed the connection")
            waiting_pong = False
            line = irc_lines.parse(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            await self._handle(line, writer)

    async def _handle(self, line: Line, writer: asyncio.StreamWriter) -> None:
        command = line.command
        if command == "PING":
            _write(writer, f"PONG :{line.params[-1] if line.params else ''}")
        elif command == "001":
            self._welcome(line, writer)
        elif command in _NICK_REFUSED and not self.connected:
            self._nick_attempt += 1
            if self._nick_attempt > 20:
                raise IrcError("the server refused every nick tried")
            self.nick = irc_lines.fallback_nick(self.options.nick, self._nick_attempt)
            log.info("IRC nick refused (%s); trying %s", command, self.nick)
            _write(writer, f"NICK {self.nick}")
        elif command == "ERROR":
            raise IrcError(line.params[-1] if line.params else "ERROR from the server")
        else:
            self._membership(line, writer)
            if command == "PRIVMSG" and len(line.params) >= 2:
                self._privmsg(line)
        await writer.drain()

    def _welcome(self, line: Line, writer: asyncio.StreamWriter) -> None:
        if line.params:
            self.nick = line.params[0]
        if self.options.nickserv_password:
            # Identify before joining, so channels that need a registered nick let us in.
            account = self.options.nick
            _write(writer, f"PRIVMSG NickServ :IDENTIFY {account} {self.options.nickserv_password}")
        for channel in self.options.channels:
            _write(writer, f"JOIN {channel}")
        self._last_registered = True
        self.connections += 1
        self._registered.set()
        log.info("connected to IRC as %s", self.nick)

    def _membership(self, line: Line, writer: asyncio.StreamWriter) -> None:
        mine = line.nick.lower() == self.nick.lower()
        if line.command == "JOIN" and mine and line.params:
            self.joined.add(line.params[0].lower())
        elif line.command == "PART" and mine and line.params:
            self.joined.discard(line.params[0].lower())
        elif line.command == "KICK" and len(line.params) >= 2:
            if line.params[1].lower() == self.nick.lower():
                self.joined.discard(line.params[0].lower())
                _write(writer, f"JOIN {line.params[0]}")
        elif line.command == "NICK" and mine and line.params:
            self.nick = line.params[0]

    def _privmsg(self, line: Line) -> None:
        target, text = line.params[0], line.params[1]
        private = not irc_lines.is_channel(target)
        command = irc_lines.command_text(text, prefix=self.options.prefix, private=private)
        if command is None or line.nick.lower() == self.nick.lower():
            return
        where = line.nick if private else target
        try:
            self._inbox.put_nowait((line.nick, where, command))
        except asyncio.QueueFull:
            log.warning("IRC command dropped: %d commands already waiting", _INBOX)

    # -- commands and output -----------------------------------------------------------------

    async def _commands(self) -> None:
        while True:
            nick, where, text = await self._inbox.get()
            try:
                lines = await self._on_command(nick, where, text)
            except Exception:  # a failing command must not end the connection
                log.exception("IRC command failed")
                lines = ["error: the command failed (see hookport's log)"]
            fitted = irc_lines.answer_lines(
                "\n".join(lines),
                max_lines=self.options.max_lines,
                max_bytes=self.options.max_line_bytes,
            )
            for line in fitted:
                with contextlib.suppress(asyncio.QueueFull):
                    self._outbox.put_nowait((where, line))

    async def _send_loop(self, writer: asyncio.StreamWriter) -> None:
        while True:
            target, text = await self._outbox.get()
            await self._bucket.take()
            _write(writer, f"PRIVMSG {target} :{text}")
            await writer.drain()

    def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    _last_registered = False
    _nick_attempt = 0


def _write(writer: asyncio.StreamWriter, line: str) -> None:
    writer.write(irc_lines.clean(line).encode("utf-8")[:510] + b"\r\n")


def _tls_context(options: IrcOptions) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=options.tls_ca_file)
    if not options.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
