"""Static discovery of the channels a handler sends to (what ``hookport check`` can know)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hookport.context import Context
from hookport.sends import channel_sends


class Settings(BaseModel):
    channel: str = "ops"
    retries: int = 3


async def literal(event: Any, ctx: Any) -> None:
    await ctx.send("dev", "one")
    await ctx.send(channel="alerts", message="two")


async def annotated(event: Any, context: Context) -> None:
    await context.send("dev", "x")


async def from_settings(event: Any, ctx: Any) -> None:
    await ctx.send(ctx.settings.channel, "x")
    await ctx.send(ctx.settings.retries, "not a string setting")


async def computed(event: Any, ctx: Any) -> None:
    name = "dev" if event else "ops"
    await ctx.send(name, "x")
    await ctx.send(f"{name}-2", "x")


async def unrelated(event: Any, ctx: Any, mailer: Any) -> None:
    await mailer.send("dev", "not a channel")


class Plugin:
    async def method(self, event: Any) -> None:
        await self.send("dev", "x")
        await self.ctx.send("ops", "y")


def test_literal_channels_with_their_lines() -> None:
    found = channel_sends(literal)
    assert [s.channel for s in found] == ["dev", "alerts"]
    assert found[0].file == __file__
    assert found[1].line == found[0].line + 1
    with open(__file__, encoding="utf-8") as fh:
        assert 'ctx.send("dev", "one")' in fh.readlines()[found[0].line - 1]


def test_a_parameter_annotated_context_counts() -> None:
    assert [s.channel for s in channel_sends(annotated)] == ["dev"]


def test_settings_values_resolve_when_known() -> None:
    assert [s.channel for s in channel_sends(from_settings, Settings())] == ["ops", None]
    assert [s.channel for s in channel_sends(from_settings)] == [None, None]


def test_computed_channels_are_found_but_unknown() -> None:
    assert [s.channel for s in channel_sends(computed)] == [None, None]


def test_sends_on_other_objects_are_not_channel_sends() -> None:
    assert channel_sends(unrelated) == []


def test_class_plugin_methods() -> None:
    assert [s.channel for s in channel_sends(Plugin().method)] == ["dev", "ops"]


def test_no_source_means_nothing_known() -> None:
    assert channel_sends(print) == []
    assert channel_sends(eval("lambda ctx: ctx.send('dev', 'x')")) == []
