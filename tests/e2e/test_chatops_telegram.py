"""Telegram chat-ops end to end: a real ``hookport serve`` on loopback receives bot webhooks
(``X-Telegram-Bot-Api-Secret-Token``) and answers through ``sendMessage`` at a local server
standing in for the Bot API."""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

import httpx
import pytest

from tests.e2e import chat_script
from tests.e2e.capture_server import Capture

PLUGIN = str(Path(__file__).parent / "plugins" / "chatty.py")
WEBHOOK_SECRET = "telegram-webhook-secret-for-e2e"
BOT_TOKEN = "123456:telegram-bot-token-for-e2e"
ENV = {
    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
}
SEND = f"/bot{BOT_TOKEN}/sendMessage"
_ids = count(1)


def config(tmp_path: Path, capture: Capture, extra: str = "") -> Path:
    path = tmp_path / "hookport.toml"
    path.write_text(
        f"""
[store]
url = "sqlite:///{tmp_path}/hookport.db"

[chatops.telegram]
enabled = true
users = ["1001"]
bot_name = "hookport_bot"
api_base = "{capture.url}"
"""
        + extra
    )
    return path


def update(
    url: str, text: str, *, user: int = 1001, secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    message_id = next(_ids)
    body = {
        "update_id": 10000 + message_id,
        "message": {
            "message_id": message_id,
            "date": int(time.time()),
            "from": {"id": user, "is_bot": False, "first_name": "Ops"},
            "chat": {"id": -100200300, "type": "group", "title": "ops"},
            "text": text,
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
    return httpx.post(f"{url}/_hookport/chat/telegram", json=body, headers=headers, timeout=10)


def sent(capture: Capture, n: int) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in capture.wait_for(SEND, n)]


def test_commands_are_answered_through_send_message(
    serve: object, tmp_path: Path, capture: Capture
) -> None:
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=ENV)  # type: ignore[operator]
    url = server.url
    assert update(url, "/hookport status").status_code == 200
    (first,) = sent(capture, 1)
    assert first["chat_id"] == "-100200300" and first["parse_mode"] == "HTML"
    assert str(first["text"]).startswith(
        "<b>3 endpoints · backlog 0 · dead 0 · paused 0</b>\n<pre>"
    )

    assert update(url, "/hookport@hookport_bot pause inbox 5m").status_code == 200
    assert str(sent(capture, 2)[1]["text"]).startswith("<b>paused inbox for 5m")

    # HTML in data is escaped; not on the allow-list is refused politely.
    update(url, "/hookport pause <b>x</b>")
    assert str(sent(capture, 3)[2]["text"]).startswith("<b>no endpoint '&lt;b&gt;x&lt;/b&gt;'")
    update(url, "/hookport resume inbox", user=2002)
    assert str(sent(capture, 4)[3]["text"]).startswith("<b>sorry, resume changes state")

    # Not a command for this bot, another bot's command, or plain chat: no answer at all.
    for text in ("hello there", "/hookport@other_bot status", "/start"):
        assert update(url, text).status_code == 200
    update(url, "/hookport resume inbox")
    answers = sent(capture, 5)
    assert len(answers) == 5 and str(answers[4]["text"]).startswith("<b>resumed inbox")
    assert BOT_TOKEN not in "".join(server.output)


def test_a_wrong_or_missing_secret_token_is_401(
    serve: object, tmp_path: Path, capture: Capture
) -> None:
    server = serve("--config", str(config(tmp_path, capture)), "--plugin", PLUGIN, env=ENV)  # type: ignore[operator]
    assert update(server.url, "/hookport status", secret="guess").status_code == 401
    response = httpx.post(
        f"{server.url}/_hookport/chat/telegram", json={"update_id": 1}, timeout=10
    )
    assert response.status_code == 401 and "error" in response.json()
    # A verified update that answers something: the Bot API got only that one.
    update(server.url, "/hookport help")
    assert len(sent(capture, 1)) == 1
    assert capture.at(SEND)[0].path == SEND


def unmarked(text: str) -> str:
    """Telegram HTML as plain text."""
    return html.unescape(re.sub(r"</?(b|pre)>", "", text))


@pytest.mark.anyio
async def test_every_command_does_what_it_says(
    serve: object, tmp_path: Path, capture: Capture
) -> None:
    env = {**ENV, "HOOKPORT_ADMIN_TOKEN": chat_script.ADMIN_TOKEN}
    path = config(tmp_path, capture, chat_script.CONFIG)
    server = serve("--config", str(path), "--plugin", PLUGIN, env=env)  # type: ignore[operator]

    async def ask(text: str, user: str, done: Callable[[str], bool]) -> str:
        before = len(capture.at(SEND))
        response = await asyncio.to_thread(update, server.url, f"/hookport {text}", user=int(user))
        assert response.status_code == 200, response.text
        answers = await asyncio.to_thread(sent, capture, before + 1)
        return unmarked(str(answers[before]["text"]))

    chat = chat_script.Chat(
        "telegram",
        ask,
        "1001",
        "2002",
        "-100200300",
        endpoints=3,
        chat_path="/_hookport/chat/telegram",
    )
    await chat_script.run_every_command(chat, server.url)
