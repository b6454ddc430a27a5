"""Telegram: a bot webhook answering ``/hookport ...`` through the Bot API's ``sendMessage``.

Telegram sends each update with ``X-Telegram-Bot-Api-Secret-Token`` (the ``secret_token`` given
to ``setWebhook``), checked in constant time by hookport's token verifier. A message whose text
starts with ``/hookport`` (or ``/hookport@<bot_name>``) is run as a command; the webhook is
answered at once and the answer is sent with ``sendMessage`` (``parse_mode=HTML``) at
``api_base`` (default ``https://api.telegram.org``) with the bot token from ``token_env``. The
token is part of the API URL: it never reaches a log line (errors are logged by class only).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from hookport import verify
from hookport.chatops.adapter import Background, Runner, api_client, chat_path
from hookport.chatops.answer import Invocation
from hookport.chatops.render import fit, render_telegram_html
from hookport.config import ChatPlatformSettings, Settings
from hookport.http import Request, Response
from hookport.plugin import Plugin

__all__ = ["TelegramAdapter"]

log = logging.getLogger("hookport.chatops.telegram")

TELEGRAM_API = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_CHARS = 4096
"""Characters of one Telegram message."""

_COMMAND = re.compile(r"^/hookport(?:@(?P<bot>[A-Za-z0-9_]+))?(?:\s+(?P<text>.*))?$", re.DOTALL)


def command_text(text: str, bot_name: str | None) -> str | None:
    """What follows ``/hookport`` (or ``/hookport@bot_name``) in ``text``; None when the
    message is not a command for this bot."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    bot = match.group("bot")
    if bot is not None and bot_name is not None and bot.lower() != bot_name.lower():
        return None
    return match.group("text") or ""


class TelegramAdapter:
    """A Telegram bot's webhook at ``[chatops.telegram] path``."""

    platform = "telegram"

    def __init__(self, table: ChatPlatformSettings, settings: Settings, runner: Runner) -> None:
        self.table = table
        self.runner = runner
        self.path = chat_path(self.platform, table.path)
        self.secret_env = table.secret_env or "TELEGRAM_WEBHOOK_SECRET"
        token_env = table.token_env or "TELEGRAM_BOT_TOKEN"
        self._token = settings.secret_environ().get(token_env) or None
        self.api_base = (table.api_base or TELEGRAM_API).rstrip("/")
        self.bot_name = table.bot_name.lstrip("@") if table.bot_name else None
        self.max_rows = settings.chatops.max_rows
        self.background = Background()
        self._client: httpx.AsyncClient | None = None

    def declare(self, plugin: Plugin) -> None:
        """The route Telegram posts updates to."""
        plugin.route(
            self.path,
            methods=["POST"],
            verify=verify.token(secret_env=self.secret_env, header=SECRET_HEADER, query=None),
            name="chatops:telegram",
            description="Telegram bot commands: /hookport ... (docs/chatops.md)",
            record=False,
        )(self.handle)

    def secrets(self) -> list[str]:
        """The bot token."""
        return [self._token] if self._token else []

    async def start(self) -> None:
        """Open the HTTP client answers go out through."""
        if self._client is None:
            self._client = api_client()

    async def stop(self) -> None:
        """Cancel answers in progress, close the client."""
        await self.background.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def handle(self, request: Request) -> Response:
        """One update (already verified): a command is answered later, anything else ignored."""
        update = request.json
        message = update.get("message") if isinstance(update, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return Response.json({"ok": True})
        sender = _table(message.get("from"))
        chat = _table(message.get("chat"))
        if sender.get("is_bot"):
            return Response.json({"ok": True})
        text = command_text(message["text"], self.bot_name)
        if text is None or "id" not in chat:
            return Response.json({"ok": True})
        who = Invocation(self.platform, str(sender.get("id", "")), str(chat["id"]), text)
        self.background.spawn(self._answer(who, message.get("message_id")), "telegram answer")
        return Response.json({"ok": True})

    async def _answer(self, who: Invocation, message_id: object) -> None:
        answer = await self.runner.run(who)
        if self._token is None:
            log.warning("telegram: cannot answer: no bot token (token_env)")
            return
        body: dict[str, Any] = {
            "chat_id": who.channel,
            "text": fit(answer, render_telegram_html, self.max_rows, MAX_CHARS),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        if isinstance(message_id, int):
            body["reply_parameters"] = {
                "message_id": message_id,
                "allow_sending_without_reply": True,
            }
        if self._client is None:
            await self.start()
        assert self._client is not None
        try:
            response = await self._client.post(
                f"{self.api_base}/bot{self._token}/sendMessage", json=body
            )
        except httpx.HTTPError as exc:  # the class only: the message would carry the token
            log.warning("telegram: answer not delivered (%s)", type(exc).__name__)
            return
        if response.status_code >= 400:
            log.warning("telegram: sendMessage refused with HTTP %s", response.status_code)


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
