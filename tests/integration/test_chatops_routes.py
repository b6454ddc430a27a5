"""``hookport routes`` lists the chat endpoints like any other: their paths (default or
configured), verification, plugin ``chatops`` and URLs, in the table and in ``--json``; IRC,
which keeps a connection instead of receiving webhooks, has no row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from hookport.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "github_notify.py")
CONFIG = """
[server]
base_url = "https://hooks.example.com"

[chatops.slack]
enabled = true

[chatops.discord]
enabled = true

[chatops.telegram]
enabled = true
path = "/bots/telegram"

[chatops.irc]
enabled = true
server = "127.0.0.1:6667"
"""
CHAT_ROWS = {
    "chatops:slack": ["POST", "/_hookport/chat/slack", "route", "slack", "chatops"],
    "chatops:discord": ["POST", "/_hookport/chat/discord", "route", "discord", "chatops"],
    "chatops:telegram": ["POST", "/bots/telegram", "route", "token", "chatops"],
}


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOOKPORT_CONFIG", raising=False)
    monkeypatch.setenv("HOOKPORT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("HOOKPORT_STORE__URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("GITHUB_SECRET", "cli-secret")
    monkeypatch.setenv("EXAMPLE_DEPLOY_CREDENTIALS", "ops:pw")
    monkeypatch.setenv("HOOKPORT_CHANNELS__DEV", "json://127.0.0.1:9/none")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "slack-secret-for-routes")
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "telegram-secret-for-routes")
    monkeypatch.setenv("DISCORD_PUBLIC_KEY", "ab" * 32)
    (tmp_path / "hookport.toml").write_text(CONFIG)
    return CliRunner()


def routes(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(
        cli, ["routes", "--config", "hookport.toml", "--plugin", EXAMPLE, *args],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.stdout  # without the note on stderr (no store yet: pause states unknown)


def test_routes_lists_the_chat_endpoints_beside_the_plugins(runner: CliRunner) -> None:
    lines = [line.split("\t") for line in routes(runner).splitlines()]
    assert lines[0][:6] == ["methods", "path", "kind", "verification", "plugin", "name"]
    by_name = {cells[5]: cells for cells in lines[1:] if len(cells) > 5}
    for name, cells in CHAT_ROWS.items():
        assert by_name[name][:5] == cells, by_name[name]
        assert "docs/chatops.md" in by_name[name][-1]
    assert "GitHub" in by_name and "github-notify:hello" in by_name  # the plugin's, as before
    assert not [name for name in by_name if "irc" in name]


def test_routes_json_and_urls_have_the_chat_endpoints(runner: CliRunner) -> None:
    rows = {row["name"]: row for row in json.loads(routes(runner, "--json"))}
    for name, (method, path, kind, verification, plugin) in CHAT_ROWS.items():
        row = rows[name]
        assert (row["methods"], row["path"], row["kind"]) == ([method], path, kind)
        assert (row["verification"], row["plugin"]) == (verification, plugin)
        assert row["url"] == f"https://hooks.example.com{path}"
        assert row["urls"] == [row["url"]] and row["handlers"] == []
    urls = routes(runner, "--urls").splitlines()
    assert {f"https://hooks.example.com{cells[1]}" for cells in CHAT_ROWS.values()} <= set(urls)
    # No secret reaches the listing.
    listing = routes(runner) + routes(runner, "--json") + "\n".join(urls)
    assert "slack-secret-for-routes" not in listing and "telegram-secret" not in listing
