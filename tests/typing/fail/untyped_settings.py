"""Must FAIL mypy --strict: without ``Context[Settings]``, settings may be any model or None."""

from __future__ import annotations

from pydantic import BaseModel

from hookport import Context, Plugin


class Settings(BaseModel):
    channel: str = "dev"


plugin = Plugin("untyped-settings", settings=Settings)


@plugin.route("/x")
def handler(ctx: Context) -> str:
    return ctx.settings.channel  # error: BaseModel | None has no attribute "channel"
