"""Run-time notification targets end to end: a real ``hookport serve`` whose handler calls
``ctx.send(channel, text, to=...)`` delivers to a real IRC server (ngircd on loopback, through
Apprise's ``irc://``) and to a Slack-compatible ``json://`` service (a local HTTP server); a
target that could change the URL fails the handler, and the event says why without the URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from tests.e2e.conftest import run_hookport, wait_until
from tests.e2e.ircd import Ircd
from tests.notify_sink import notify_sink

PLUGIN = str(Path(__file__).parent / "plugins" / "rooms.py")


def config(tmp_path: Path, channels: dict[str, str]) -> Path:
    lines = "\n".join(f'{name} = "{url}"' for name, url in channels.items())
    path = tmp_path / "hookport.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path}/e2e.db"\n'
        '[worker]\npoll_interval = "100ms"\nmax_attempts = 1\n'
        f"[channels]\n{lines}\n"
    )
    return path


def test_messages_reach_the_irc_room_and_the_nick_named_at_run_time(
    serve: Any, tmp_path: Path, ircd: Ircd
) -> None:
    toml = config(tmp_path, {"irc": ircd.url(nick="hookport", target="{to}")})
    server = serve("--config", str(toml), "--plugin", PLUGIN)
    with ircd.listener("#ops", nick="alice") as alice, ircd.listener("#dev", nick="bob") as bob:
        for to, text in [("#ops", "deploy finished"), ("#dev", "build broke"), ("alice", "psst")]:
            answer = httpx.post(
                server.url + "/announce", json={"channel": "irc", "to": to, "text": text}
            )
            assert answer.status_code == 202, answer.text
        got_alice = alice.wait_for(2)
        got_bob = bob.wait_for(1)
    # Apprise connects once per message; two sends at once cannot both be "hookport" (the
    # server refuses a nick in use), so Apprise picks another for one of them.
    assert {(m.target, m.text) for m in got_alice} == {
        ("#ops", "deploy finished"),
        ("alice", "psst"),
    }
    assert [(m.target, m.text) for m in got_bob] == [("#dev", "build broke")]
    assert "hookport" in {m.sender for m in [*got_alice, *got_bob]}


def test_a_json_target_gets_the_recipient_in_its_path_and_bad_targets_fail_the_event(
    serve: Any, tmp_path: Path
) -> None:
    with notify_sink() as slack:
        toml = config(tmp_path, {"slack": f"json://127.0.0.1:{slack.port}/chat/{{to}}"})
        server = serve("--config", str(toml), "--plugin", PLUGIN)
        good = httpx.post(
            server.url + "/announce", json={"channel": "slack", "to": "C0123", "text": "hi"}
        ).json()["id"]
        bad = httpx.post(
            server.url + "/announce",
            json={"channel": "slack", "to": "../../admin?x=1", "text": "nope"},
        ).json()["id"]
        [(path, doc)] = slack.wait_for(1)
        assert unquote(path) == "/chat/C0123" and doc["message"] == "hi"

        common = ["--config", str(toml), "--plugin", PLUGIN]

        def status(event_id: str) -> dict[str, Any]:
            shown = run_hookport("events", "show", event_id, "--json", *common, cwd=tmp_path)
            assert shown.returncode == 0, shown.stderr
            found: dict[str, Any] = json.loads(shown.stdout)
            return found

        wait_until(lambda: status(bad)["status"] == "dead", 30, "the bad target's event to die")
        wait_until(lambda: status(good)["status"] == "done", 30, "the good event to be done")
        error = json.dumps(status(bad))
        assert "not a valid target for channel 'slack'" in error
        assert str(slack.port) not in error  # the channel's URL never appears
        assert len(slack.received) == 1  # nothing was sent for the bad target
