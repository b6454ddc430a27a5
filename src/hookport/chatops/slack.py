"""Slack: slash commands and app mentions, verified with Slack's signing secret.

A slash command (form: ``command``, ``text``, ``user_id``, ``channel_id``, ``response_url``) is
answered in the request when the command finishes within ``[chatops] slow_after`` (2 s; Slack
waits 3 s); otherwise the request is answered "working…" (ephemeral) and the result is posted
to ``response_url``, which must be on ``https://hooks.slack.com/`` (or under the configured
``response_base``). An app mention (Events API ``app_mention``) is acknowledged at once and
answered with ``chat.postMessage`` (bot token from ``token_env``) at ``api_base``. Slack's
retries of an event (``X-Slack-Retry-Num``) are acknowledged and not run twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import httpx

from hookport import verify
from hookport.chatops.adapter import Background, Runner, api_client, chat_path
from hookport.chatops.answer import Answer, Invocation
from hookport.chatops.render import fit, render_slack_mrkdwn
from hookport.config import ChatPlatformSettings, Settings
from hookport.http import Request, Response
from hookport.plugin import Plugin

__all__ = ["SlackAdapter"]

log = logging.getLogger("hookport.chatops.slack")

SLACK_API = "https://slack.com/api"
RESPONSE_HOST = "https://hooks.slack.com/"
MAX_CHARS = 3500
"""Characters of an answer's text (Slack shows about 4,000 before "show more")."""

_MENTION = re.compile(r"^\s*(<@[A-Z0-9]+(\|[^>]*)?>\s*)+")


def slack_unescape(text: str) -> str:
    """Slack's escaping of ``& < >`` in message text, undone."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackAdapter:
    """Slack slash commands and app mentions at ``[chatops.slack] path``."""

    platform = "slack"

    def __init__(self, table: ChatPlatformSettings, settings: Settings, runner: Runner) -> None:
        self.table = table
        self.runner = runner
        self.path = chat_path(self.platform, table.path)
        self.secret_env = table.secret_env or "SLACK_SIGNING_SECRET"
        token_env = table.token_env or "SLACK_BOT_TOKEN"
        self._token = settings.secret_environ().get(token_env) or None
        self.api_base = (table.api_base or SLACK_API).rstrip("/")
        self.response_bases = [
            RESPONSE_HOST,
            *([table.response_base] if table.response_base else []),
        ]
        self.slow_after = settings.chatops.slow_after
        self.max_rows = settings.chatops.max_rows
        self.background = Background()
        self._client: httpx.AsyncClient | None = None

    def declare(self, plugin: Plugin) -> None:
        """The one route Slack posts slash commands and events to."""
        plugin.route(
            self.path,
            methods=["POST"],
            verify=verify.slack(secret_env=self.secret_env),
            name="chatops:slack",
            description="Slack slash commands and app mentions (docs/chatops.md)",
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

    def render(self, answer: Answer) -> str:
        """``answer`` as Slack mrkdwn within Slack's limits."""
        return fit(answer, render_slack_mrkdwn, self.max_rows, MAX_CHARS)

    async def handle(self, request: Request) -> Response:
        """A slash command or an Events API callback (already verified)."""
        content_type = request.headers.get("content-type") or ""
        if "json" in content_type:
            return await self._event(request)
        form = request.form
        who = Invocation(
            self.platform,
            form.get("user_id") or "",
            form.get("channel_id") or "",
            slack_unescape(form.get("text") or ""),
        )
        return await self._slash(who, form.get("response_url") or "")

    async def _slash(self, who: Invocation, response_url: str) -> Response:
        task = asyncio.ensure_future(self.runner.run(who))
        done, _ = await asyncio.wait({task}, timeout=self.slow_after)
        if done:
            return Response.json(self._message(task.result()))
        if not self._response_url_allowed(response_url):
            log.warning("slack: a slow command has no acceptable response_url; answer dropped")
            self.background.spawn(_finish(task), "slack command")
            return Response.json(
                {"response_type": "ephemeral", "text": "that took too long; try again"}
            )
        self.background.spawn(self._follow_up(task, response_url), "slack follow-up")
        return Response.json({"response_type": "ephemeral", "text": "working…"})

    def _message(self, answer: Answer) -> dict[str, Any]:
        kind = "in_channel" if answer.ok else "ephemeral"
        return {"response_type": kind, "text": self.render(answer)}

    def _response_url_allowed(self, url: str) -> bool:
        return any(url.startswith(base) for base in self.response_bases)

    async def _follow_up(self, task: asyncio.Future[Answer], response_url: str) -> None:
        answer = await task
        await self._post(response_url, {**self._message(answer), "replace_original": False})

    async def _event(self, request: Request) -> Response:
        doc = request.json
        if request.headers.get("x-slack-retry-num"):
            return Response.json({"ok": True})  # already being answered
        event = doc.get("event") if isinstance(doc, dict) else None
        if not isinstance(event, dict) or event.get("type") != "app_mention":
            return Response.json({"ok": True})
        if event.get("bot_id") or not isinstance(event.get("text"), str):
            return Response.json({"ok": True})  # never answer a bot (loops)
        text = slack_unescape(_MENTION.sub("", event["text"]))
        who = Invocation(
            self.platform, str(event.get("user", "")), str(event.get("channel", "")), text
        )
        self.background.spawn(self._mention(who, event.get("ts")), "slack mention")
        return Response.json({"ok": True})

    async def _mention(self, who: Invocation, ts: object) -> None:
        answer = await self.runner.run(who)
        if self._token is None:
            log.warning("slack: a mention cannot be answered: no bot token (token_env)")
            return
        message: dict[str, Any] = {"channel": who.channel, "text": self.render(answer)}
        if isinstance(ts, str):
            message["thread_ts"] = ts
        await self._post(
            f"{self.api_base}/chat.postMessage",
            message,
            {"Authorization": f"Bearer {self._token}"},
        )

    async def _post(
        self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        if self._client is None:
            await self.start()
        assert self._client is not None
        try:
            response = await self._client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:  # the class only: messages can carry the URL
            log.warning("slack: answer not delivered (%s)", type(exc).__name__)
            return
        if response.status_code >= 400:
            log.warning("slack: answer refused with HTTP %s", response.status_code)


async def _finish(task: asyncio.Future[Answer]) -> None:
    await task  # the command runs to its end (and is recorded); only its answer is lost
