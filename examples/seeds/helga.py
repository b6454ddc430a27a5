"""helga 1.3's webhooks (seed 000), ported to hookport: every example of the document.

Each example side by side with the original, and every difference with its reason:
``docs/migrating.md``.

helga's examples all declare ``/foo``; one plugin cannot serve one path four times (nor could
helga: the last registration won), so the authenticated and non-200 variants live at
``/auth/foo``, ``/status/foo`` and ``/error/foo``. ``client.msg('#foo', ...)`` is
``ctx.send("irc", ..., to="#foo")``: the ``irc`` channel of ``[channels]`` takes its target at
run time (``irc = "irc://helga@irc.example.net/{to}"``).
"""

from __future__ import annotations

from hookport import Context, HTTPError, Plugin, Request, template, verify

helga = Plugin("helga", description="helga's webhook examples", channels=["irc"])


@helga.route("/foo")
async def foo(request: Request, ctx: Context) -> str:
    await ctx.send("irc", "someone hit the /foo endpoint", to="#foo")
    return "message sent"


@helga.route(r"/foo/(?P<bar>[0-9]+)")
async def foo_bar(request: Request, ctx: Context, bar: str) -> str:
    message = "someone hit the /foo endpoint with bar {0}".format(bar)  # noqa: UP030, UP032
    await ctx.send("irc", message, to="#foo")
    return "message sent"


@helga.route("/auth/foo", verify=verify.basic(credentials_env="WEBHOOKS_CREDENTIALS"))
async def foo_authenticated(request: Request, ctx: Context) -> str:
    await ctx.send("irc", "someone hit the /foo endpoint", to="#foo")
    return "message sent"


@helga.route("/status/foo")
def foo_status(request: Request) -> tuple[str, int]:
    return "foo is always 404", 404  # helga: request.setResponseCode(404)


@helga.route("/error/foo")
def foo_error(request: Request) -> str:
    raise HTTPError(404, "foo is always 404")


@helga.route("/page/foo")
def foo_page(request: Request) -> object:
    return template("helga_foo.html", path=request.path)  # helga: a pystache template
