"""Slack chat-ops end to end: a real ``hookport serve`` on loopback, requests signed with Slack's
own code (``slack_sdk.signature.SignatureVerifier``), a local HTTP server standing in for
``response_url`` and the Web API (``chat.postMessage``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from hookport.chatops.slack import slack_unescape
from tests.e2e import chat_script
from tests.e2e.capture_server import Capture

PLUGIN = str(Path(__file__).parent / "plugins" / "chatty.py")
SECRET = "slack-signing-secret-for-e2e"
BOT_TOKEN = "xoxb-bot-token-for-e2e"
ADMIN_TOKEN = "admin-token-for-chat-e2e"
ENV = {
    "SLACK_SIGNING_SECRET": SECRET,
    "SLACK_BOT_TOKEN": BOT_TOKEN,
    "HOOKPORT_ADMIN_TOKEN": ADMIN_TOKEN,
}


def config(tmp_path: Path, capture: Capture) -> Path:
    path = tmp_path / "hookport.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path}/hookport.db"

[worker]
max_attempts = 1
poll_interval = "50ms"

[chatops]
slow_after = "300ms"

[chatops.slack]
enabled = true
users = ["U-ADMIN"]
channels = ["C-OPS"]
response_base = "{capture.url}/"
api_base = "{capture.url}/api"
"""
    )
    return path


def signed(body: bytes, content_type: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": content_type,
    }


def slash(
    url: str,
    text: str,
    *,
    user: str = "U-ADMIN",
    channel: str = "C-OPS",
    response_url: str = "https://hooks.slack.com/commands/T1/1/x",
    timestamp: int | None = None,
) -> httpx.Response:
    body = urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "command": "/hookport",
            "text": text,
            "user_id": user,
            "channel_id": channel,
            "response_url": response_url,
        }
    ).encode()
    headers = signed(body, "application/x-www-form-urlencoded", timestamp)
    return httpx.post(f"{url}/_hookport/chat/slack", content=body, headers=headers, timeout=10)


def answer(response: httpx.Response) -> tuple[str, str]:
    assert response.status_code == 200, response.text
    doc = response.json()
    return doc["response_type"], doc["text"]


def test_every_command_end_to_end(serve: object, tmp_path: Path, capture: Capture) -> None:
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=ENV)  # type: ignore[operator]
    url = server.url
    ok = httpx.post(f"{url}/inbox", json={"n": 1}, timeout=10).json()["id"]
    dead = httpx.post(f"{url}/inbox", json={"fail": True}, timeout=10).json()["id"]

    kind, text = answer(slash(url, "help"))
    assert kind == "in_channel" and text.startswith("*hookport commands*\n")
    assert "pause ENDPOINT [DURATION] *" in text

    deadline = time.monotonic() + 20
    while "dead 1" not in (text := answer(slash(url, "status"))[1]):
        assert time.monotonic() < deadline, text
    assert text.startswith("*3 endpoints · backlog 0 · dead 1 · paused 0*")

    text = answer(slash(url, "routes"))[1]
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:-1]}
    assert rows["chatops:slack"][1:3] == ["POST", "http://127.0.0.1:0/_hookport/chat/slack"]
    assert rows["chatops:slack"][3] == "slack" and rows["inbox"][3] == "unverified"

    text = answer(slash(url, "events inbox"))[1]
    assert text.startswith("*2 events (inbox)*") and ok[:16] in text and dead[:16] in text
    text = answer(slash(url, "events dead"))[1]
    assert dead[:16] in text and ok[:16] not in text

    text = answer(slash(url, f"show {dead[:12]}"))[1]
    assert text.startswith(f"*event {dead}*") and "RuntimeError: asked to fail" in text

    assert answer(slash(url, f"replay {ok[:16]}"))[1] == f"*replaying event {ok}*"
    assert answer(slash(url, "replay dead inbox"))[1] == "*replayed 1 dead events of inbox*"

    text = answer(slash(url, "pause inbox 10m"))[1]
    assert text.startswith("*paused inbox for 10m")
    assert "paused (10m left)" in answer(slash(url, "status"))[1]
    assert answer(slash(url, "resume inbox"))[1].startswith("*resumed inbox")

    kind, text = answer(slash(url, 'test /inbox {"n": 2}'))
    assert kind == "in_channel" and text.startswith("*test inbox: HTTP 202*")
    assert "\nnote     ok\n" in text and "trial store: nothing was kept" in text

    # Chat escaping: Slack escapes & < > in text; the answer escapes data again.
    kind, text = answer(slash(url, "pause &lt;script&gt;"))
    assert kind == "ephemeral" and "no endpoint '&lt;script&gt;'" in text

    # Every command is in the audit: the admin API and the dashboard page.
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    records = httpx.get(f"{url}/_hookport/api/chatops", headers=auth, timeout=10).json()["commands"]
    assert records[0]["command"] == "pause <script>" and records[0]["result"] == "error"
    assert {r["command"] for r in records} >= {
        "help",
        "status",
        "resume inbox",
        "replay dead inbox",
    }
    assert all(r["platform"] == "slack" and r["user"] == "U-ADMIN" for r in records)
    # The chat endpoint is an endpoint like any other, and its secrets are never logged.
    assert BOT_TOKEN not in "".join(server.output) and SECRET not in "".join(server.output)


def test_stale_or_forged_requests_are_401(serve: object, tmp_path: Path, capture: Capture) -> None:
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=ENV)  # type: ignore[operator]
    stale = slash(server.url, "status", timestamp=int(time.time()) - 600)
    assert stale.status_code == 401 and "error" in stale.json()
    body = b"command=%2Fhookport&text=status&user_id=U-ADMIN&channel_id=C-OPS"
    forged = signed(body, "application/x-www-form-urlencoded")
    forged["X-Slack-Signature"] = "v0=" + "0" * 64
    response = httpx.post(f"{server.url}/_hookport/chat/slack", content=body, headers=forged)
    assert response.status_code == 401
    records = httpx.get(
        f"{server.url}/_hookport/api/chatops",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    ).json()["commands"]
    assert records == []  # nothing unverified reaches the command set


def test_slow_commands_follow_up_on_response_url_and_refusals_are_polite(
    serve: object, tmp_path: Path, capture: Capture
) -> None:
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=ENV)  # type: ignore[operator]
    started = time.monotonic()
    response = slash(
        server.url, 'test /slow {"n": 1}', response_url=f"{capture.url}/slack/respond/1"
    )
    assert time.monotonic() - started < 3.0  # within Slack's limit
    assert answer(response) == ("ephemeral", "working…")
    (follow_up,) = capture.wait_for("/slack/respond/1")
    posted = json.loads(follow_up.body)
    assert posted["response_type"] == "in_channel" and posted["replace_original"] is False
    assert (
        posted["text"].startswith("*test slow: HTTP 202*") and "\ncrawl    ok\n" in posted["text"]
    )

    # Not on the allow-list: refused, only to the caller; read-only commands still answer.
    kind, text = answer(slash(server.url, "pause inbox", user="U-VISITOR"))
    assert kind == "ephemeral" and text.startswith("*sorry, pause changes state")
    assert answer(slash(server.url, "resume inbox", channel="C-RANDOM"))[1].startswith("*sorry")
    assert answer(slash(server.url, "status", user="U-VISITOR"))[0] == "in_channel"

    # A response_url elsewhere than Slack (or the configured base) is never posted to.
    slow = slash(server.url, "test /slow", response_url="http://169.254.169.254/latest")
    assert answer(slow)[1] == "that took too long; try again"


def test_app_mentions_answer_through_chat_post_message(
    serve: object, tmp_path: Path, capture: Capture
) -> None:
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=ENV)  # type: ignore[operator]
    hook = f"{server.url}/_hookport/chat/slack"
    challenge = json.dumps(
        {
            "type": "url_verification",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        }
    ).encode()
    response = httpx.post(hook, content=challenge, headers=signed(challenge, "application/json"))
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}

    event = {
        "type": "event_callback",
        "event_id": "Ev0PV52K21",
        "event": {
            "type": "app_mention",
            "user": "U-VISITOR",
            "channel": "C-OPS",
            "ts": "1515449522.000016",
            "text": "<@U0LAN0Z89> routes",
        },
    }
    body = json.dumps(event).encode()
    response = httpx.post(hook, content=body, headers=signed(body, "application/json"))
    assert response.status_code == 200
    (posted,) = capture.wait_for("/api/chat.postMessage")
    assert posted.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    message = json.loads(posted.body)
    assert message["channel"] == "C-OPS" and message["thread_ts"] == "1515449522.000016"
    assert message["text"].startswith("*3 endpoints*")

    # Slack's retry of the same event is acknowledged, not run again; a bot is never answered.
    retry = signed(body, "application/json") | {"X-Slack-Retry-Num": "1"}
    assert httpx.post(hook, content=body, headers=retry).status_code == 200
    inner = dict(event["event"])  # type: ignore[call-overload]
    bot = json.dumps({**event, "event": {**inner, "bot_id": "B1"}}).encode()
    assert httpx.post(hook, content=bot, headers=signed(bot, "application/json")).status_code == 200
    helped = json.dumps({**event, "event": {**inner, "text": "<@U0LAN0Z89> help"}}).encode()
    httpx.post(hook, content=helped, headers=signed(helped, "application/json"))
    capture.wait_for("/api/chat.postMessage", 2)
    texts = [json.loads(r.body)["text"] for r in capture.at("/api/chat.postMessage")]
    assert len(texts) == 2 and texts[1].startswith("*hookport commands*")  # retry, bot: none
    assert BOT_TOKEN not in "".join(server.output)


@pytest.mark.anyio
async def test_every_command_does_what_it_says(
    serve: object, tmp_path: Path, capture: Capture
) -> None:
    env = {**ENV, "HOOKPORT_ADMIN_TOKEN": chat_script.ADMIN_TOKEN}
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=env)  # type: ignore[operator]
    asked = count(1)

    async def ask(text: str, user: str, done: Callable[[str], bool]) -> str:
        path = f"/slack/respond/{next(asked)}"
        response = await asyncio.to_thread(
            slash, server.url, text, user=user, response_url=capture.url + path
        )
        body = answer(response)[1]
        if body == "working…":  # slower than slow_after: the answer comes to response_url
            (follow_up,) = await asyncio.to_thread(capture.wait_for, path)
            body = json.loads(follow_up.body)["text"]
        return slack_unescape(body)

    chat = chat_script.Chat(
        "slack",
        ask,
        "U-ADMIN",
        "U-VISITOR",
        "C-OPS",
        endpoints=3,
        chat_path="/_hookport/chat/slack",
    )
    await chat_script.run_every_command(chat, server.url)
