"""The five seed documents' examples, ported as written (tests/e2e/test_seeds.py serves them).

Handlers that run in workers log a line the test waits for (no sleeps).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any

from pydantic import BaseModel

from hookport import (
    Context,
    Event,
    HTTPError,
    Plugin,
    PluginClass,
    ReceiverEvent,
    Request,
    WebhookReceiver,
    verify,
    webhook,
)

# -- helga: @route(path_regex, methods), named groups as keyword arguments ---------------------
helga = Plugin("helga", channels=["out"])


@helga.route(r"/foo/(?P<bar>[0-9]+)")
def foo(request: Request, ctx: Context, bar: str) -> str:
    return f"someone hit the /foo endpoint with bar {bar}"


@helga.route("/always404")
def always404(request: Request) -> str:
    raise HTTPError(404, "foo is always 404")


@helga.route("/count")
def count(request: Request) -> Any:
    return 42  # not answerable: a logged 500 naming helga, count and int


# -- errbot: class plugin, @webhook bare and with a Flask rule -------------------------------
class PluginExample(PluginClass, name="errbot"):
    @webhook
    def test(self, request: Any) -> str:
        self.log.info("errbot test got %r", request)
        return "OK"

    @webhook("/example/<name>/<action>/")
    def example(self, request: Any, name: str, action: str) -> str:
        return "User %s is performing %s" % (name, action)  # noqa: UP031 - errbot's spelling


errbot = PluginExample()


# -- Nekro Agent: /api/plugin/{author}.{module}/webhook{endpoint}, (body, status) ----------
class NekroConfig(BaseModel):
    NOTIFICATION_CHAT_KEY: str = "group_1"


nekro = Plugin("sample_webhook", prefix="/api/plugin/dev.sample_webhook/webhook",
               settings=NekroConfig)  # fmt: skip


@nekro.route("/resource", methods="*")
async def handle_resource(request: Request, ctx: Context[NekroConfig]) -> Any:
    if request.method == "GET":
        return {"status": "available", "chat": ctx.settings.NOTIFICATION_CHAT_KEY}
    if request.method == "POST":
        return {"status": "created", "id": "r1"}, 201
    if request.method == "DELETE":
        return {"status": "deleted"}
    raise HTTPError(405, "Method Not Allowed")


jobs = nekro.receiver("/start_job", name="Start Long Job")


@jobs
async def long_running_process(event: Event, ctx: Context[NekroConfig]) -> None:
    ctx.log.info(
        "nekro job %s done for %s", event.json["task_id"], ctx.settings.NOTIFICATION_CHAT_KEY
    )


# -- the blog's event map: POST only, one function per event name ---------------------------
blog = Plugin("blog")
events = blog.receiver("/webhook", event_type=lambda request: request.json.get("event"))


@events.on("repo.push")
def repo_push(event: Event, ctx: Context) -> None:
    ctx.log.info("blog repo_push %s", event.json["event"])


# -- invenio-webhooks: Receiver / CeleryReceiver shapes -------------------------------------
invenio = Plugin("invenio")
SECRET = os.environ.get("SEEDS_INVENIO_SECRET", "change-me").encode()


class GitHubReceiver(WebhookReceiver):
    background = True  # CeleryReceiver

    def check_signature(self, request: Request) -> bool:
        expected = "sha1=" + hmac.new(SECRET, request.body, hashlib.sha1).hexdigest()
        return hmac.compare_digest(request.headers.get("X-Hub-Signature") or "", expected)

    def run(self, event: ReceiverEvent) -> None:
        event.ctx.log.info("invenio run %s %s", event.receiver_id, event.payload["zen"])


class EchoReceiver(WebhookReceiver):
    background = False  # Receiver: run answers in the request

    def run(self, event: ReceiverEvent) -> None:
        event.response = {"echo": event.payload}
        event.response_code = 200


GitHubReceiver("github").register(invenio, "/hooks/receivers/github/events/")
EchoReceiver("echo").register(
    invenio, "/hooks/receivers/echo/events/", verify=verify.token({"ci": "tok"}, header=None)
)

