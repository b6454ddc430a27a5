"""``hookport check`` refuses a ``ctx.send`` to a channel ``[channels]`` does not define."""

from __future__ import annotations

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
    assert "2 send(s) to notification channels not defined in [channels]" in out
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
