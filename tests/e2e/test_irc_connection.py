"""The persistent IRC connection against a real ngircd on loopback: registration with a nick
fallback, commands in a channel and in private, CTCP ignored, truncated answers, output pacing,
``send`` to a channel, and reconnecting after the server restarts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from hookport.certs import make_certificate, write_certificate
from hookport.chatops.irc_connection import IrcConnection, IrcOptions
from tests.e2e.ircd import IrcClient, Ircd

pytestmark = pytest.mark.anyio


async def until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)  # polling a condition with a deadline


class Commands:
    """Records the commands the connection hands over and answers with fixed lines."""

    def __init__(self, answer: Callable[[str], Sequence[str]]) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self._answer = answer

    async def __call__(self, nick: str, where: str, text: str) -> Sequence[str]:
        self.calls.append((nick, where, text))
        return self._answer(text)


@asynccontextmanager
async def connection(
    ircd: Ircd, handler: Callable[[str, str, str], Awaitable[Sequence[str]]], **options: object
) -> AsyncIterator[IrcConnection]:
    opts = IrcOptions(
        host=ircd.host,
        port=ircd.tls_port if options.get("tls") else ircd.port,
        channels=("#ops",),
        reconnect_initial=0.2,
        reconnect_max=1.0,
        line_interval=0.05,
        **options,  # type: ignore[arg-type]
    )
    conn = IrcConnection(opts, handler)
    await conn.start()
    try:
        await until(lambda: "#ops" in conn.joined, "hookport to join #ops")
        yield conn
    finally:
        await conn.stop()


async def test_answers_commands_in_the_channel_and_in_private_and_ignores_ctcp(
    ircd: Ircd,
) -> None:
    commands = Commands(lambda text: [f"ran {text}", "second line"])
    async with (
        connection(ircd, commands) as conn,
        IrcClient(ircd.host, ircd.port, nick="alice") as alice,
    ):
        await alice.join("#ops")
        await alice.privmsg("#ops", "\x01VERSION\x01")
        await alice.privmsg("#ops", "just chatting")
        await alice.privmsg("#ops", "!hookport status")
        got = await alice.wait_for(2)
        assert [(m.sender, m.target, m.text) for m in got] == [
            (conn.nick, "#ops", "ran status"),
            (conn.nick, "#ops", "second line"),
        ]
        await alice.privmsg(conn.nick, "events dead")
        got = await alice.wait_for(4)
        assert [(m.target, m.text) for m in got[2:]] == [
            ("alice", "ran events dead"),
            ("alice", "second line"),
        ]
    assert commands.calls == [("alice", "#ops", "status"), ("alice", "alice", "events dead")]


async def test_long_answers_are_cut_to_lines_that_fit_and_a_count(ircd: Ircd) -> None:
    many = [f"row {i} " + "é" * 300 for i in range(20)]
    async with (
        connection(ircd, Commands(lambda _: ["\n".join(many)]), max_lines=5) as conn,
        IrcClient(ircd.host, ircd.port, nick="alice") as alice,
    ):
        await alice.join("#ops")
        started = time.monotonic()
        await alice.privmsg("#ops", "!hookport routes")
        got = await alice.wait_for(5)
        elapsed = time.monotonic() - started
        assert conn.nick == "hookport"
    texts = [m.text for m in got]
    assert texts[-1] == "… 16 more line(s) not shown"
    assert [t.split(" ", 2)[:2] for t in texts[:4]] == [["row", str(i)] for i in range(4)]
    assert all(len(t.encode()) <= 400 and t.endswith("…") for t in texts[:4])
    # 4 lines go at once (the burst), the fifth waits for a token (0.05 s).
    assert elapsed >= 0.05


async def test_takes_another_nick_when_its_own_is_in_use(ircd: Ircd) -> None:
    async with (
        IrcClient(ircd.host, ircd.port, nick="hookport"),
        connection(ircd, Commands(lambda _: ["ok"])) as conn,
    ):
        assert conn.nick == "hookport_"


async def test_reconnects_after_the_server_restarts_and_answers_again(ircd: Ircd) -> None:
    commands = Commands(lambda text: [f"ran {text}"])
    async with connection(ircd, commands) as conn:
        assert conn.connections == 1
        await asyncio.to_thread(ircd.restart)
        await until(lambda: conn.connections == 2 and "#ops" in conn.joined, "a reconnect", 30)
        async with IrcClient(ircd.host, ircd.port, nick="bob") as bob:
            await bob.join("#ops")
            await bob.privmsg("#ops", "!hookport status")
            [answer] = await bob.wait_for(1)
            assert answer.text == "ran status"
            await conn.send("#ops", "deploy finished\nsecond line")
            got = await bob.wait_for(3)
            assert [m.text for m in got[1:]] == ["deploy finished", "second line"]


async def test_send_fails_when_the_server_stays_away(ircd: Ircd) -> None:
    async with connection(ircd, Commands(lambda _: []), send_wait=0.5) as conn:
        await asyncio.to_thread(ircd.stop)
        await until(lambda: not conn.connected, "the connection to drop")
        with pytest.raises(ConnectionError, match="not connected"):
            await conn.send("#ops", "nobody hears this")


async def test_connects_over_tls_trusting_the_given_certificate(ircd: Ircd, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_certificate(make_certificate(["127.0.0.1"]), cert, key)
    ircd.tls = (cert, key)
    await asyncio.to_thread(ircd.restart)
    commands = Commands(lambda text: [f"ran {text} over tls"])
    async with (
        connection(ircd, commands, tls=True, tls_ca_file=str(cert)),
        IrcClient(ircd.host, ircd.port, nick="alice") as alice,
    ):
        await alice.join("#ops")
        await alice.privmsg("#ops", "!hookport status")
        [answer] = await alice.wait_for(1)
        assert answer.text == "ran status over tls"


async def test_a_tls_certificate_nobody_vouches_for_is_refused(ircd: Ircd, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    write_certificate(make_certificate(["127.0.0.1"]), cert, key)
    ircd.tls = (cert, key)
    await asyncio.to_thread(ircd.restart)
    opts = IrcOptions(host=ircd.host, port=ircd.tls_port, tls=True, reconnect_initial=0.1)
    conn = IrcConnection(opts, Commands(lambda _: []))
    await conn.start()
    try:
        await until(lambda: conn.failures >= 2, "two failed TLS handshakes")
        assert not conn.connected and "CERTIFICATE_VERIFY_FAILED" in conn.last_error
    finally:
        await conn.stop()


async def test_identifies_to_nickserv_before_joining_without_logging_the_password(
    ircd: Ircd, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    # ngircd has no services: a client takes the nick NickServ and reads what it is told.
    async with (
        IrcClient(ircd.host, ircd.port, nick="NickServ") as nickserv,
        connection(ircd, Commands(lambda _: []), nickserv_password="hunter2") as conn,
    ):
        [told] = await nickserv.wait_for(1)
        assert (told.sender, told.target, told.text) == (
            conn.nick,
            "NickServ",
            "IDENTIFY hookport hunter2",
        )
    assert "hunter2" not in caplog.text


async def test_a_server_that_stops_answering_pings_is_left_and_reconnected() -> None:
    # A loopback server that welcomes, then never says anything again (a dead link).
    sessions: list[list[str]] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen: list[str] = []
        sessions.append(seen)
        writer.write(b":srv 001 hookport :welcome\r\n")
        await writer.drain()
        while line := await reader.readline():
            seen.append(line.decode().strip())
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    opts = IrcOptions(host="127.0.0.1", port=port, ping_interval=0.2, reconnect_initial=0.05)
    conn = IrcConnection(opts, Commands(lambda _: []))
    await conn.start()
    try:
        await until(lambda: conn.connections >= 2, "a second session after the silence")
        assert "PING :hookport" in sessions[0]
        assert "stopped answering PINGs" in conn.last_error
    finally:
        await conn.stop()
        server.close()
        await server.wait_closed()
