"""Checked by mypy --strict (tests/unit/test_public_api.py): decorators keep handler types."""

from __future__ import annotations

from typing import assert_type

from hookport import Context, Event, Plugin, Receiver, Request, Response, verify

plugin = Plugin("typing")


@plugin.route("/hello/{name}", methods=["GET"])
def hello(request: Request, name: str) -> str:
    return name


assert_type(
    hello(
        Request(
            method="GET", path="/", url="", raw_headers=[], query_string="", body=b"", client=None
        ),
        "x",
    ),
    str,
)

inbox: Receiver = plugin.receiver("/in", verify=verify.token("t"))


@inbox.on("push")
async def on_push(event: Event, ctx: Context) -> None:
    await ctx.send("dev", event.text)


@inbox
def catch_all(event: Event) -> Response:
    return Response("x")


def check(event: Event) -> None:
    assert_type(catch_all(event), Response)
