"""Discord interactions: the ``/hookport`` application command, answered in the channel.

Discord posts every interaction to one URL, signed with Ed25519. The route is verified by
hookport's own ``verify.discord`` (signature over ``{timestamp}{body}``, timestamp within
300 s; anything else is a 401 before this code runs), which also answers ``PING`` (type 1)
with ``{"type": 1}``, as Discord requires before it saves the URL. What this adapter answers:

- an application command (type 2) named ``/hookport`` with a string option holding the
  command text (``status``, ``replay abc12345``): the command runs and its answer goes back
  as type 4 (``CHANNEL_MESSAGE_WITH_SOURCE``) in Discord markdown;
- a command still running after ``[chatops] slow_after`` (2 s; Discord allows 3): type 5
  (``DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE``, "hookport is thinking…") at once, and the answer
  replaces it later by ``PATCH {api_base}/webhooks/{application_id}/{token}/messages/@original``;
- any other interaction or command name: a 400 with a JSON message.

The caller is ``member.user.id`` (in a server) or ``user.id`` (in a DM); the channel is
``channel_id``. Refusals and errors are ephemeral (only the caller sees them, as on Slack).
Answers never mention anyone (``allowed_mentions.parse`` is empty) and fit
Discord's 2,000 characters. The interaction token is part of the follow-up URL, so no log line
ever shows that URL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from hookport import verify
from hookport.chatops.adapter import Background, Runner, api_client, chat_path
from hookport.chatops.answer import Answer, Invocation
from hookport.chatops.render import fit, render_discord_markdown
from hookport.config import ChatPlatformSettings, Settings
from hookport.errors import HTTPError
from hookport.http import Request, Response
from hookport.plugin import Plugin

__all__ = ["DiscordAdapter", "parse_interaction"]

log = logging.getLogger("hookport.chatops.discord")

DISCORD_API = "https://discord.com/api/v10"
COMMAND_NAME = "hookport"
APPLICATION_COMMAND = 2
MESSAGE, DEFERRED = 4, 5
STRING_OPTION = 3
EPHEMERAL = 1 << 6
MAX_CHARS = 2000
"""Characters of a Discord message's content."""
_ID_CHARS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class Interaction:
    """What hookport needs of one application command interaction."""

    application_id: str
    token: str
    user: str
    channel: str
    text: str


def parse_interaction(doc: object) -> Interaction:
    """The command of a type-2 ``/hookport`` interaction; ``HTTPError(400)`` otherwise."""
    if not isinstance(doc, Mapping):
        raise HTTPError(400, "an interaction is a JSON object")
    kind = doc.get("type")
    if kind != APPLICATION_COMMAND or isinstance(kind, bool):
        raise HTTPError(400, "only PING and application commands are handled here")
    data = doc.get("data")
    if not isinstance(data, Mapping) or data.get("name") != COMMAND_NAME:
        raise HTTPError(400, f"unknown application command (this endpoint serves /{COMMAND_NAME})")
    member = doc.get("member")
    user = (member if isinstance(member, Mapping) else doc).get("user")
    user_id = user.get("id") if isinstance(user, Mapping) else None
    return Interaction(
        application_id=_snowflake(doc.get("application_id"), "application_id"),
        token=_token(doc.get("token")),
        user=str(user_id) if isinstance(user_id, str | int) else "",
        channel=str(doc.get("channel_id") or ""),
        text=_option_text(data),
    )


def _snowflake(value: object, key: str) -> str:
    # It becomes part of a URL path: digits only.
    if not isinstance(value, str) or not value or len(value) > 30 or set(value) - _ID_CHARS:
        raise HTTPError(400, f"interaction has no valid {key}")
    return value


def _token(value: object) -> str:
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    if not isinstance(value, str) or not value or len(value) > 1000 or set(value) - allowed:
        raise HTTPError(400, "interaction has no valid token")
    return value


def _option_text(data: Mapping[str, Any]) -> str:
    """The first string option's value (whatever its name), or ``help`` when there is none."""
    options = data.get("options")
    for option in options if isinstance(options, list) else ():
        if isinstance(option, Mapping) and option.get("type") == STRING_OPTION:
            value = option.get("value")
            if isinstance(value, str):
                return value.strip() or "help"
    return "help"


class DiscordAdapter:
    """Discord interactions at ``[chatops.discord] path``."""

    platform = "discord"

    def __init__(self, table: ChatPlatformSettings, settings: Settings, runner: Runner) -> None:
        self.table = table
        self.runner = runner
        self.path = chat_path(self.platform, table.path)
        self.public_key_env = table.public_key_env or "DISCORD_PUBLIC_KEY"
        self.api_base = (table.api_base or DISCORD_API).rstrip("/")
        self.slow_after = settings.chatops.slow_after
        self.max_rows = settings.chatops.max_rows
        self.background = Background()
        self._client: httpx.AsyncClient | None = None

    def declare(self, plugin: Plugin) -> None:
        """The one route Discord posts interactions to."""
        plugin.route(
            self.path,
            methods=["POST"],
            verify=verify.discord(public_key_env=self.public_key_env),
            name="chatops:discord",
            description="Discord /hookport interactions (docs/chatops.md)",
            record=False,
        )(self.handle)

    def secrets(self) -> list[str]:
        """None: the public key is not secret, and interaction tokens are never kept."""
        return []

    async def start(self) -> None:
        """Open the HTTP client follow-ups go out through."""
        if self._client is None:
            self._client = api_client()

    async def stop(self) -> None:
        """Cancel follow-ups in progress, close the client."""
        await self.background.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def render(self, answer: Answer) -> dict[str, Any]:
        """``answer`` as a Discord message body: markdown within 2,000 characters, and no
        mentions even if a rendered value looked like one."""
        content = fit(answer, render_discord_markdown, self.max_rows, MAX_CHARS)
        body: dict[str, Any] = {"content": content[:MAX_CHARS], "allowed_mentions": {"parse": []}}
        if not answer.ok:
            body["flags"] = EPHEMERAL  # a refusal or an error is for the caller only
        return body

    async def handle(self, request: Request) -> Response:
        """An application command (already verified; PINGs never get here)."""
        interaction = parse_interaction(request.json)
        who = Invocation(self.platform, interaction.user, interaction.channel, interaction.text)
        if self.background.full:
            busy = Answer("hookport is busy with other commands; try again in a moment")
            return Response.json({"type": MESSAGE, "data": self.render(busy)})
        task = asyncio.ensure_future(self.runner.run(who))
        done, _ = await asyncio.wait({task}, timeout=self.slow_after)
        if done:
            return Response.json({"type": MESSAGE, "data": self.render(task.result())})
        self.background.spawn(self._follow_up(task, interaction), "discord follow-up")
        return Response.json({"type": DEFERRED})

    async def _follow_up(self, task: asyncio.Future[Answer], interaction: Interaction) -> None:
        answer = await task
        if self._client is None:
            await self.start()
        assert self._client is not None
        url = (
            f"{self.api_base}/webhooks/{interaction.application_id}/{interaction.token}"
            "/messages/@original"
        )
        try:
            response = await self._client.patch(url, json=self.render(answer))
        except httpx.HTTPError as exc:  # the class only: the URL holds the interaction token
            log.warning("discord: answer not delivered (%s)", type(exc).__name__)
            return
        if response.status_code >= 400:
            log.warning("discord: answer refused with HTTP %s", response.status_code)
