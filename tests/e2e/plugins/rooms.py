"""A plugin that picks its message's recipient at run time, as helga's ``client.msg(room, ...)``
and Nekro's ``send_text(chat_key, ...)`` do: ``ctx.send(channel, text, to=...)``."""

from __future__ import annotations

from hookport import Context, Event, Plugin

plugin = Plugin("rooms", description="run-time notification targets")
announce = plugin.receiver("/announce")


@announce.on("*")
async def to_the_room(event: Event, ctx: Context) -> None:
    body = event.json
    await ctx.send(str(body["channel"]), str(body["text"]), to=str(body["to"]))
