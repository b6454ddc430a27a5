"""The CLI through click's runner against real SQLite files and the real example plugin."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import tempfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from hookport.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "github_notify.py")
PUSH = str(ROOT / "examples" / "push.json")


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    for name in ("HOOKPORT_CONFIG",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOOKPORT_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("HOOKPORT_STORE__URL", f"sqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("GITHUB_SECRET", "cli-secret")
    monkeypatch.setenv("EXAMPLE_DEPLOY_CREDENTIALS", "ops:pw")
    monkeypatch.setenv("HOOKPORT_CHANNELS__DEV", "json://127.0.0.1:9/none")
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_routes_lists_every_example_endpoint(runner: CliRunner) -> None:
    code, out = invoke(runner, "routes", "--plugin", EXAMPLE)
    assert code == 0, out
    for fragment in (
        "/hello/{name}",
        "/status",
        "/deploy/{env}",
        "/github",
        "/notify",
        "receiver",
        "github",
        "basic",
        "unverified",
        "push → ",
        "GitHub",
    ):
        assert fragment in out, fragment


def test_routes_urls_use_base_url(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPORT_SERVER__BASE_URL", "https://hooks.example.com")
    code, out = invoke(runner, "routes", "--plugin", EXAMPLE, "--urls")
    assert code == 0
    assert "https://hooks.example.com/github" in out.splitlines()


def test_send_local_to_a_route_prints_the_answer(runner: CliRunner) -> None:
    code, out = invoke(
        runner, "send", "/hello/world", "--local", "--method", "GET", "--plugin", EXAMPLE
    )
    assert code == 0, out
    assert out.splitlines()[:2] == ["HTTP 200 OK", "hello world"]


def test_send_local_signs_for_basic_auth(runner: CliRunner) -> None:
    code, out = invoke(runner, "send", "/deploy/staging", "--local", "--plugin", EXAMPLE)
    assert code == 0, out
    assert "HTTP 202" in out and '"deploying":"staging"' in out


def test_send_local_to_receiver_stores_runs_and_shows_done(runner: CliRunner) -> None:
    code, out = invoke(
        runner,
        "send",
        "/github",
        "--local",
        "--keep",
        "--data",
        f"@{PUSH}",
        "--event",
        "push",
        "--plugin",
        EXAMPLE,
    )
    assert code == 0, out
    assert "HTTP 202 Accepted" in out
    match = re.search(r"event ([0-9a-f]{32}) done", out)
    assert match, out
    code, shown = invoke(runner, "events", "show", match.group(1), "--plugin", EXAMPLE)
    assert code == 0, shown
    assert "status done" in shown
    assert "on_push" in shown and "ok" in shown
    assert '"ref": "refs/heads/main"' in shown
    code, listed = invoke(runner, "events", "list", "--status", "done", "--plugin", EXAMPLE)
    assert match.group(1) in listed
    code, as_json = invoke(runner, "events", "list", "--json", "--plugin", EXAMPLE)
    assert json.loads(as_json)[0]["id"] == match.group(1)


def test_replay_requeues_and_reports_missing(runner: CliRunner) -> None:
    code, out = invoke(
        runner,
        "send",
        "/github",
        "--local",
        "--keep",
        "--data",
        f"@{PUSH}",
        "--event",
        "push",
        "--plugin",
        EXAMPLE,
    )
    event_id = re.search(r"event ([0-9a-f]{32})", out).group(1)  # type: ignore[union-attr]
    code, out = invoke(runner, "events", "replay", event_id, "--plugin", EXAMPLE)
    assert (code, out.strip()) == (0, "replayed 1 event(s)")
    code, shown = invoke(runner, "events", "show", event_id, "--json", "--plugin", EXAMPLE)
    assert json.loads(shown)["status"] == "queued"
    code, out = invoke(runner, "events", "replay", "0" * 32, "--plugin", EXAMPLE)
    assert code == 1 and "no such event" in out


def test_sign_prints_headers_that_verify(runner: CliRunner, tmp_path: Path) -> None:
    body = b'{"hello": "world"}'
    (tmp_path / "b.json").write_bytes(body)
    code, out = invoke(
        runner,
        "sign",
        "--scheme",
        "github",
        "--secret",
        "s3cret",
        "--data",
        f"@{tmp_path / 'b.json'}",
    )
    assert code == 0, out
    headers = dict(line.split(": ", 1) for line in out.splitlines())
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    code, out = invoke(
        runner, "sign", "--scheme", "github", "--secret", "s3cret", "--data", "x", "--json"
    )
    assert "X-Hub-Signature-256" in json.loads(out)


def test_user_mistakes_are_one_line_errors(runner: CliRunner, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 'eighty'\n")
    for args in (
        ["routes", "--config", str(bad)],
        ["routes", "--plugin", str(tmp_path / "missing.py")],
        ["send", "/nowhere", "--local", "--plugin", EXAMPLE],
        ["events", "show", "f" * 32, "--plugin", EXAMPLE],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: "), result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_missing_secret_names_the_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_SECRET")
    result = runner.invoke(cli, ["check", "--plugin", EXAMPLE])
    assert result.exit_code == 1
    assert "GITHUB_SECRET" in result.output and "github-notify" in result.output


def test_init_then_check(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, "init")
    assert code == 0 and "wrote" in out
    assert (tmp_path / "hookport.toml").exists() and (tmp_path / "plugins" / "hello.py").exists()
    code, out = invoke(runner, "check", "--config", str(tmp_path / "hookport.toml"))
    assert code == 0, out
    assert "config ok; 1 plugin(s), 2 endpoint(s)" in out and "store ok" in out
    code, out = invoke(runner, "init")
    assert code == 1 and "already exist" in out


def test_routes_urls_include_the_access_token_of_query_token_verifiers(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin_file = tmp_path / "tok.py"
    plugin_file.write_text(
        "from hookport import Plugin, verify\n"
        "plugin = Plugin('tok')\n"
        "plugin.receiver('/ci', verify=verify.token({'ci': 'abc123'}, header=None))\n"
        "plugin.receiver('/hdr', verify=verify.token('zzz'))\n"
    )
    monkeypatch.setenv("HOOKPORT_SERVER__BASE_URL", "https://hooks.example.com/")
    code, out = invoke(runner, "routes", "--urls", "--plugin", str(plugin_file))
    assert code == 0, out
    assert out.splitlines() == [
        "https://hooks.example.com/ci?access_token=abc123",
        "https://hooks.example.com/hdr",
    ]


@pytest.mark.parametrize("limit", ["0", "-1", "1001"])
def test_events_list_refuses_a_limit_outside_1_to_1000(runner: CliRunner, limit: str) -> None:
    code, out = invoke(runner, "events", "list", "--plugin", EXAMPLE, "--limit", limit)
    assert code == 2
    assert "1<=x<=1000" in out or "between 1 and 1000" in out


def test_check_warns_about_return_types_a_route_cannot_answer(
    runner: CliRunner, tmp_path: Path
) -> None:
    plugin = tmp_path / "counts.py"
    plugin.write_text(
        "from hookport import Plugin\n"
        "plugin = Plugin('counts')\n"
        "@plugin.route('/count')\n"
        "def count() -> int:\n"
        "    return 1\n"
        "@plugin.route('/fine')\n"
        "def fine() -> tuple[dict[str, int], int]:\n"
        "    return {}, 201\n"
    )
    code, out = invoke(runner, "check", "--plugin", str(plugin))
    assert code == 0, out
    warnings = [line for line in out.splitlines() if "cannot answer" in line]
    assert len(warnings) == 1, out
    assert "/count" in warnings[0] and "count" in warnings[0] and "return int" in warnings[0]


URLS_PLUGIN = """
from hookport import Plugin, verify
plugin = Plugin("urls", prefix="/api/plugin/me.mod/webhook")
@plugin.route("/hello/{name:int}")
def hello(name): return ""
@plugin.route("/example/<name>/<action>/", methods="*")
def example(name, action): return ""
@plugin.route(r"^/foo/(?P<bar>[0-9]+)$")
def foo(bar): return ""
@plugin.route(r"/bare/(?P<n>[0-9]+)")
def bare(): return ""
@plugin.route("/nop/<name>/")
def nop(): return ""
plugin.receiver("/tokens", verify=verify.token({"ci": "t-one", "bot": "t/two"}, header=None),
                name="tokens")
plugin.receiver("/tunnel", verify=verify.token("t3", header=None), name="tunnel")
plugin.receiver("/plain", name="plain")
"""


def test_routes_urls_for_every_path_form(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "urls.py").write_text(URLS_PLUGIN)
    (tmp_path / "hookport.toml").write_text(
        '[server]\nbase_url = "https://hooks.example.com/"\n'
        '[server.urls]\n"tunnel" = "https://tunnel.example/x?access_token={token}"\n'
        '"plain" = "https://tunnel.example/plain"\n"nowhere" = "https://x.example"\n'
    )
    base = "https://hooks.example.com/api/plugin/me.mod/webhook"
    code, out = invoke(
        runner, "routes", "--config", "hookport.toml", "--plugin", "urls.py", "--urls"
    )
    assert code == 0, out
    assert sorted(out.splitlines()) == sorted(
        [
            f"{base}/hello/{{name}}",
            f"{base}/example/{{name}}/{{action}}/",
            r"https://hooks.example.com + a path matching ^/api/plugin/me\.mod/webhook/foo/(?P<bar>[0-9]+)$",
            r"https://hooks.example.com + a path matching ^/api/plugin/me\.mod/webhook/bare/(?P<n>[0-9]+)",
            f"{base}/nop/{{name}}/",
            f"{base}/tokens?access_token=t-one",
            f"{base}/tokens?access_token=t%2Ftwo",
            "https://tunnel.example/x?access_token=t3",
            "https://tunnel.example/plain",
        ]
    )
    code, out = invoke(
        runner, "routes", "--config", "hookport.toml", "--plugin", "urls.py", "--json"
    )
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["urls:foo"]["url"] is None
    assert rows["urls:foo"]["pattern"] == r"^/api/plugin/me\.mod/webhook/foo/(?P<bar>[0-9]+)$"
    assert rows["urls:example"]["methods"] == ["*"]
    assert len(rows["tokens"]["urls"]) == 2
    code, out = invoke(runner, "check", "--config", "hookport.toml", "--plugin", "urls.py")
    assert "[server.urls] sets a URL for 'nowhere', which is no endpoint" in out


def _local_pushes(runner: CliRunner, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        code, out = invoke(
            runner, "send", "/github", "--local", "--keep", "--data", f"@{PUSH}", "--event", "push",
            "--plugin", EXAMPLE,
        )  # fmt: skip
        assert code == 0, out
        ids.append(re.search(r"event ([0-9a-f]{32})", out).group(1))  # type: ignore[union-attr]
    return ids


def test_reading_commands_need_no_secrets_never_create_a_store_and_print_plain(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOKPORT_STORE__URL", f"sqlite:///{tmp_path}/none.db")
    code, out = invoke(runner, "events", "list", "--plugin", EXAMPLE)
    assert code == 1 and f"no store at {tmp_path}/none.db" in out
    assert not (tmp_path / "none.db").exists()  # reading did not create it

    monkeypatch.setenv("HOOKPORT_STORE__URL", f"sqlite:///{tmp_path}/cli.db")
    ids = _local_pushes(runner, 3)
    for name in ("GITHUB_SECRET", "EXAMPLE_DEPLOY_CREDENTIALS", "HOOKPORT_CHANNELS__DEV"):
        monkeypatch.delenv(name)  # what an operator's shell may lack
    code, out = invoke(runner, "events", "list", "--limit", "2", "--plugin", EXAMPLE)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split("\t")[:3] == ["id", "received", "endpoint"]  # plain: tab-separated
    assert not any(ch in out for ch in "┏━│─")  # no box drawing when piped
    assert "showing 2 of 3" in out and f"next page: --before {ids[1]}" in out
    code, out = invoke(runner, "events", "list", "--before", ids[1], "--plugin", EXAMPLE)
    assert ids[0] in out and "showing 1 of" in out
    code, shown = invoke(runner, "events", "show", ids[0][:20], "--json", "--plugin", EXAMPLE)
    assert code == 0 and json.loads(shown)["id"] == ids[0]  # a unique prefix is enough
    code, out = invoke(runner, "events", "show", ids[0][:4], "--plugin", EXAMPLE)
    assert code == 1 and "at least 8 characters" in out


def test_replay_by_filter_dry_run_and_confirmation(runner: CliRunner) -> None:
    ids = _local_pushes(runner, 3)
    code, out = invoke(runner, "events", "replay", "--status", "done", "--dry-run",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0 and "would replay 3 event(s)" in out
    code, listed = invoke(
        runner, "events", "list", "--status", "done", "--json", "--plugin", EXAMPLE
    )
    assert len(json.loads(listed)) == 3  # the dry run changed nothing
    code, out = invoke(runner, "events", "replay", "--type", "push", "--since", "1h", "--json",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0 and sorted(json.loads(out)["replayed"]) == sorted(ids)


def test_replaying_many_events_asks_first(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.modules["hookport.cli.events"], "CONFIRM_OVER", 2)
    _local_pushes(runner, 3)
    code, out = invoke(runner, "events", "replay", "--status", "done", "--plugin", EXAMPLE)
    assert code == 1 and "3 events match; add --yes" in out  # not a terminal: no prompt
    code, out = invoke(runner, "events", "replay", "--status", "done", "--yes",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0 and "replayed 3 event(s)" in out


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out.update(_commands(command, f"{prefix}{name} "))
        else:
            out[f"{prefix}{name}"] = command
    return out


# Commands that print no data of their own: the servers (log lines) and a converter whose
# output is a file format (TOML) already.
NO_JSON = {"serve", "worker", "hooks convert"}


def test_every_command_that_prints_data_has_json() -> None:
    commands = _commands(cli)
    assert {"routes", "pause", "resume", "check", "send", "sign", "cert", "init"} <= commands.keys()
    missing = [
        name
        for name, command in commands.items()
        if name not in NO_JSON and not any("--json" in p.opts for p in command.params)
    ]
    assert missing == []


def test_reading_and_pausing_need_no_secrets_and_never_create_a_store(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_SECRET", "EXAMPLE_DEPLOY_CREDENTIALS", "HOOKPORT_CHANNELS__DEV"):
        monkeypatch.delenv(name)
    store = tmp_path / "cli.db"
    result = runner.invoke(cli, ["routes", "--plugin", EXAMPLE])
    assert result.exit_code == 0, result.output
    assert f"no store at {store}: pause states unknown" in result.stderr
    assert "/github\treceiver\tgithub\tgithub-notify\tGitHub\tunknown" in result.stdout
    code, out = invoke(runner, "routes", "--json", "--plugin", EXAMPLE)
    assert {row["state"] for row in json.loads(out)} == {"unknown"}
    for args in (["pause", "GitHub"], ["resume", "GitHub"]):
        code, out = invoke(runner, *args, "--plugin", EXAMPLE)
        assert code == 1 and f"no store at {store}" in out, out
    assert not store.exists()  # nothing above created it

    monkeypatch.setenv("GITHUB_SECRET", "cli-secret")
    monkeypatch.setenv("EXAMPLE_DEPLOY_CREDENTIALS", "ops:pw")
    monkeypatch.setenv("HOOKPORT_CHANNELS__DEV", "json://127.0.0.1:9/none")
    _local_pushes(runner, 1)  # --keep: the configured store now exists
    for name in ("GITHUB_SECRET", "EXAMPLE_DEPLOY_CREDENTIALS", "HOOKPORT_CHANNELS__DEV"):
        monkeypatch.delenv(name)
    code, out = invoke(runner, "pause", "GitHub", "--for", "1h", "--json",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0, out
    paused = json.loads(out)
    assert paused["endpoint"] == "GitHub" and paused["state"] == "paused"
    assert paused["paused_until"] > paused["paused_at"]
    code, out = invoke(runner, "routes", "--json", "--plugin", EXAMPLE)
    states = {row["name"]: row["state"] for row in json.loads(out)}
    assert states["GitHub"] == "paused"
    assert states["github-notify:hello"] == "active"
    code, out = invoke(runner, "resume", "GitHub", "--json", "--plugin", EXAMPLE)
    assert json.loads(out) == {
        "endpoint": "GitHub", "state": "active", "was_paused": True
    }  # fmt: skip


def test_check_hooks_check_init_and_send_print_json(runner: CliRunner, tmp_path: Path) -> None:
    code, out = invoke(runner, "init", "--directory", "proj", "--json")
    assert code == 0, out
    assert json.loads(out)["written"] == ["proj/hookport.toml", "proj/plugins/hello.py"]
    code, out = invoke(runner, "check", "--json", "--config", "proj/hookport.toml")
    assert code == 0, out
    found = json.loads(out)
    assert (found["ok"], found["plugins"], found["endpoints"], found["errors"]) == (
        True, 1, 2, []
    )  # fmt: skip
    assert found["store"] == {
        "url": f"sqlite:///{tmp_path}/cli.db", "exists": False, "ok": True, "reason": "ok"
    }  # fmt: skip
    assert not (tmp_path / "cli.db").exists()  # check does not create the store either

    hooks_file = tmp_path / "hooks.json"
    hooks_file.write_text(json.dumps([{
        "id": "deploy", "execute-command": "/bin/true",
        "trigger-rule": {"match": {"type": "value", "value": "main",
                                   "parameter": {"source": "payload", "name": "ref"}}},
    }]))  # fmt: skip
    result = runner.invoke(cli, ["hooks", "check", str(hooks_file), "--data", '{"ref": "dev"}',
                                 "--json"])  # fmt: skip
    assert result.exit_code == 2  # the hook did not trigger
    report = json.loads(result.stdout)
    assert report["hooks"] == 1
    [hook] = report["checked"]
    assert (hook["id"], hook["triggered"]) == ("deploy", False)
    assert hook["steps"][0]["matched"] is False

    code, out = invoke(runner, "send", "/hello/world", "--local", "--method", "GET", "--json",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0, out
    answer = json.loads(out)
    assert (answer["status"], answer["body"], answer["ok"], answer["store"]) == (
        200, "hello world", True, None
    )  # fmt: skip
    result = runner.invoke(cli, ["send", "/github", "--local", "--data", f"@{PUSH}", "--json",
                                 "--plugin", EXAMPLE])  # fmt: skip
    answer = json.loads(result.stdout)
    assert answer["status"] == 202 and answer["json"]["status"] == "queued"
    assert answer["event"]["status"] == "done"
    assert [a["handler"] for a in answer["event"]["attempts"]] == ["on_push"]


def test_send_local_leaves_the_real_store_untouched(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _local_pushes(runner, 1)  # --keep: recorded in the configured store

    def snapshot() -> dict[str, tuple[bytes, int]]:  # the file and its WAL and index, if any
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in tmp_path.glob("cli.db*")}

    before = snapshot()
    assert "cli.db" in before
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    default_tempdir = tempfile.tempdir
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    result = runner.invoke(cli, ["send", "/github", "--local", "--data", f"@{PUSH}",
                                 "--plugin", EXAMPLE])  # fmt: skip
    assert result.exit_code == 0, result.output
    throwaway_id = re.search(r"event ([0-9a-f]{32}) done", result.stdout).group(1)  # type: ignore[union-attr]
    assert "throwaway store" in result.stderr
    assert snapshot() == before
    assert list(scratch.iterdir()) == []  # the throwaway store is gone
    monkeypatch.setattr(tempfile, "tempdir", default_tempdir)
    code, out = invoke(runner, "events", "list", "--json", "--plugin", EXAMPLE)
    assert [e["id"] for e in json.loads(out)] == ids  # only the kept one
    code, out = invoke(runner, "events", "show", throwaway_id, "--plugin", EXAMPLE)
    assert code == 1

    other = tmp_path / "other.db"
    code, out = invoke(runner, "send", "/github", "--local", "--data", f"@{PUSH}",
                       "--store", f"sqlite:///{other}", "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0 and other.exists(), out
    chosen = re.search(r"event ([0-9a-f]{32}) done", out).group(1)  # type: ignore[union-attr]
    result = runner.invoke(
        cli,
        ["events", "show", chosen, "--json", "--plugin", EXAMPLE],
        env={"HOOKPORT_STORE__URL": f"sqlite:///{other}"},
    )
    assert json.loads(result.stdout)["id"] == chosen
    code, out = invoke(runner, "send", "/github", "--url", "http://127.0.0.1:9", "--keep",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 2 and "--keep and --store go with --local" in out


def _sign(runner: CliRunner, *args: str) -> dict[str, str]:
    code, out = invoke(runner, "sign", "--secret", "s", "--json", *args)
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def test_sign_infers_the_event_from_the_payload(runner: CliRunner, tmp_path: Path) -> None:
    issue = str(ROOT / "examples" / "issue.json")
    assert _sign(runner, "--scheme", "github", "--data", f"@{PUSH}")["X-GitHub-Event"] == "push"
    assert _sign(runner, "--scheme", "github", "--data", f"@{issue}")["X-GitHub-Event"] == "issues"
    assert _sign(runner, "--scheme", "gitea", "--data", f"@{issue}")["X-Gitea-Event"] == "issues"
    ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1, "hook": {}})
    assert _sign(runner, "--scheme", "github", "--data", ping)["X-GitHub-Event"] == "ping"
    comment = json.dumps({"action": "created", "issue": {}, "comment": {}})
    assert _sign(runner, "--scheme", "github", "--data", comment)["X-GitHub-Event"] == (
        "issue_comment"
    )
    given = _sign(runner, "--scheme", "github", "--data", f"@{PUSH}", "--event", "release")
    assert given["X-GitHub-Event"] == "release"  # --event wins over the shape
    # An inferred push is what the receiver then types the stored event as.
    code, out = invoke(runner, "send", "/github", "--local", "--keep", "--data", f"@{PUSH}",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0 and "on_push: ok" in out, out


def test_no_color_on_a_terminal(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys.modules["hookport.cli._common"], "interactive", lambda: True)
    code, coloured = invoke(runner, "routes", "--plugin", EXAMPLE)
    assert code == 0 and "┏" in coloured and "\x1b[" in coloured  # a terminal: boxes, colour
    monkeypatch.setenv("NO_COLOR", "1")
    code, plain = invoke(runner, "routes", "--plugin", EXAMPLE)
    assert code == 0 and "┏" in plain and "\x1b[" not in plain
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not count
    code, again = invoke(runner, "routes", "--plugin", EXAMPLE)
    assert "\x1b[" in again


def test_every_option_says_what_it_does() -> None:
    undocumented = [
        f"{name} {option.opts[0]}"
        for name, command in _commands(cli).items()
        for option in command.params
        if isinstance(option, click.Option) and not option.hidden and not option.help
    ]
    assert undocumented == []


def test_docs_cli_shows_every_command_and_generates_the_reference() -> None:
    import docs_hooks

    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    written, marker, _ = page.partition(docs_hooks.CLI_MARKER)
    assert marker, "docs/cli.md lost its reference marker"
    reference = docs_hooks.render_cli()
    for name, command in _commands(cli).items():
        assert f"hookport {name}" in written, f"no example of hookport {name}"
        assert f"### `hookport {name}`" in reference
        for option in command.params:
            if isinstance(option, click.Option) and not option.hidden:
                assert f"`{option.opts[0]}" in reference or f", {option.opts[0]}" in reference
    assert "_HOOKPORT_COMPLETE=bash_source hookport" in written
    assert "_HOOKPORT_COMPLETE=zsh_source hookport" in written


def test_piped_output_is_never_padded(runner: CliRunner) -> None:
    [event_id] = _local_pushes(runner, 1)
    for args in (
        ["events", "show", event_id[:8]],
        ["events", "list"],
        ["routes"],
        ["check"],
    ):
        result = runner.invoke(cli, [*args, "--plugin", EXAMPLE])
        assert result.exit_code == 0, result.output
        padded = [line for line in result.stdout.splitlines() if line.endswith(" ")]
        assert padded == [], (args, padded[:3])
        assert not any(ch in result.stdout for ch in "┏━│─┃"), args


def test_route_calls_are_labelled_in_events_list_and_show(runner: CliRunner) -> None:
    """Was: route hits were listed as deliveries with an empty type."""
    code, out = invoke(runner, "send", "/hello/world", "--local", "--keep", "--method", "GET",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 0, out
    pushed = _local_pushes(runner, 1)[0]
    code, out = invoke(runner, "events", "list", "--json", "--plugin", EXAMPLE)
    listed = json.loads(out)
    call = next(e for e in listed if e["kind"] == "route")
    assert not call["type"]  # the record itself has no type: the label is the surfaces'
    code, out = invoke(runner, "events", "list", "--plugin", EXAMPLE)
    assert code == 0, out
    rows = {line.split("\t")[0]: line.split("\t") for line in out.splitlines() if "\t" in line}
    assert rows[call["id"]][3] == "(route call)"
    assert rows[pushed][3] == "push"
    code, out = invoke(runner, "events", "show", call["id"][:12], "--plugin", EXAMPLE)
    assert code == 0, out
    assert "type (route call)" in out
    code, out = invoke(runner, "events", "show", pushed, "--plugin", EXAMPLE)
    assert "type push " in out and "(route call)" not in out


def test_events_rejected_filters_totals_and_pages(runner: CliRunner, tmp_path: Path) -> None:
    """Was: "N rejected deliveries" for the page shown, with no status filter and no pages."""
    import asyncio
    import time

    from hookport.store.base import Rejection
    from hookport.store.sqlite import SqliteStore

    async def record() -> None:
        store = SqliteStore(tmp_path / "cli.db")
        await store.open()
        now = time.time()
        rows = [
            Rejection(now + i, "POST", f"/p{i}", None if i % 2 else "ex:/github", 404 if i % 2
                      else 401, "why", "192.0.2.1", ("host", "x-hub-signature-256"), 12)
            for i in range(5)
        ]  # fmt: skip
        try:
            await store.record_rejections(rows, keep=100, before=now - 60)
        finally:
            await store.close()

    asyncio.run(record())
    code, out = invoke(runner, "events", "rejected", "--limit", "2", "--plugin", EXAMPLE)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[-2:][0] == "showing 2 of 5"
    cursor = lines[-1].removeprefix("next page: --before ")
    assert cursor.isdigit(), out
    assert [line.split("\t")[4] for line in lines[1:3]] == ["/p4", "/p3"]
    code, out = invoke(runner, "events", "rejected", "--json", "--limit", "2", "--before", cursor,
                       "--plugin", EXAMPLE)  # fmt: skip
    assert [r["path"] for r in json.loads(out)] == ["/p2", "/p1"]
    code, out = invoke(runner, "events", "rejected", "--no-endpoint", "--plugin", EXAMPLE)
    assert "showing 2 of 2" in out and out.count("(no endpoint)") == 2
    code, out = invoke(runner, "events", "rejected", "--json", "--status", "401",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert [r["path"] for r in json.loads(out)] == ["/p4", "/p2", "/p0"]
    assert "x-hub-signature-256" in json.loads(out)[0]["header_names"]
    code, out = invoke(runner, "events", "rejected", "--endpoint", "ex:/github", "--no-endpoint",
                       "--plugin", EXAMPLE)  # fmt: skip
    assert code == 2 and "exclude each other" in out
