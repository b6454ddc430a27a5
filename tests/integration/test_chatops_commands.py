"""The chat command set over a real app and SQLite store: every command, the allow-lists,
bad input, failures answered with an error id, and the audit of every run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from hookport import Event, Plugin, verify
from hookport.chatops import Answer, Commands, Invocation
from hookport.config import load_settings
from hookport.events import EventStatus
from hookport.store.base import ChatCommandFilter, EventFilter
from hookport.testing import HookportClient

pytestmark = pytest.mark.anyio

ENV = {"SLACK_SIGNING_SECRET": "slack-signing-secret", "GH_SECRET": "gh-secret"}
ADMIN = Invocation("slack", "U-ADMIN", "C-OPS", "")
VISITOR = Invocation("slack", "U-VISITOR", "C-OPS", "")


def demo() -> tuple[Plugin, list[str]]:
    ran: list[str] = []
    plugin = Plugin("demo")
    github = plugin.receiver("/github", name="github", verify=verify.github(secret_env="GH_SECRET"))

    @github.on("push")
    async def announce(event: Event) -> None:
        ran.append(event.id)
        if event.json.get("fail"):
            raise RuntimeError("the build server said no")

    @plugin.route("/hello", methods=["GET", "POST"], name="hello")
    def hello() -> str:
        return "hello <world>"

    return plugin, ran


def client_for(tmp_path: Path, plugin: Plugin, **chatops: object) -> HookportClient:
    slack = {"enabled": True, "users": ["U-ADMIN"], **chatops}
    settings = load_settings(
        None,
        ENV,
        store={"url": f"sqlite:///{tmp_path}/hookport.db"},
        chatops={"slack": slack, "max_rows": 5},
        worker={"max_attempts": 1},
    )
    return HookportClient.create([plugin], tmp_path, settings)


def commands_of(client: HookportClient) -> Commands:
    assert client.app.chat is not None
    commands = client.app.chat.runner.commands
    assert commands is not None
    return commands


async def ask(commands: Commands, text: str, who: Invocation = ADMIN) -> Answer:
    return await commands.run(Invocation(who.platform, who.user, who.channel, text))


async def test_status_routes_and_help_describe_every_endpoint(tmp_path: Path) -> None:
    plugin, _ = demo()
    async with client_for(tmp_path, plugin) as client:
        cmd = commands_of(client)
        for i in range(3):
            assert (await client.send("/github", b'{"n": %d}' % i, event_type="push")).status_code == 202
        await client.app.ops.pause("github", duration=600, by="test")
        status = await ask(cmd, "status", VISITOR)  # read-only: anyone verified
        assert status.ok
        assert status.title == "3 endpoints · backlog 3 · dead 0 · paused 1"
        rows = {row[0]: row for row in status.rows}
        assert rows["github"][1].startswith("paused (") and rows["github"][2] == "3"
        assert rows["hello"][1:3] == ("active", "0")

        routes = await ask(cmd, "routes")
        by_name = {row[0]: row for row in routes.rows}
        assert by_name["github"][2] == "http://127.0.0.1:8080/github"
        assert by_name["github"][3] == "github"
        assert by_name["chatops:slack"][2] == "http://127.0.0.1:8080/_hookport/chat/slack"
        assert by_name["chatops:slack"][3] == "slack"

        help_ = await ask(cmd, "")
        assert help_.title == "hookport commands"
        assert [r[0].split()[0] for r in help_.rows] == [
            "help", "status", "routes", "events", "show", "test", "replay", "pause", "resume",
        ]  # fmt: skip


async def test_events_show_and_replay_dead(tmp_path: Path) -> None:
    plugin, ran = demo()
    async with client_for(tmp_path, plugin) as client:
        cmd = commands_of(client)
        ids = []
        for i in range(7):
            body = b'{"n": %d, "fail": %s}' % (i, b"true" if i < 2 else b"false")
            ids.append((await client.send("/github", body, event_type="push")).json()["id"])
        await client.drain()
        events = await ask(cmd, "events github")
        assert events.title == "7 events (github)"
        assert len(events.rows) == 5 and events.more == 2  # max_rows = 5
        dead = await ask(cmd, "events dead github")
        assert dead.title == "2 events (github dead)"
        assert {r[0] for r in dead.rows} == {i[:16] for i in ids[:2]}

        shown = await ask(cmd, f"show {ids[0][:20].upper()}")
        assert shown.ok and shown.title == f"event {ids[0]}"
        assert "status dead" in shown.lines[0]
        assert shown.rows == (("1", "announce", "failed", "RuntimeError: the build server said no"),)

        replayed = await ask(cmd, "replay dead github")
        assert replayed.title == "replayed 2 dead events of github"
        queued = await client.app.ops.list_events(EventFilter(status=EventStatus.QUEUED))
        assert sorted(e.id for e in queued) == sorted(ids[:2])
        one = await ask(cmd, f"replay {ids[3]}")
        assert one.title == f"replaying event {ids[3]}"
        before = len(ran)
        await client.drain()
        assert len(ran) == before + 3


async def test_pause_and_resume_from_chat(tmp_path: Path) -> None:
    plugin, _ = demo()
    async with client_for(tmp_path, plugin) as client:
        cmd = commands_of(client)
        paused = await ask(cmd, "pause github 30m")
        assert paused.ok and paused.title.startswith("paused github for 30m")
        pause = (await client.app.ops.paused())["github"]
        assert pause.paused_by == "slack:U-ADMIN"
        assert pause.expires_at is not None and 1790 < pause.expires_at - pause.paused_at <= 1800
        assert (await ask(cmd, "pause /github")).title.startswith("paused github until resumed:")
        assert (await ask(cmd, "resume github")).title.startswith("resumed github")
        assert (await ask(cmd, "resume github")).title == "github was not paused"
        assert "github" not in await client.app.ops.paused()


async def test_test_runs_the_endpoint_signed_without_touching_the_store(tmp_path: Path) -> None:
    plugin, ran = demo()
    async with client_for(tmp_path, plugin) as client:
        cmd = commands_of(client)
        answer = await ask(cmd, 'test /github --event push {"ref": "refs/heads/main"}')
        assert answer.ok, answer
        assert answer.title == "test github: HTTP 202"
        assert answer.lines[1] == "event done (trial store: nothing was kept)"
        assert answer.rows == (("announce", "ok", ""),)
        failing = await ask(cmd, 'test /github --event push {"fail": true}')
        unhandled = await ask(cmd, 'test /github {}')
        assert unhandled.lines[1].startswith("event unhandled") and unhandled.rows == ()
        assert failing.rows == (("announce", "failed", "RuntimeError: the build server said no"),)
        assert len(ran) == 2  # the handler really ran, twice
        route = await ask(cmd, "test /hello")
        assert route.title == "test hello: HTTP 200" and route.lines == ("answer: hello <world>",)
        # Nothing reached the real store.
        assert await client.app.ops.list_events(EventFilter()) == []
        missing = await ask(cmd, "test /nowhere")
        assert missing.outcome == "error" and missing.title == "no endpoint for POST /nowhere"
        assert (await ask(cmd, "test /_hookport/chat/slack")).outcome == "error"
        assert (await ask(cmd, "test github")).title.startswith("give a path starting with /")


async def test_allow_lists_refuse_politely_and_everything_is_recorded(tmp_path: Path) -> None:
    plugin, _ = demo()
    async with client_for(tmp_path, plugin, channels=["C-OPS"], read_users=["U-READER"]) as client:
        cmd = commands_of(client)
        refused = await ask(cmd, "pause github", VISITOR)
        assert refused.outcome == "refused" and refused.title.startswith("sorry, pause changes")
        wrong_room = await ask(cmd, "pause github", Invocation("slack", "U-ADMIN", "C-RANDOM", ""))
        assert wrong_room.outcome == "refused"
        assert (await ask(cmd, "status", VISITOR)).outcome == "refused"  # read_users given
        assert (await ask(cmd, "status", Invocation("slack", "U-READER", "C-X", ""))).ok
        assert (await ask(cmd, "status")).ok  # users may read too
        assert (await ask(cmd, 'test /github {"ref": "secret-ish"}')).ok
        assert "github" not in await client.app.ops.paused()
        records = await client.app.ops.chat_commands(ChatCommandFilter())
        assert [(r["user"], r["channel"], r["result"]) for r in records] == [
            ("U-ADMIN", "C-OPS", "ok"),
            ("U-ADMIN", "C-OPS", "ok"),
            ("U-READER", "C-X", "ok"),
            ("U-VISITOR", "C-OPS", "refused"),
            ("U-ADMIN", "C-RANDOM", "refused"),
            ("U-VISITOR", "C-OPS", "refused"),
        ]
        assert records[0]["command"].startswith("test /github (") and "secret" not in records[0]["command"]
        assert records[5]["command"] == "pause github" and records[5]["platform"] == "slack"
        assert records[2]["summary"].startswith("3 endpoints")


async def test_nobody_changes_state_without_an_allow_list(tmp_path: Path) -> None:
    plugin, _ = demo()
    async with client_for(tmp_path, plugin, users=[]) as client:
        cmd = commands_of(client)
        assert (await ask(cmd, "resume github")).outcome == "refused"
        assert (await ask(cmd, "routes", VISITOR)).ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate", "unknown command 'frobnicate'; try help"),
        ('pause "github', "could not read the command: No closing quotation"),
        ("pause github soon", "invalid duration 'soon'"),
        ("pause github -5m", "invalid duration"),
        ("pause", "give an endpoint and maybe a duration; usage: pause ENDPOINT [DURATION]"),
        ("pause nope", "no endpoint 'nope' (known: "),
        ("show 1234", "'1234' is too short"),
        ("show 0123456789abcdef", "no event with an id starting '0123456789abcdef'"),
        ("events github dead extra", "too many words; usage: events [ENDPOINT] [STATUS]"),
        ("status now", "this command takes no arguments"),
        ("replay", "give an event id, or dead"),
        ("x" * 5000, "that command is too long"),
    ],
)
async def test_bad_input_is_answered_with_what_was_wrong(
    tmp_path: Path, text: str, expected: str
) -> None:
    plugin, _ = demo()
    async with client_for(tmp_path, plugin) as client:
        answer = await ask(commands_of(client), text)
        assert answer.outcome == "error" and answer.error_id is None
        assert answer.title.startswith(expected), answer.title


async def test_a_failure_is_an_error_id_in_chat_and_a_traceback_in_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin, _ = demo()
    async with client_for(tmp_path, plugin) as client:
        cmd = commands_of(client)

        async def broken(*args: object, **kwargs: object) -> object:
            raise KeyError("internal detail")

        monkeypatch.setattr(client.app.ops, "endpoint_load", broken)
        with caplog.at_level(logging.ERROR, "hookport.chatops"):
            answer = await ask(cmd, "status")
        assert answer.outcome == "error" and answer.error_id is not None
        assert "internal detail" not in answer.title
        logged = [r for r in caplog.records if answer.error_id in r.getMessage()]
        assert logged and logged[0].exc_info is not None
        records = await client.app.ops.chat_commands(ChatCommandFilter())
        assert records[0]["result"] == "error"


async def test_the_admin_api_and_dashboard_show_the_audit(tmp_path: Path) -> None:
    plugin, _ = demo()
    settings = load_settings(
        None,
        {**ENV, "HOOKPORT_ADMIN_TOKEN": "admin-token-for-chat"},
        store={"url": f"sqlite:///{tmp_path}/hookport.db"},
        chatops={"slack": {"enabled": True, "users": ["U-ADMIN"]}},
    )
    async with HookportClient.create([plugin], tmp_path, settings) as client:
        cmd = commands_of(client)
        await ask(cmd, "status")
        await ask(cmd, "pause github <b>", VISITOR)
        auth = {"Authorization": "Bearer admin-token-for-chat"}
        api = (await client.http.get("/_hookport/api/chatops", headers=auth)).json()
        assert [(c["command"], c["result"]) for c in api["commands"]] == [
            ("pause github <b>", "refused"),
            ("status", "ok"),
        ]
        one = await client.http.get("/_hookport/api/chatops?platform=slack&limit=1", headers=auth)
        assert len(one.json()["commands"]) == 1
        assert (await client.http.get("/_hookport/api/chatops?limit=x", headers=auth)).status_code == 400
        assert (await client.http.get("/_hookport/api/chatops")).status_code == 401
        here = {"Origin": "http://testserver"}
        signed_in = await client.http.post(
            "/_hookport/login", data={"token": "admin-token-for-chat"}, headers=here
        )
        assert signed_in.status_code == 303
        page = await client.http.get("/_hookport/chatops")
        assert page.status_code == 200
        assert "pause github &lt;b&gt;" in page.text and 'data-result="refused"' in page.text
