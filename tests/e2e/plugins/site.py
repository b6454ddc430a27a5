"""The plugin the end-to-end tests serve: every route shape, verifier and receiver kind."""

from __future__ import annotations

import os
from pathlib import Path

from hookport import Event, HTTPError, Plugin, Request, Response, verify
from hookport.context import Context
from hookport.templating import template

plugin = Plugin("site", channels=["out"])


@plugin.route("/hello/{name}", methods=["GET", "POST"])
def hello(name: str) -> str:
    return f"hello {name}"


@plugin.route("/items/{item_id:int}")
async def item(item_id: int) -> dict[str, object]:
    return {"id": item_id, "double": item_id * 2}


@plugin.route("/echo", methods=["POST"])
def echo(request: Request) -> dict[str, object]:
    return {"json": request.json}


@plugin.route("/form", methods=["POST"])
def form(request: Request) -> dict[str, object]:
    return {
        "fields": {k: request.form.getlist(k) for k in request.form},
        "files": [f.filename for f in request.files],
    }


@plugin.route("/page")
def page(request: Request) -> object:
    return template("page.html", who=request.query.get("who", "nobody"))


@plugin.route("/bytes")
def raw() -> bytes:
    return b"\x00\x01"


@plugin.route("/teapot")
def teapot() -> Response:
    raise HTTPError(418, "short and stout")


@plugin.route("/boom")
def boom() -> str:
    raise RuntimeError("secret-internal-detail")


@plugin.route("/private", methods=["POST"], verify=verify.basic({"alice": "wonderland"}))
def private(request: Request) -> str:
    return "welcome"


@plugin.route(
    "/tokened", methods=["POST"], verify=verify.token({"ci": "tok-ci-123", "ops": "tok-ops-456"})
)
def tokened(request: Request) -> str:
    return "token ok"


@plugin.route("/internal", verify=verify.ip_allow(["10.0.0.0/8"]))
def internal() -> str:
    return "inside"


@plugin.route("/local-only", verify=verify.ip_allow(["127.0.0.0/8"]))
def local_only() -> str:
    return "local"


@plugin.route(
    "/either",
    methods=["POST"],
    verify=verify.any_of(verify.basic({"bob": "builder"}), verify.token("tok-either")),
)
def either() -> str:
    return "either ok"


@plugin.route(
    "/both",
    methods=["POST"],
    verify=verify.all_of(verify.ip_allow(["127.0.0.0/8"]), verify.token("tok-both")),
)
def both() -> str:
    return "both ok"


@plugin.route("/notify-me", methods=["POST"])
async def notify_me(ctx: Context) -> str:
    await ctx.send("out", "a message from a route", title="hello")
    return "sent"


github = plugin.receiver("/github", verify=verify.github(secret_env="SITE_GITHUB_SECRET"))
RESULTS = Path(os.environ.get("SITE_RESULTS", "results.log"))


@github.on("push", "issues")
def on_github(event: Event) -> None:
    with RESULTS.open("a") as fh:
        fh.write(f"{event.id} {event.type} {event.delivery_id}\n")


inbox = plugin.receiver("/inbox")


@inbox
def on_inbox(event: Event) -> None:
    with RESULTS.open("a") as fh:
        fh.write(f"{event.id} inbox {event.type}\n")
