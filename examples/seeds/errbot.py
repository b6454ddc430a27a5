"""errbot's webhooks (seed 001), ported to hookport: every example of the document.

Each example side by side with the original, and every difference with its reason:
``docs/migrating.md``.

errbot's examples reuse the method names ``test`` and ``example`` in separate classes; in one
class each needs its own name, so the raw-request, header and abort examples are ``raw_test``
(``/raw_test/``), ``example`` (``/example/``) and ``forbidden`` (``/forbidden/``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hookport import HTTPError, PluginClass, Request, webhook


class ErrbotConfig(BaseModel):
    CHATROOM_PRESENCE: list[str] = ["#errbot"]  # errbot's bot_config.CHATROOM_PRESENCE


class PluginExample(PluginClass[ErrbotConfig], name="errbot", channels=["chat"]):
    """errbot's webhook examples."""

    @webhook
    def test(self, request: Any) -> str:
        self.log.debug(repr(request))
        self.log.info("errbot test got %r", request)
        return "OK"

    @webhook("/example/<name>/<action>/")
    def user_action(self, request: Any, name: str, action: str) -> str:
        return "User %s is performing %s" % (name, action)  # noqa: UP031 - errbot's spelling

    @webhook("/github/", form_param="payload")
    async def notification(self, payload: Any) -> None:
        for room in self.settings.CHATROOM_PRESENCE:
            message = "Commit on %s!" % payload["repository"]["name"]  # noqa: UP031
            await self.send("chat", message, to=room)  # errbot: self.build_identifier(room)
            self.log.info("errbot told %s", room)

    @webhook(raw=True)
    def raw_test(self, request: Request) -> str:
        user_agent = request.headers.get("user-agent", "Unknown")
        return f"Your user-agent is {user_agent}"

    @webhook
    def example(self, incoming_request: Any) -> tuple[str, int, dict[str, str]]:
        return "OK", 200, {"X-Powered-By": "Errbot"}

    @webhook
    def forbidden(self, incoming_request: Any) -> None:
        raise HTTPError(403, "Forbidden")


errbot = PluginExample()
