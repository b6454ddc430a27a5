"""Discord: a slash command answered inline (docs/providers/discord.md).

Interactions need their answer within 3 seconds, so this is a route; hookport answers the
PING handshake itself.
"""

from typing import Any

from hookport import Plugin, Request, verify

plugin = Plugin("discord-example")


@plugin.route("/discord", methods=["POST"],
              verify=verify.discord(public_key_env="DISCORD_PUBLIC_KEY"))
def on_interaction(request: Request) -> dict[str, Any]:
    interaction = request.json
    command = interaction["data"]["name"]
    user = interaction["member"]["user"]["username"]
    # type 4: CHANNEL_MESSAGE_WITH_SOURCE
    return {"type": 4, "data": {"content": f"{user} ran /{command}"}}
