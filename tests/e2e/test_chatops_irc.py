"""IRC chat-ops end to end: a real ``hookport serve`` keeps a connection to a real ngircd on
loopback; test clients send ``!hookport ...`` and read the answers; an unauthorised nick is
refused; ``ctx.send`` through a ``hookport-irc://`` channel arrives; the IRC server restarts
mid-test (stopped and started by its PID) and hookport reconnects and answers again."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import chat_script
from tests.e2e.ircd import IrcClient, Ircd, Privmsg

pytestmark = pytest.mark.anyio

PLUGINS = [str(Path(__file__).parent / "plugins" / name) for name in ("rooms.py", "gated.py")]
CHATTY = str(Path(__file__).parent / "plugins" / "chatty.py")


def start_server(serve: Any, tmp_path: Path, ircd: Ircd, plugins: list[str] = PLUGINS) -> Any:
    config = tmp_path / "hookport.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/e2e.db"\n'
        '[worker]\npoll_interval = "100ms"\nmax_attempts = 1\n'
        "[chatops.irc]\nenabled = true\n"
        f'server = "{ircd.host}:{ircd.port}"\n'
        'nick = "hookport"\nirc_channels = ["#ops"]\n'
        'users = ["alice"]\nchannels = ["#ops"]\n'
        '[channels]\nirc = "hookport-irc://{to}"\n'
    )
    args = ["--config", str(config)]
    for plugin in plugins:
        args += ["--plugin", plugin]
    env = {
        "CHAT_RELEASE": str(tmp_path / "release"),
        "HOOKPORT_ADMIN_TOKEN": chat_script.ADMIN_TOKEN,
    }
    return serve(*args, env=env)


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)  # polling a condition with a deadline


def hookport_present(client: IrcClient) -> bool:
    """Whether the client saw hookport in #ops (in the names list on joining, or joining)."""
    return any(
        (" 353 " in line and "hookport" in line.split(" :", 2)[-1])
        or (line.startswith(":hookport!") and " JOIN " in line)
        for line in client.lines
    )


async def ask(
    client: IrcClient,
    text: str,
    *,
    where: str = "#ops",
    done: Callable[[list[Privmsg]], bool] = bool,
) -> list[Privmsg]:
    """Send ``text``; return hookport's lines once ``done`` holds for them (default: one)."""
    before = len(client.messages)
    await client.privmsg(where, text)

    def answer() -> list[Privmsg]:
        return [m for m in client.messages[before:] if m.sender == "hookport"]

    await until(lambda: done(answer()), f"hookport's answer to {text!r}", 20)
    return answer()


def has_inbox(lines: list[Privmsg]) -> bool:
    return any(m.text.startswith("inbox ") for m in lines)


def inbox_state(answer: list[Privmsg]) -> str:
    [row] = [m.text for m in answer if m.text.startswith("inbox ")]
    return row.split()[1]


async def test_commands_refusals_notifications_and_a_server_restart(
    serve: Any, tmp_path: Path, ircd: Ircd
) -> None:
    server = start_server(serve, tmp_path, ircd)
    async with (
        IrcClient(ircd.host, ircd.port, nick="alice") as alice,
        IrcClient(ircd.host, ircd.port, nick="mallory") as mallory,
    ):
        await alice.join("#ops")
        await mallory.join("#ops")
        await until(lambda: hookport_present(alice), "hookport to join #ops")

        status = await ask(alice, "!hookport status", done=has_inbox)
        assert status[0].target == "#ops"
        assert "endpoints" in status[0].text
        assert inbox_state(status) == "active"

        refused = await ask(mallory, "!hookport pause inbox")
        assert len(refused) == 1 and "pause" in refused[0].text, refused
        assert inbox_state(await ask(alice, "!hookport status", done=has_inbox)) == "active"

        private = await ask(
            alice, "routes", where="hookport", done=lambda a: any("/in" in m.text for m in a)
        )
        assert {m.target for m in private} == {"alice"}

        paused = await ask(alice, "!hookport pause inbox 30m")
        assert "paused inbox" in paused[0].text, paused
        assert inbox_state(await ask(mallory, "!hookport status", done=has_inbox)) == "paused"

        before = len(alice.messages)
        sent = httpx.post(
            server.url + "/announce",
            json={"channel": "irc", "to": "#ops", "text": "deploy finished"},
        )
        assert sent.status_code == 202, sent.text
        await alice.wait_for(before + 1, timeout=20)
        assert (alice.messages[before].sender, alice.messages[before].text) == (
            "hookport",
            "deploy finished",
        )

    await asyncio.to_thread(ircd.restart)
    async with IrcClient(ircd.host, ircd.port, nick="alice") as alice:
        await alice.join("#ops")
        await until(lambda: hookport_present(alice), "hookport to reconnect and rejoin #ops", 60)
        again = await ask(alice, "!hookport status", done=has_inbox)
        assert inbox_state(again) == "paused"
        before = len(alice.messages)
        httpx.post(
            server.url + "/announce", json={"channel": "irc", "to": "alice", "text": "psst"}
        ).raise_for_status()
        await alice.wait_for(before + 1, timeout=20)
        assert (alice.messages[before].target, alice.messages[before].text) == ("alice", "psst")
    assert server.stop() == 0
    assert "connection lost" in "".join(server.output)


async def test_every_command_does_what_it_says(serve: Any, tmp_path: Path, ircd: Ircd) -> None:
    server = start_server(serve, tmp_path, ircd, [CHATTY])
    async with (
        IrcClient(ircd.host, ircd.port, nick="alice") as alice,
        IrcClient(ircd.host, ircd.port, nick="mallory") as mallory,
    ):
        clients = {"alice": alice, "mallory": mallory}
        await alice.join("#ops")
        await mallory.join("#ops")
        await until(lambda: hookport_present(alice), "hookport to join #ops")

        async def ask(text: str, user: str, done: Callable[[str], bool]) -> str:
            """The answer's lines so far once ``done`` holds for them (or after 20 s: the
            table's assertion then says what was missing)."""
            client = clients[user]
            before = len(client.messages)
            await client.privmsg("#ops", f"!hookport {text}")

            def answer() -> str:
                return "\n".join(m.text for m in client.messages[before:] if m.sender == "hookport")

            with contextlib.suppress(AssertionError):
                await until(lambda: done(answer()), f"hookport's answer to {text!r}", 20)
            return answer()

        chat = chat_script.Chat("irc", ask, "alice", "mallory", "#ops", endpoints=2)
        await chat_script.run_every_command(chat, server.url)
