"""A real IRC server on loopback for end-to-end tests: a throwaway ``ngircd`` and a tiny client.

The ``ircd`` fixture is registered for every e2e test by ``tests/e2e/conftest.py``::

    from tests.e2e.ircd import IrcClient, Ircd

    def test_sync(ircd: Ircd) -> None:
        with ircd.listener("#room") as room:          # a client in #room, in its own thread
            deliver_somehow(ircd.url(nick="hookport", target="#room"))
            [message] = room.wait_for(1)              # Privmsg(sender, target, text)
            assert message.text == "hello"

    @pytest.mark.anyio
    async def test_async(ircd: Ircd) -> None:
        async with IrcClient(ircd.host, ircd.port, nick="bob") as bob:
            await bob.join("#room")
            await bob.privmsg("#room", "hi")
            got = await bob.wait_for(1, timeout=10)    # PRIVMSGs others sent to bob's channels

The ``ircd`` fixture yields an :class:`Ircd`: ``host``, ``port``, ``url(nick=, target=)`` (an
Apprise ``irc://`` URL), ``stop()``, ``start()``, ``restart()`` (same port: clients see the
server go away and come back), ``log()`` (what ngircd printed). Each test gets its own server
with its own config file in ``tmp_path``, run in the foreground (``ngircd -n -f FILE``) and
stopped by its PID; nothing is left running.

Without ngircd (Debian: ``apt-get install ngircd``) the fixture skips the test, saying why,
unless ``HOOKPORT_REQUIRE_IRC=1`` (CI: ``.ci/run``), which turns that into a failure.

Waits poll a condition with a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

REQUIRED = os.environ.get("HOOKPORT_REQUIRE_IRC") == "1"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

_CONFIG = """\
[Global]
Name = irc.hookport.test
Info = hookport test server
AdminInfo1 = hookport tests
AdminInfo2 = loopback only
AdminEMail = nobody@localhost
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = hookport test server
PidFile = {pidfile}

[Limits]
MaxConnectionsIP = 0
MaxNickLength = 30
MaxJoins = 0
PingTimeout = 120
PongTimeout = 20
MaxPenaltyTime = 0

[Options]
PAM = no
Ident = no
DNS = no
RequireAuthPing = no
"""


def ngircd_binary() -> str | None:
    """The ngircd executable (also looked for in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("ngircd") or shutil.which("ngircd", path="/usr/sbin:/usr/local/sbin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Ircd:
    """One ngircd process on ``host:port`` (loopback), configured by a file in ``root``."""

    def __init__(self, binary: str, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.config = root / "ngircd.conf"
        self._log = root / "ngircd.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.tls: tuple[Path, Path] | None = None
        """(certificate, key) PEM files: set before :meth:`start` to listen with TLS on
        :attr:`tls_port` too."""
        self.tls_port = _free_port()

    def url(self, *, nick: str = "hookport", target: str = "") -> str:
        """An Apprise URL for this server: ``irc://NICK@HOST:PORT/TARGET``.

        ``target`` as Apprise takes it (``#channel``, ``@nick``) or hookport's ``{to}``.
        """
        return f"irc://{nick}@{self.host}:{self.port}/{target}"

    def start(self) -> None:
        """Start the server on :attr:`port` and wait until it accepts connections."""
        if self._proc is not None and self._proc.poll() is None:
            return
        text = _CONFIG.format(port=self.port, pidfile=self.root / "ngircd.pid")
        if self.tls is not None:
            cert, key = self.tls
            text += f"\n[SSL]\nCertFile = {cert}\nKeyFile = {key}\nPorts = {self.tls_port}\n"
        self.config.write_text(text, encoding="utf-8")
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "-n", "-f", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        ports = [self.port] + ([self.tls_port] if self.tls is not None else [])
        while not all(_accepts(self.host, port) for port in ports):
            if self._proc.poll() is not None:
                raise RuntimeError(f"ngircd exited with {self._proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ngircd did not listen within {START_TIMEOUT}s:\n{self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM to its PID, SIGKILL after a deadline) and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)

    def restart(self) -> None:
        """Stop, then start again on the same port (connected clients are dropped)."""
        self.stop()
        self.start()

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def log(self) -> str:
        """Everything ngircd printed so far (for assertion messages)."""
        try:
            return self._log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    @contextmanager
    def listener(self, channel: str, *, nick: str = "listener") -> Iterator[Listener]:
        """A client that joined ``channel`` and collects PRIVMSGs, for synchronous tests.

        It runs :class:`IrcClient` on its own event loop in a thread; leaving the block
        disconnects it.
        """
        listener = Listener(self.host, self.port, nick, channel)
        listener.open()
        try:
            yield listener
        finally:
            listener.close()


def _missing(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"HOOKPORT_REQUIRE_IRC=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def ircd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ircd]:
    """A running ngircd of this test alone (see the module docstring)."""
    binary = ngircd_binary()
    if binary is None:
        _missing("ngircd is not installed (Debian: apt-get install ngircd)")
        raise AssertionError("unreachable")
    server = Ircd(binary, tmp_path_factory.mktemp("ircd"))
    for _ in range(3):  # the free port may be taken between probing and binding: try another
        try:
            server.start()
            break
        except RuntimeError:
            server.port = _free_port()
    else:
        _missing(f"ngircd did not start:\n{server.log()}")
    try:
        yield server
    finally:
        server.stop()


# -- the test client ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Privmsg:
    """One PRIVMSG a client received: who sent it, to which channel or nick, and its text."""

    sender: str
    target: str
    text: str


@dataclass
class _Line:
    prefix: str
    command: str
    params: list[str] = field(default_factory=list)


def _parse(line: str) -> _Line:
    prefix = ""
    if line.startswith(":"):
        prefix, _, line = line[1:].partition(" ")
    trailing = None
    if " :" in line:
        line, _, trailing = line.partition(" :")
    words = line.split()
    params = words[1:] + ([trailing] if trailing is not None else [])
    return _Line(prefix, words[0].upper() if words else "", params)


class IrcClient:
    """A minimal asyncio IRC client: registers as ``nick``, joins, sends, collects PRIVMSGs.

    ``async with IrcClient(host, port, nick="bob") as bob`` connects and waits for the welcome
    (001); PINGs are answered. :attr:`messages` holds every PRIVMSG received, in order.
    """

    def __init__(self, host: str, port: int, *, nick: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.nick, self.timeout = host, port, nick, timeout
        self.messages: list[Privmsg] = []
        self.lines: list[str] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._joined: set[str] = set()
        self._welcomed = False
        self._closed = False

    async def __aenter__(self) -> IrcClient:
        await self.connect()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Connect and register; raises ``AssertionError`` if not welcome within the timeout."""
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.timeout
        )
        self._task = asyncio.create_task(self._read())
        await self._send(f"NICK {self.nick}")
        await self._send(f"USER {self.nick} 0 * :hookport test client")
        await self._until(lambda: self._welcomed, "the server's welcome (001)")

    async def join(self, channel: str) -> None:
        """Join ``channel`` and wait until the server confirms it."""
        await self._send(f"JOIN {channel}")
        await self._until(lambda: channel.lower() in self._joined, f"joining {channel}")

    async def privmsg(self, target: str, text: str) -> None:
        """Send ``text`` to a channel or nick."""
        await self._send(f"PRIVMSG {target} :{text}")

    async def wait_for(self, count: int = 1, timeout: float | None = None) -> list[Privmsg]:
        """Wait until ``count`` PRIVMSGs arrived; returns all received so far."""
        await self._until(
            lambda: len(self.messages) >= count, f"{count} PRIVMSG(s)", timeout=timeout
        )
        return list(self.messages)

    async def close(self) -> None:
        """Say QUIT (if still connected) and disconnect."""
        if self._writer is not None and not self._closed:
            with suppress(OSError):
                await self._send("QUIT :bye")
            self._writer.close()
            with suppress(OSError, TimeoutError):
                await asyncio.wait_for(self._writer.wait_closed(), 2.0)
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, OSError):
                await self._task

    async def _send(self, line: str) -> None:
        assert self._writer is not None, "not connected"
        self._writer.write(line.encode() + b"\r\n")
        await self._writer.drain()

    async def _until(
        self, condition: Callable[[], bool], what: str, *, timeout: float | None = None
    ) -> None:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0 or self._closed:
                raise AssertionError(
                    f"{self.nick}: no {what} within {limit}s; received:\n" + "\n".join(self.lines)
                )
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while raw := await self._reader.readline():
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self.lines.append(text)
                await self._handle(_parse(text))
                self._changed.set()
        finally:
            self._closed = True
            self._changed.set()

    async def _handle(self, line: _Line) -> None:
        if line.command == "PING":
            await self._send(f"PONG :{line.params[-1] if line.params else ''}")
        elif line.command == "001":
            self._welcomed = True
        elif line.command == "JOIN" and line.prefix.split("!", 1)[0] == self.nick and line.params:
            self._joined.add(line.params[0].lower())
        elif line.command == "PRIVMSG" and len(line.params) >= 2:
            sender = line.prefix.split("!", 1)[0]
            self.messages.append(Privmsg(sender, line.params[0], line.params[1]))


class Listener:
    """An :class:`IrcClient` in ``channel`` on its own loop and thread (see ``Ircd.listener``)."""

    def __init__(self, host: str, port: int, nick: str, channel: str) -> None:
        self.channel = channel
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.client = IrcClient(host, port, nick=nick)

    def open(self) -> None:
        """Start the thread, connect and join (blocking, bounded by the client's timeout)."""
        self._thread.start()
        self._call(self._open())

    async def _open(self) -> None:
        await self.client.connect()
        await self.client.join(self.channel)

    @property
    def messages(self) -> list[Privmsg]:
        """The PRIVMSGs received so far."""
        return list(self.client.messages)

    def wait_for(self, count: int = 1, timeout: float = 20.0) -> list[Privmsg]:
        """Block until ``count`` PRIVMSGs arrived; returns all received so far."""
        return self._call(self.client.wait_for(count, timeout), timeout + 5)

    def close(self) -> None:
        """Disconnect and stop the thread."""
        try:
            self._call(self.client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=STOP_TIMEOUT)
            self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)
