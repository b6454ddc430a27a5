"""``hookport check`` refuses a ``ctx.send`` to a channel ``[channels]`` does not define, or
whose ``to=`` does not fit the channel's URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookport.cli import cli

PLUGIN = """\
from hookport import Plugin
from pydantic import BaseModel


class Settings(BaseModel):
    channel: str = "ops"


plugin = Plugin("notes", settings=Settings)
notes = plugin.receiver("/notes")


@notes.on("*")
async def announce(event, ctx):
    await ctx.send("dev", "new note")


@notes.on("*")
async def escalate(event, ctx):
    await ctx.send(ctx.settings.channel, "new note")


@plugin.route("/ping", methods=["POST"])
async def ping(ctx):
    await ctx.send(f"{ctx.plugin}-ping", "computed: not checked")
    return "pong"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOOKPORT_CONFIG", raising=False)
    monkeypatch.setenv("HOOKPORT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("HOOKPORT_STORE__URL", f"sqlite:///{tmp_path}/check.db")
    (tmp_path / "notes.py").write_text(PLUGIN, encoding="utf-8")
    return tmp_path


def check(project: Path, channels: str) -> tuple[int, str]:
    (project / "hookport.toml").write_text(
        f'[plugins]\nload = ["notes.py"]\n\n[channels]\n{channels}', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["check"], catch_exceptions=False)
    return result.exit_code, result.output


def test_undefined_literal_and_settings_channels_fail(project: Path) -> None:
    code, out = check(project, "")
    assert code != 0, out
    assert (
        "notes.py:15: receiver /notes (notes:/notes): handler announce sends to channel 'dev'"
        in out
    )
    assert "handler escalate sends to channel 'ops'" in out
    assert "(defined: none)" in out
    assert "which [channels] does not define" in out
    assert "2 send(s) that the notification channels of [channels] cannot deliver" in out
    assert "ping" not in out  # computed at run time: not checked
    assert "store ok" not in out and "config ok" not in out


def test_one_missing_channel_is_still_an_error(project: Path) -> None:
    code, out = check(project, 'dev = "json://127.0.0.1:9/dev"\n')
    assert code != 0, out
    assert "'ops'" in out and "'dev'" not in out.split("error:", 1)[1].split("\n")[0]
    assert "(defined: dev)" in out


def test_defined_channels_pass(project: Path) -> None:
    code, out = check(project, 'dev = "json://127.0.0.1:9/dev"\nops = "json://127.0.0.1:9/ops"\n')
    assert code == 0, out
    assert "store ok" in out


TARGETED = """\
from hookport import Plugin

plugin = Plugin("rooms")
rooms = plugin.receiver("/rooms")


@rooms.on("*")
async def to_a_room(event, ctx):
    await ctx.send("irc", "hello", to=event.json["room"])


@rooms.on("*")
async def to_nobody(event, ctx):
    await ctx.send("chat", "hello")
"""


def check_targeted(project: Path, channels: str) -> tuple[int, str]:
    (project / "rooms.py").write_text(TARGETED, encoding="utf-8")
    (project / "hookport.toml").write_text(
        f'[plugins]\nload = ["rooms.py"]\n\n[channels]\n{channels}', encoding="utf-8"
    )
    result = CliRunner().invoke(cli, ["check"], catch_exceptions=False)
    return result.exit_code, result.output


def test_to_must_fit_the_channel_url(project: Path) -> None:
    # irc has no {to} but is sent with to=; chat has {to} but is sent without.
    code, out = check_targeted(
        project, 'irc = "irc://bot@127.0.0.1:9/%23ops"\nchat = "json://127.0.0.1:9/c/{to}"\n'
    )
    assert code != 0, out
    assert "handler to_a_room sends to channel 'irc', with to=, but its URL has no {to}" in out
    assert "handler to_nobody sends to channel 'chat', without to=, but its URL takes" in out
    assert "2 send(s) that the notification channels of [channels] cannot deliver" in out
    assert "127.0.0.1:9" not in out  # never a channel URL


def test_to_that_fits_passes(project: Path) -> None:
    code, out = check_targeted(
        project, 'irc = "irc://bot@127.0.0.1:9/{to}"\nchat = "json://127.0.0.1:9/c"\n'
    )
    assert code == 0, out
    assert "config ok" in out


def test_check_json_lists_the_errors_and_fails(project: Path) -> None:
    (project / "hookport.toml").write_text(
        '[plugins]\nload = ["notes.py"]\n\n[channels]\ndev = "json://127.0.0.1:9/dev"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", "--json"], catch_exceptions=False)
    assert result.exit_code == 1
    found = json.loads(result.stdout)  # only the JSON document on standard output
    assert found["ok"] is False and found["store"] is None
    [error] = found["errors"]
    assert "handler escalate sends to channel 'ops'" in error and "(defined: dev)" in error
    assert not (project / "check.db").exists()
