"""``hookport check`` (and every command that serves) refuses [alerts] rules whose channel
[channels] does not define, whose ``to=`` does not fit the channel, or that name an endpoint
that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hookport.cli import cli

PLUGIN = """\
from hookport import Plugin

plugin = Plugin("notes")
notes = plugin.receiver("/notes")


@notes.on("*")
def handle(event):
    pass
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOOKPORT_CONFIG", raising=False)
    monkeypatch.setenv("HOOKPORT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("HOOKPORT_STORE__URL", f"sqlite:///{tmp_path}/check.db")
    (tmp_path / "notes.py").write_text(PLUGIN, encoding="utf-8")
    return tmp_path


def check(project: Path, rules: str) -> tuple[int, str]:
    (project / "hookport.toml").write_text(
        '[plugins]\nload = ["notes.py"]\n\n[channels]\nops = "json://127.0.0.1:9/ops"\n'
        'irc = "json://127.0.0.1:9/{to}"\n' + rules,
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check"], catch_exceptions=False)
    return result.exit_code, result.output


def test_an_unknown_channel_is_an_error(project: Path) -> None:
    code, out = check(project, '[[alerts.rules]]\nkind = "dead"\nchannel = "pager"\n')
    assert code != 0, out
    assert (
        "[alerts] rule 'dead': channel 'pager' is not defined in [channels] (defined: irc, ops)"
        in out
    )
    assert "store ok" not in out


def test_targets_and_endpoints_are_checked(project: Path) -> None:
    code, out = check(
        project,
        '[[alerts.rules]]\nkind = "dead"\nchannel = "irc"\n'
        '[[alerts.rules]]\nkind = "failures"\nchannel = "ops"\nto = "#ops"\n'
        'endpoints = ["notes:/notes", "nope"]\n',
    )
    assert code != 0, out
    assert "rule 'dead': channel 'irc' needs to= (its URL has {to})" in out
    assert "rule 'failures': channel 'ops' takes no to=" in out
    assert "rule 'failures': no endpoint named 'nope'" in out


def test_a_bad_rule_is_a_config_error(project: Path) -> None:
    code, out = check(project, '[[alerts.rules]]\nkind = "backlog"\nchannel = "ops"\n')
    assert code != 0, out
    assert "alerts.rules.0.backlog.max_age" in out


def test_valid_rules_pass(project: Path) -> None:
    code, out = check(
        project,
        '[alerts]\nwindow = "5m"\n'
        '[[alerts.rules]]\nkind = "dead"\nchannel = "ops"\n'
        '[[alerts.rules]]\nkind = "backlog"\nchannel = "irc"\nto = "#ops"\nmax_age = "10m"\n'
        'endpoints = ["notes:/notes"]\n',
    )
    assert code == 0, out
    assert "store ok" in out
