"""IRC lines (parsing, fitting answers, commands, nick fallback), the token bucket, the
``[chatops.irc]`` server setting, and where the connection is started."""

from __future__ import annotations

import pytest

from hookport.chatops import build_chatops
from hookport.chatops.irc import IrcAdapter, parse_server
from hookport.chatops.irc_connection import TokenBucket
from hookport.chatops.irc_lines import answer_lines, command_text, fallback_nick, parse, truncate
from hookport.config import load_settings
from hookport.errors import ConfigError


def test_parse_reads_prefix_command_params_and_trailing() -> None:
    line = parse(":alice!~a@host PRIVMSG #ops :!hookport replay abc")
    assert (line.nick, line.command, line.params) == (
        "alice",
        "PRIVMSG",
        ["#ops", "!hookport replay abc"],
    )
    assert parse("PING :irc.example").params == ["irc.example"]
    assert parse("@time=x :srv 001 hookport :Welcome").command == "001"
    assert parse("").command == ""


def test_truncate_cuts_at_a_character_boundary() -> None:
    text = "é" * 300  # 600 bytes
    cut = truncate(text, 400)
    assert len(cut.encode()) <= 400 and cut.endswith("…") and "\ufffd" not in cut
    assert truncate("short", 400) == "short"


def test_answer_lines_strip_controls_drop_blanks_and_count_what_is_left_out() -> None:
    lines = answer_lines("a\r\n\nb\x00c\nd\ne\nf", max_lines=3)
    assert lines == ["a", "b c", "… 3 more line(s) not shown"]
    assert answer_lines("one\ntwo", max_lines=3) == ["one", "two"]


@pytest.mark.parametrize(
    ("text", "private", "expected"),
    [
        ("!hookport status", False, "status"),
        ("!HOOKPORT  pause inbox 5m ", False, "pause inbox 5m"),
        ("!hookport", False, "help"),
        ("status", False, None),
        ("!hookportx status", False, None),
        ("status", True, "status"),
        ("!hookport status", True, "status"),
        ("\x01VERSION\x01", True, None),
        ("\x01ACTION !hookport status\x01", False, None),
        ("   ", True, None),
    ],
)
def test_command_text(text: str, private: bool, expected: str | None) -> None:
    assert command_text(text, prefix="!hookport", private=private) == expected


def test_fallback_nicks_stay_within_the_length_limit() -> None:
    assert [fallback_nick("hookport", n) for n in range(5)] == [
        "hookport", "hookport_", "hookport__", "hookport1", "hookport2",
    ]  # fmt: skip
    assert fallback_nick("x" * 30, 3) == "x" * 29 + "1"


def test_token_bucket_allows_a_burst_then_one_line_per_interval() -> None:
    now = [0.0]
    bucket = TokenBucket(3, 0.5, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)
    assert bucket.reserve() == pytest.approx(1.0)
    now[0] = 10.0  # refilled, up to the burst only
    assert [bucket.reserve() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("value", "tls", "expected"),
    [
        ("irc.libera.chat:6697", True, ("irc.libera.chat", 6697)),
        ("irc.libera.chat", True, ("irc.libera.chat", 6697)),
        ("irc.libera.chat", False, ("irc.libera.chat", 6667)),
        ("[::1]:7000", False, ("::1", 7000)),
        ("[::1]", False, ("::1", 6667)),
    ],
)
def test_parse_server(value: str, tls: bool, expected: tuple[str, int]) -> None:
    assert parse_server(value, tls=tls) == expected


@pytest.mark.parametrize("value", [None, "", "host:port", "host:0", ":6667"])
def test_parse_server_refuses_what_is_not_host_and_port(value: str | None) -> None:
    with pytest.raises(ConfigError, match=r"\[chatops.irc\] server"):
        parse_server(value, tls=False)


def settings(**irc: object) -> object:
    table = {"enabled": True, "server": "127.0.0.1:1", **irc}
    return load_settings(environ={}, chatops={"irc": table})


@pytest.mark.anyio
async def test_the_connection_starts_only_when_connections_are_asked_for() -> None:
    chat = build_chatops(settings())  # type: ignore[arg-type]
    assert chat is not None
    [adapter] = chat.adapters
    assert isinstance(adapter, IrcAdapter)
    assert set(chat.relays()) == {"hookport-irc"}
    await chat.start()  # what hookport worker and send --local do
    assert not adapter.connection.running
    await chat.start(connections=True)  # the served app's lifespan
    assert adapter.connection.running
    await chat.stop()
    assert not adapter.connection.running


@pytest.mark.anyio
async def test_a_nickserv_password_variable_that_is_not_set_fails_the_start() -> None:
    chat = build_chatops(settings(password_env="IRC_PW"))  # type: ignore[arg-type]
    assert chat is not None
    with pytest.raises(ConfigError, match="IRC_PW is not set"):
        await chat.start(connections=True)
    with_password = load_settings(
        environ={"IRC_PW": "hunter2"},
        chatops={"irc": {"enabled": True, "server": "127.0.0.1:1", "password_env": "IRC_PW"}},
    )
    chat = build_chatops(with_password)
    assert chat is not None and chat.secrets() == ["hunter2"]


def test_reconnect_backoff_doubles_with_equal_jitter_up_to_the_cap() -> None:
    import random

    from hookport.chatops.irc_connection import IrcConnection, IrcOptions

    async def nothing(nick: str, where: str, text: str) -> list[str]:
        return []

    opts = IrcOptions(host="127.0.0.1", reconnect_initial=1.0, reconnect_max=10.0)
    conn = IrcConnection(opts, nothing, rng=random.Random(7))
    delays = [conn._backoff(attempt) for attempt in range(8)]
    caps = [1, 2, 4, 8, 10, 10, 10, 10]
    assert all(cap / 2 <= d <= cap for d, cap in zip(delays, caps, strict=True)), delays
    assert conn._backoff(10_000) <= 10.0  # no overflow however long the outage
