"""Checked by mypy --strict (tests/unit/test_public_api.py): typed plugin settings.

``ctx.settings.channel`` below type-checks only because ``Context[Settings].settings`` is a
``Settings``; were it ``BaseModel | None``, mypy would report ``"BaseModel" has no attribute``
and ``Item "None" ... has no attribute`` (tests/typing/fail/untyped_settings.py
shows it).
"""

from __future__ import annotations

from typing import assert_type

from pydantic import BaseModel

from hookport import Context, Event, Plugin, PluginClass, Request, receives, route, webhook


class Settings(BaseModel):
    channel: str = "dev"
    greeting: str = "hello"


plugin = Plugin("typed-settings", settings=Settings)
assert_type(plugin, Plugin[Settings])
assert_type(Plugin("no-settings"), Plugin[None])


@plugin.route("/hello/{name}")
def hello(name: str, ctx: Context[Settings]) -> str:
    assert_type(ctx.settings, Settings)
    return f"{ctx.settings.greeting} {name}"


inbox = plugin.receiver("/in")


@inbox.on("push")
async def on_push(event: Event, ctx: Context[Settings]) -> None:
    channel: str = ctx.settings.channel
    await ctx.send(channel, event.text)
    # a payload is indexed as its provider sends it, with no isinstance narrowing first
    await ctx.send(channel, f"{event.json['pusher']['name']} pushed")


def untyped(ctx: Context) -> None:
    assert_type(ctx.settings, BaseModel | None)  # a bare Context: what round 1 gave


class Bot(PluginClass[Settings], name="typed-bot"):
    github = receives("/github")

    @route("/greet/{name}")
    def greet(self, request: Request, name: str) -> str:
        assert_type(self.settings, Settings)
        return f"{self.settings.greeting} {name} from {request.path}"

    @webhook
    def bare(self, payload: object) -> None:
        pass

    @github.on("push")
    async def on_push(self, event: Event) -> None:
        await self.send(self.settings.channel, event.text)


bot = Bot()
assert_type(bot.plugin, Plugin[Settings])
assert_type(bot.greet(Request(method="GET", path="/", url="", raw_headers=[], query_string="",
                              body=b"", client=None), "x"), str)  # fmt: skip
